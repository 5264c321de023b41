export type Role = 'app' | 'admin' | 'finance';

/** Who is calling: resolved from the API key on every request. */
export interface Principal {
  keyId: string;
  role: Role;
  name: string;
  /** Set for role 'app'. */
  appId: string | null;
  /** For role 'app': scoped to every tenant ("*"). */
  allTenants: boolean;
  /**
   * Set when an app's end user calls from the browser (the provider endpoints): refusals then carry
   * the decision's mode and rule, not its reasons, which are written for the app's backend.
   */
  viewer?: true;
}

/** The audit actor string of a principal. */
export const actorOf = (principal: Principal) => `key:${principal.keyId}`;

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
  }
}
