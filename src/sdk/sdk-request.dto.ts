import { z } from 'zod';
import { patternText } from '../common/text.js';

/** `?response=json`, which Metabase's clients add to every provider call (the only answer is JSON). */
export const providerQuerySchema = z.strictObject({ response: z.enum(['json'], { error: 'response is json' }).optional() });

/**
 * embed.js's guest provider body (frontend/src/metabase/embedding/embedding-iframe-sdk/embed.ts):
 * `{entityType, entityId, customContext?}`. The item is named by its numeric id or its 21-character
 * entity id; customContext is the page's own and is not used to choose anything.
 */
export const guestProviderSchema = z.strictObject({
  entityType: z.enum(['dashboard', 'question'], { error: 'entityType is dashboard or question' }),
  entityId: z.union(
    [
      z.number().int().positive().max(2_147_483_647),
      patternText(21, /^([1-9][0-9]{0,9}|[A-Za-z0-9_-]{21})$/, 'entityId is a positive integer or a 21-character entity id'),
    ],
    { error: 'entityId is a positive integer or a 21-character entity id' },
  ),
  customContext: z.unknown().optional(),
});
export type GuestProviderRequest = z.output<typeof guestProviderSchema>;
