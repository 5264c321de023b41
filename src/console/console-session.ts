/** A console session as @fastify/session hands it to its store: the cookie's expiry and what the console keeps (staff, signedInAt, CSRF secret). */
export type StoredSession = { cookie?: { expires?: string | Date | null } } & Record<string, unknown>;
