import { z } from 'zod';
import { patternText, text } from '../common/text.js';
import { embedRequestSchema } from '../embeds/embed-request.dto.js';

/** POST /v1/viewer-sessions: who the viewer is, as the host app's backend knows them (never from the browser). */
export const openViewerSessionSchema = z.strictObject({
  tenant: embedRequestSchema.shape.tenant,
  user: embedRequestSchema.shape.user,
  /**
   * Where the exchange URL sends the browser once the cookie is set (303); its origin must be one of
   * CORS_ORIGINS. Without it, the exchange answers 204 (for a credentialed fetch from the host page).
   */
  returnTo: text({ max: 2_000 }).optional(),
  /**
   * The origin of the host page that will call the providers (scheme://host[:port]): the session is
   * bound to it. Defaults to returnTo's origin, else the only origin of CORS_ORIGINS.
   */
  origin: patternText(300, /^https?:\/\/[^/?#@\s]+$/, 'origin is scheme://host[:port], e.g. https://app.example.com').optional(),
});
export type OpenViewerSessionInput = z.output<typeof openViewerSessionSchema>;

/** The query of GET /v1/viewer-sessions/exchange/{code}. */
export const exchangeQuerySchema = z.strictObject({ returnTo: text({ max: 2_000 }).optional() });

/** DELETE /v1/viewer-sessions?tenant=…&user=…: every session of one user of a tenant (opened by the calling app). */
export const revokeForUserQuerySchema = z.strictObject({
  tenant: embedRequestSchema.shape.tenant,
  user: embedRequestSchema.shape.user.shape.id,
});
