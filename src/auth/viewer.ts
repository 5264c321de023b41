import { createHash } from 'node:crypto';
import type { Principal } from './principal.js';

/**
 * A host app's end user, as the provider endpoints (/v1/sdk/*) know them: always one app and one
 * tenant. Established either by a viewer session (a cookie that the app opened with its key) or by an
 * OIDC token from the app's identity provider (Authorization: Bearer), never by the request body.
 */
export interface Viewer {
  /** The app the identity is bound to: its tenant scope applies. */
  appId: string;
  /** The tenant's slug. */
  tenant: string;
  user: {
    id: string;
    email?: string;
    firstName?: string;
    lastName?: string;
    role: 'viewer' | 'analyst';
  };
  /** How the viewer was established, and the session's id or the token's issuer. */
  via: { kind: 'session'; sessionId: string } | { kind: 'oidc'; issuer: string };
}

/**
 * The app principal a viewer acts through: the embed path checks the app's tenant scope as for a call
 * with the app's own key. The key id names the viewer's credential, for the audit trail.
 */
export const principalOfViewer = (viewer: Viewer, allTenants: boolean): Principal => ({
  // Also the rate limit's key: one per session, or one per OIDC user (never one bucket for a whole app).
  keyId:
    viewer.via.kind === 'session'
      ? `viewer-session:${viewer.via.sessionId}`
      : `oidc:${viewer.appId}:${createHash('sha256').update(`${viewer.tenant}\u0000${viewer.user.id}`).digest('base64url').slice(0, 22)}`,
  role: 'app',
  name: viewer.via.kind === 'session' ? 'viewer session' : `oidc ${viewer.via.issuer}`,
  appId: viewer.appId,
  allTenants,
  viewer: true,
});
