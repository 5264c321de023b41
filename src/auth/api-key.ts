import type { Role } from './principal.js';

/** An API key as stored: only the SHA-256 of its secret part is kept; `id` is the non-secret part. */
export interface ApiKey {
  id: string;
  role: Role;
  name: string;
  /** Set for role 'app'. */
  appId: string | null;
  createdAt: Date;
  revokedAt: Date | null;
  /** Set when the key was rotated: it keeps working until then (the overlap window). */
  expiresAt: Date | null;
}

/** What authenticating a presented key needs: the stored hash, the key's state, and its app's scope. */
export interface KeyCredentials {
  id: string;
  role: Role;
  name: string;
  appId: string | null;
  /** For an app key: whether its app is scoped to every tenant. */
  allTenants: boolean;
  secretHash: Buffer;
  revokedAt: Date | null;
  expiresAt: Date | null;
}

export interface NewApiKey {
  id: string;
  role: Role;
  name: string;
  appId: string | null;
  /** SHA-256 of the secret part. */
  secretHash: Buffer<ArrayBuffer>;
}
