import { z } from 'zod';
import { text } from '../common/text.js';
import { OIDC_ALGORITHMS } from './oidc-provider.js';

/** The longest issuer the admin API takes (a token naming a longer one names no app). */
export const MAX_ISSUER_LENGTH = 500;

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * What is wrong with an issuer or JWKS URL, or null. https, or plain http to a loopback host only
 * (an identity provider on the developer's machine: nothing on the network can read or change it).
 */
export function urlProblem(value: string, options: { query: boolean }): string | null {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'must be an absolute URL';
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname))) {
    return 'must be an https URL (plain http only to localhost, 127.0.0.1 or [::1], for development)';
  }
  if (url.username || url.password) return 'must not hold a user name or password';
  if (value.includes('#')) return 'must not have a fragment';
  if (!options.query && value.includes('?')) return 'must not have a query';
  return null;
}

const urlText = (max: number, options: { query: boolean }) =>
  text({ max, min: 1 }).check((ctx) => {
    const problem = urlProblem(ctx.value, options);
    if (problem) ctx.issues.push({ code: 'custom', message: problem, input: ctx.value });
  });

/** A top-level claim name, exactly as in the token (not trimmed: `sub ` is another claim). */
const claimName = text({ max: 200, min: 1 });
const viewerRole = z.enum(['viewer', 'analyst'], { error: 'a role is viewer or analyst' });

const algorithm = z.enum(OIDC_ALGORITHMS, {
  error: (issue) => {
    const value = typeof issue.input === 'string' ? issue.input.toUpperCase() : '';
    if (value === 'NONE') return 'none is refused: tokens must be signed';
    if (value.startsWith('HS')) return 'HMAC (HS256, HS384, HS512) is refused: the key would be a secret shared with the identity provider, not its public key';
    return `an algorithm is one of ${OIDC_ALGORITHMS.join(', ')}`;
  },
});

const claimsSchema = z.strictObject({
  tenant: claimName,
  userId: claimName.default('sub'),
  email: claimName.default('email'),
  firstName: claimName.default('given_name'),
  lastName: claimName.default('family_name'),
  role: z
    .strictObject({
      claim: claimName,
      /** A claim value (exactly) → the role it gives. */
      values: z.record(text({ max: 200, min: 1 }), viewerRole).refine((values) => Object.keys(values).length <= 100, 'at most 100 role values'),
      default: viewerRole.default('viewer'),
    })
    .optional(),
});

/** The body of PUT /v1/apps/{id}/oidc: the whole provider (an omitted field takes its default). */
export const oidcProviderSchema = z.strictObject({
  /** Compared exactly with the token's `iss`. */
  issuer: urlText(MAX_ISSUER_LENGTH, { query: false }),
  audience: text({ max: 500, min: 1 }),
  /** null or omitted: discovered from `{issuer}/.well-known/openid-configuration`. */
  jwksUri: urlText(2000, { query: true }).nullable().default(null),
  algorithms: z
    .array(algorithm)
    .min(1, 'list at least one algorithm')
    .max(OIDC_ALGORITHMS.length)
    .default(['RS256'])
    .transform((algorithms) => [...new Set(algorithms)]),
  clockToleranceSeconds: z.number().int('clockToleranceSeconds must be a whole number').min(0).max(300).default(30),
  maxTokenAgeSeconds: z.number().int('maxTokenAgeSeconds must be a whole number').min(60).max(86_400).default(3_600),
  claims: claimsSchema,
});
export type OidcProviderInput = z.output<typeof oidcProviderSchema>;

/** The claim mapping as stored (jsonb): read back with the same schema. */
export const storedClaimsSchema = claimsSchema;
