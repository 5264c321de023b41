import { z } from 'zod';
import { pageQuery } from '../common/pagination.js';
import { text } from '../common/text.js';
import { DELIVERY_STATUSES, WEBHOOK_EVENT_TYPES } from './webhook.js';

/** The longest webhook URL taken. */
const MAX_WEBHOOK_URL_LENGTH = 2_000;

/** An absolute http(s) URL; which hosts it may name is the service's check (it depends on the configuration). */
const url = text({ max: MAX_WEBHOOK_URL_LENGTH, min: 1, trim: true }).check((ctx) => {
  if (!/^https?:\/\//i.test(ctx.value) || !URL.canParse(ctx.value)) {
    ctx.issues.push({ code: 'custom', message: 'must be an absolute https URL', input: ctx.value });
  }
});

const events = z
  .array(z.enum(WEBHOOK_EVENT_TYPES, { error: `an event type is one of ${WEBHOOK_EVENT_TYPES.join(', ')}` }))
  .min(1, 'list at least one event type')
  .max(WEBHOOK_EVENT_TYPES.length * 2, `at most ${WEBHOOK_EVENT_TYPES.length * 2} event types`)
  .transform((types) => [...new Set(types)]);

const description = text({ max: 500, trim: true })
  .nullable()
  .transform((value) => value || null);

/** The body of POST /v1/webhooks. */
export const createWebhookSchema = z.strictObject({
  url,
  events,
  description: description.default(null),
  enabled: z.boolean().default(true),
});
export type CreateWebhookInput = z.output<typeof createWebhookSchema>;

/** The body of PATCH /v1/webhooks/{id}: the fields to change. */
export const updateWebhookSchema = z
  .strictObject({ url: url.optional(), events: events.optional(), description: description.optional(), enabled: z.boolean().optional() })
  .refine((patch) => Object.values(patch).some((value) => value !== undefined), 'give at least one of url, events, description, enabled');
export type UpdateWebhookInput = z.output<typeof updateWebhookSchema>;

/** The body of POST /v1/webhooks/{id}/rotate-secret. */
export const rotateSecretSchema = z.strictObject({
  /** How long deliveries carry the old secret's signature too: 0 (stop at once) to 7 days; default one day. */
  overlapSeconds: z
    .number()
    .int('overlapSeconds must be a whole number')
    .min(0)
    .max(7 * 86_400)
    .default(86_400),
});

export const webhooksQuery = z.strictObject({ ...pageQuery });

export const deliveriesQuery = z.strictObject({
  status: z.enum(DELIVERY_STATUSES, { error: `status is one of ${DELIVERY_STATUSES.join(', ')}` }).optional(),
  ...pageQuery,
});
