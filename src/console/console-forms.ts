import { z } from 'zod';
import { calendarDate, text } from '../common/text.js';

/** What the console's pages and forms accept: the same text rule as the API (a 400 page otherwise). */

/** A select's "any" option sends an empty value. */
const anyOr = <T extends readonly [string, ...string[]]>(values: T) =>
  z
    .union([z.enum(values), z.literal('')])
    .optional()
    .transform((value) => value || undefined);

export const tenantsPageQuery = z.strictObject({
  q: text({ max: 100, trim: true }).optional(),
  kind: anyOr(['internal', 'external'] as const),
  tier: anyOr(['view', 'drill'] as const),
  flash: text({ max: 300 }).optional(),
});

export const setTierForm = z.strictObject({
  _csrf: text({ max: 500 }).optional(),
  tier: z.enum(['view', 'drill'], { error: 'tier is view or drill' }),
  confirm: z.literal('yes').optional(),
  reason: text({ max: 500, multiline: true, trim: true })
    .optional()
    .transform((reason) => reason || undefined),
});

export const reportRangeQuery = z.strictObject({
  from: z.union([calendarDate('from'), z.literal('').transform(() => undefined)]).optional(),
  to: z.union([calendarDate('to'), z.literal('').transform(() => undefined)]).optional(),
});

export const auditPageQuery = z.strictObject({
  type: z.union([text({ max: 100 }).regex(/^[a-z._]{1,100}$/, 'type is like tenant.tier_changed'), z.literal('').transform(() => undefined)]).optional(),
});
