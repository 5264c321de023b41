import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { RateLimits } from './rate-limits.service.js';

/** Counts each embed request against its API key's limit (after ApiKeyGuard has authenticated it). */
@Injectable()
export class EmbedRateLimitGuard implements CanActivate {
  constructor(private readonly limits: RateLimits) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const principal = context.switchToHttp().getRequest<FastifyRequest>().principal;
    if (principal) await this.limits.consumeEmbed(principal.keyId);
    return true;
  }
}
