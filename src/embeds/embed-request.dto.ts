import { z } from 'zod';

/**
 * The body of POST /v1/embeds and /v1/embeds/explain. Strict at every level: a request can never
 * carry Metabase params, attributes or groups, nor any field this schema does not name.
 */
export const embedRequestSchema = z.strictObject({
  tenant: z.string().min(1).max(63),
  user: z.strictObject({
    id: z
      .string()
      .max(200)
      .refine((id) => id.trim().length > 0, 'user.id must not be blank')
      .refine((id) => !/[\u0000-\u001f\u007f]/.test(id), 'user.id must not contain control characters'),
    // NFKC first: a full-width or otherwise compatible variant of an email is that email.
    email: z
      .string({ error: 'user.email must be an email address' })
      .max(254)
      .transform((email) => email.normalize('NFKC').trim())
      .pipe(z.email({ error: 'user.email must be an email address' }))
      .optional(),
    firstName: z.string().trim().max(100).optional(),
    lastName: z.string().trim().max(100).optional(),
    role: z.enum(['viewer', 'analyst']).default('viewer'),
  }),
  resource: z.string().min(1).max(100),
  options: z
    .strictObject({
      theme: z.enum(['night', 'transparent']).nullable().optional(),
      bordered: z.boolean().optional(),
      titled: z.boolean().optional(),
      background: z.boolean().optional(),
      refresh: z.number().int().min(1).max(86_400).optional(),
      locale: z.string().regex(/^[a-z]{2,3}([_-][A-Za-z]{2})?$/, 'locale is like en or pt_BR').optional(),
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
