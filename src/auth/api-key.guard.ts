import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiError } from '../common/api-error.js';
import { RateLimits } from '../rate-limits/rate-limits.service.js';
import { ApiKeysService } from './api-keys.service.js';
import type { Role } from './principal.js';
import { PUBLIC_KEY, ROLES_KEY, VIEWER_KEY } from './roles.decorator.js';
import { bearerCredential } from './bearer.js';

/** Authenticates `Authorization: Bearer <key>` (never a key in the URL) and checks the route's roles. */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly keys: ApiKeysService,
    private readonly limits: RateLimits,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC_KEY, targets)) return true;
    // Viewer routes authenticate the browser's viewer (cookie or OIDC token) in their own guard, which runs next.
    if (this.reflector.getAllAndOverride<boolean>(VIEWER_KEY, targets)) return true;
    const roles = this.reflector.getAllAndOverride<Role[] | undefined>(ROLES_KEY, targets);
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const reply = context.switchToHttp().getResponse<FastifyReply>();
    // An address that keeps presenting bad keys is slowed down before any lookup.
    this.limits.checkAuthFailures(request.ip);
    const header = request.headers.authorization;
    const credential = bearerCredential(header);
    const principal = credential ? await this.keys.authenticate(credential) : null;
    if (!principal) {
      const tooMany = await this.limits.recordAuthFailure(request.ip);
      if (tooMany) throw tooMany;
      void reply.header('www-authenticate', 'Bearer');
      throw new ApiError(401, 'unauthorized', credential ? 'the API key is unknown, expired or revoked' : 'send an API key as Authorization: Bearer <key>');
    }
    request.principal = principal;
    if (!roles || !roles.includes(principal.role)) {
      throw new ApiError(403, 'forbidden', `this route needs the role ${roles?.join(' or ') ?? '(none)'}; the key has '${principal.role}'`);
    }
    return true;
  }
}
