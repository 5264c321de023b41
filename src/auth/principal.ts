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
}

/** The audit actor string of a principal. */
export const actorOf = (principal: Principal) => `key:${principal.keyId}`;

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
  }
}
