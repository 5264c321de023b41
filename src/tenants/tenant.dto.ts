import { z } from 'zod';
import { patternText, text } from '../common/text.js';
import { RESERVED_CLAIMS } from '../metabase/metabase-tokens.js';
import { EMAIL_DOMAIN_PATTERN, normalizeEmailDomain, SSO_EMAIL_ALIASES } from '../sso/sso-email.js';

const ssoEmailAliasSchema = z.enum(SSO_EMAIL_ALIASES, { error: `ssoEmailAlias is null or one of: ${SSO_EMAIL_ALIASES.join(', ')}` }).nullable();

export const SLUG_PATTERN = /^[a-z0-9-]{1,63}$/;
export const slugSchema = patternText(63, SLUG_PATTERN, 'a slug is 1-63 characters: lowercase letters, digits and -');

const scalar = z.union([text({ max: 1000 }), z.number().refine(Number.isFinite, 'must be a finite number'), z.boolean()], {
  error: 'attribute values must be scalars (string, number or boolean)',
});

const attributeKey = text({ max: 100, min: 1 })
  .refine((key) => !key.startsWith('@'), 'attribute keys may not start with @ (Metabase reserves them)')
  .refine((key) => !RESERVED_CLAIMS.has(key), 'attribute key is reserved by the SSO token (email, groups, customer_id, ...)');

export const attributesSchema = z.record(attributeKey, scalar).refine((record) => Object.keys(record).length <= 50, 'at most 50 attributes');

export const groupsSchema = z.array(text({ max: 200, min: 1, trim: true })).max(50);

/** SSO is only for emails in these domains (exact match; a subdomain only when listed); stored lower case, once each. */
export const emailDomainsSchema = z
  .array(
    text({ max: 253, min: 1, trim: true })
      .transform(normalizeEmailDomain)
      .refine((domain) => EMAIL_DOMAIN_PATTERN.test(domain), 'an email domain is a domain name such as example.com (no @, no spaces)'),
  )
  .max(100, 'at most 100 email domains')
  .transform((domains) => [...new Set(domains)]);

export const customerIdSchema = z
  .union([text({ max: 200 }), z.number().int().safe()], { error: 'customerId must be a non-empty string or an integer' })
  .transform(String)
  .refine((value) => value.trim().length > 0, 'customerId must not be empty or blank');

const seatCapSchema = z.number().int('seatCap must be a whole number').min(0).max(10_000_000).nullable();

export const createTenantSchema = z
  .strictObject({
    slug: slugSchema,
    name: text({ max: 200, min: 1, trim: true }),
    kind: z.enum(['internal', 'external']),
    /** Defaults to drill for internal tenants (rule 3), view for external ones. */
    tier: z.enum(['view', 'drill']).optional(),
    customerId: customerIdSchema.optional(),
    seatCap: seatCapSchema.optional(),
    onSeatsExhausted: z.enum(['guest', 'deny']).optional(),
    attributes: attributesSchema.optional(),
    groups: groupsSchema.nullable().optional(),
    ssoEmailAlias: ssoEmailAliasSchema.optional(),
    emailDomains: emailDomainsSchema.optional(),
  })
  .superRefine((tenant, ctx) => {
    if (tenant.kind === 'external' && tenant.customerId === undefined) {
      ctx.addIssue({ code: 'custom', path: ['customerId'], message: 'customerId is required for an external tenant' });
    }
    // Fail closed: a tenant that can get SSO says whose emails may sign in.
    if ((tenant.kind === 'internal' || tenant.tier === 'drill') && !tenant.emailDomains?.length) {
      ctx.addIssue({ code: 'custom', path: ['emailDomains'], message: 'emailDomains is required for a tenant that can get SSO (internal, or the drill tier)' });
    }
  });
export type CreateTenantInput = z.output<typeof createTenantSchema>;

export const updateTenantSchema = z
  .strictObject({
    name: text({ max: 200, min: 1, trim: true }).optional(),
    seatCap: seatCapSchema.optional(),
    onSeatsExhausted: z.enum(['guest', 'deny']).optional(),
    attributes: attributesSchema.optional(),
    groups: groupsSchema.nullable().optional(),
    status: z.enum(['active', 'suspended']).optional(),
    ssoEmailAlias: ssoEmailAliasSchema.optional(),
    emailDomains: emailDomainsSchema.optional(),
  })
  .refine((patch) => Object.keys(patch).length > 0, 'send at least one field to change');
export type UpdateTenantInput = z.output<typeof updateTenantSchema>;

export const setTierSchema = z.strictObject({
  tier: z.enum(['view', 'drill']),
  reason: text({ max: 500, multiline: true, trim: true }).optional(),
});
export type SetTierInput = z.output<typeof setTierSchema>;
