import { applyDecorators, Inject, Injectable, UseGuards, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { ApiError } from '../../common/api-error.js';
import { CONFIG, type Config } from '../../config/config.js';
import { Public } from '../roles.decorator.js';
import { hasRole, SignInRequired, type StaffRole } from './staff-session.js';
import { NO_SIGN_IN, STAFF_ROLES_KEY } from './staff.decorator.js';

/**
 * Guards the console's pages: the session's signed-in person, within the absolute timeout
 * (SESSION_ABSOLUTE_HOURS from sign-in, however active), with one of the route's @Staff roles.
 * Not signed in: SignInRequired (a redirect to sign-in that comes back here). Wrong role: 403.
 * A route with neither @Staff nor @SignInNotNeeded is refused: a forgotten decorator opens nothing.
 */
@Injectable()
export class StaffGuard implements CanActivate {
  private readonly absoluteMs: number;

  constructor(
    private readonly reflector: Reflector,
    @Inject(CONFIG) config: Pick<Config, 'saml'>,
  ) {
    this.absoluteMs = (config.saml?.sessionAbsoluteHours ?? 0) * 3_600_000;
  }

  canActivate(context: ExecutionContext): boolean {
    const roles = this.reflector.getAllAndOverride<StaffRole[] | typeof NO_SIGN_IN | undefined>(STAFF_ROLES_KEY, [context.getHandler(), context.getClass()]);
    if (roles === NO_SIGN_IN) return true;
    if (!roles?.length) throw new ApiError(403, 'forbidden', 'this page names no staff role');
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const session = request.session;
    const staff = session?.staff;
    if (!staff || !session.signedInAt || Date.now() - session.signedInAt > this.absoluteMs) throw new SignInRequired(request.url);
    if (!hasRole(staff, ...roles)) throw new ApiError(403, 'forbidden', `this page needs the role ${roles.join(' or ')}`);
    return true;
  }
}

/**
 * A controller of pages for signed-in staff. Its routes are @Public for the API-key guard (browsers
 * carry a session, not a key) only together with StaffGuard, which checks the session and @Staff.
 */
export const StaffPages = () => applyDecorators(Public(), UseGuards(StaffGuard));
