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
    email: z.email({ error: 'user.email must be an email address' }).max(254).optional(),
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
    })
    .optional(),
});

export type EmbedRequest = z.output<typeof embedRequestSchema>;

/** Emails are compared and sent in one form: Unicode NFKC, lower case. */
export const normalizeEmail = (email: string) => email.normalize('NFKC').trim().toLowerCase();
