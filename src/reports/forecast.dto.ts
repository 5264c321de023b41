import { z } from 'zod';
import { patternText } from '../common/text.js';

const slug = patternText(63, /^[a-z0-9-]{1,63}$/, 'a slug is 1-63 characters: lowercase letters, digits and -');

/** One tenant's change to try: its tier, cap or what its users get when seats run out. */
const forecastChangeSchema = z.strictObject({
  tenant: slug,
  tier: z.enum(['view', 'drill'], { error: 'tier is view or drill' }).optional(),
  seatCap: z.number().int('seatCap must be a whole number').min(0).max(10_000_000).nullable().optional(),
  onSeatsExhausted: z.enum(['guest', 'deny'], { error: 'onSeatsExhausted is guest or deny' }).optional(),
});

/** POST /v1/reports/forecast: changes to try (nothing is applied), a budget, and the window of usage. */
export const forecastSchema = z
  .strictObject({
    changes: z.array(forecastChangeSchema).max(1000, 'at most 1000 changes').default([]),
    seatBudget: z.number().int('seatBudget must be a whole number').min(0).max(10_000_000).optional(),
    windowDays: z.number().int('windowDays must be a whole number').min(1).max(366).default(30),
  })
  .superRefine((body, ctx) => {
    const seen = new Set<string>();
    body.changes.forEach((change, i) => {
      if (seen.has(change.tenant)) ctx.addIssue({ code: 'custom', path: ['changes', i, 'tenant'], message: `${change.tenant} is changed twice` });
      seen.add(change.tenant);
    });
  });

export type ForecastRequest = z.output<typeof forecastSchema>;
