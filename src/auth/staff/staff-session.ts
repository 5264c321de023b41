import type {} from '@fastify/csrf-protection';
import type {} from '@fastify/session';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiError } from '../../common/api-error.js';

export type StaffRole = 'admin' | 'finance' | 'analyst';

/** Who is signed in to the console (through SAML). */
export interface StaffUser {
  nameId: string;
  email: string | null;
  roles: StaffRole[];
}

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
  if (
    !/^\/console(\/[A-Za-z0-9._~!$&'()*+,;=:@%/?-]*)?$/.test(relayState) ||
    relayState.includes('//') ||
    relayState.includes('\\') ||
    /\.\.|%2e/i.test(relayState)
  ) {
    return '/console';
  }
  return relayState;
}

export const hasRole = (staff: StaffUser, ...roles: StaffRole[]) => staff.roles.some((role) => roles.includes(role));

/** Thrown to send a browser that is not signed in (or whose session timed out) to the sign-in page. */
export class SignInRequired extends Error {
  constructor(readonly returnTo: string) {
    super('sign-in required');
  }
}

/** Where SignInRequired sends the browser: the SAML sign-in, which comes back to returnTo. */
export const signInUrl = (returnTo: string) => `/auth/saml/login?RelayState=${encodeURIComponent(returnTo)}`;

/** Checks the CSRF token of a state-changing request made with a session (@fastify/csrf-protection). */
export async function checkCsrf(request: FastifyRequest, reply: FastifyReply): Promise<void> {
  await new Promise<void>((resolve, reject) =>
    request.server.csrfProtection(request, reply, (error?: Error) =>
      error ? reject(new ApiError(403, 'csrf_invalid', 'missing or invalid CSRF token; reload the page and try again')) : resolve(),
    ),
  );
}
