/** A viewer session as stored (src/viewer-sessions): one user of one tenant, opened by one app. */
export interface ViewerSession {
  id: string;
  appId: string;
  tenantId: string;
  tenantSlug: string;
  tenantActive: boolean;
  userId: string;
  email: string | null;
  firstName: string | null;
  lastName: string | null;
  role: 'viewer' | 'analyst';
  /** The host page's origin the session is bound to. */
  origin: string;
  createdAt: Date;
  lastSeenAt: Date | null;
  expiresAt: Date;
  revokedAt: Date | null;
  revokedReason: string | null;
}

/** What opening a session stores. */
export interface NewViewerSession {
  appId: string;
  tenantId: string;
  userId: string;
  email: string | null;
  firstName: string | null;
  lastName: string | null;
  role: 'viewer' | 'analyst';
  origin: string;
  keyId: string;
  exchangeHash: Buffer;
  exchangeExpiresAt: Date;
  expiresAt: Date;
}
