import type {} from '@fastify/csrf-protection';
import type {} from '@fastify/session';
import type { FastifyRequest } from 'fastify';
import type { StaffRole, StaffUser } from '../auth/saml/saml.strategy.js';

declare module 'fastify' {
  interface Session {
    staff?: StaffUser;
    /** When the person signed in (ms): the absolute session timeout counts from it. */
    signedInAt?: number;
  }
}

/** A redirect target after sign-in: only a path of the console, never another site. */
export function safeRelayState(relayState: unknown): string {
  if (typeof relayState !== 'string') return '/console';
  if (!/^\/console(\/[A-Za-z0-9._~!$&'()*+,;=:@%/?-]*)?$/.test(relayState) || relayState.includes('//') || relayState.includes('\\') || /\.\.|%2e/i.test(relayState)) {
    return '/console';
  }
  return relayState;
}

export const staffOf = (request: FastifyRequest): StaffUser | undefined => request.session?.staff;
export const hasRole = (staff: StaffUser, ...roles: StaffRole[]) => staff.roles.some((role) => roles.includes(role));

/** Thrown to send a browser that is not signed in (or whose session timed out) to the sign-in page. */
export class SignInRequired extends Error {
  constructor(readonly returnTo: string) {
    super('sign-in required');
  }
}
