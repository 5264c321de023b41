/** A one-time launch link as stored (its id only as its SHA-256). */
export interface SsoLaunch {
  tenantId: string;
  userId: string;
  email: string;
  firstName: string | null;
  lastName: string | null;
  role: string;
  returnTo: string;
  expiresAt: Date;
  usedAt: Date | null;
}

export type NewSsoLaunch = Omit<SsoLaunch, 'usedAt'> & { idHash: Buffer };
