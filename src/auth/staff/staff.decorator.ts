import { createParamDecorator, SetMetadata, type ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import type { StaffRole, StaffUser } from './staff-session.js';

export const STAFF_ROLES_KEY = 'embedgate:staff-roles';
/** The metadata of a page that needs no sign-in (the signed-out page). */
export const NO_SIGN_IN = 'no-sign-in';

/**
 * The staff roles that may open a page. Every route of a @StaffPages controller (staff.guard.ts) needs @Staff or
 * @SignInNotNeeded: StaffGuard refuses a route with neither (fail closed).
 */
export const Staff = (...roles: [StaffRole, ...StaffRole[]]) => SetMetadata(STAFF_ROLES_KEY, roles);

/** A page anyone may open, signed in or not. */
export const SignInNotNeeded = () => SetMetadata(STAFF_ROLES_KEY, NO_SIGN_IN);

/** The signed-in person StaffGuard let through. */
export const CurrentStaff = createParamDecorator((_data: unknown, context: ExecutionContext): StaffUser => {
  const staff = context.switchToHttp().getRequest<FastifyRequest>().session?.staff;
  // StaffGuard let the request through, so there is one; a page without sign-in has no use for it.
  if (!staff) throw new Error('@CurrentStaff() on a page without @Staff');
  return staff;
});
