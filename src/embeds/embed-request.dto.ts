import { z } from 'zod';
import { patternText, text } from '../common/text.js';

/**
 * The body of POST /v1/embeds and /v1/embeds/explain. Strict at every level: a request can never
 * carry Metabase params, attributes or groups, nor any field this schema does not name.
 */
export const embedRequestSchema = z.strictObject({
  tenant: text({ max: 63, min: 1 }),
  user: z.strictObject({
    // Stored exactly as sent (never trimmed or re-encoded): two different ids never share a seat.
    id: text({ max: 200 }).refine((id) => id.trim().length > 0, 'user.id must not be blank'),
    // NFKC first: a full-width or otherwise compatible variant of an email is that email.
    email: text({ max: 254, error: 'user.email must be an email address' })
      .transform((email) => email.normalize('NFKC').trim())
      .pipe(z.email({ error: 'user.email must be an email address' }))
      .optional(),
    firstName: text({ max: 100, trim: true }).optional(),
    lastName: text({ max: 100, trim: true }).optional(),
    role: z.enum(['viewer', 'analyst']).default('viewer'),
  }),
  resource: text({ max: 100, min: 1 }),
  options: z
    .strictObject({
      theme: z.enum(['night', 'transparent']).nullable().optional(),
      bordered: z.boolean().optional(),
      titled: z.boolean().optional(),
      background: z.boolean().optional(),
      refresh: z.number().int().min(1).max(86_400).optional(),
      locale: patternText(10, /^[a-z]{2,3}([_-][A-Za-z]{2})?$/, 'locale is like en or pt_BR').optional(),
      downloads: z.boolean().optional(),
      /**
       * SSO embeds only. 'link' (default): `url` is a one-time embedgate launch link (60 s, usable
       * once) that mints a fresh token when opened. 'direct': `url` is Metabase's /auth/sso URL itself.
       */
      launch: z.enum(['link', 'direct']).optional(),
    })
    .optional(),
});

export type EmbedRequest = z.output<typeof embedRequestSchema>;

/** POST /v1/sso/jwt: the same body without a resource or display options. */
export const ssoJwtRequestSchema = embedRequestSchema.omit({ resource: true, options: true });
export type SsoJwtRequest = z.output<typeof ssoJwtRequestSchema>;
