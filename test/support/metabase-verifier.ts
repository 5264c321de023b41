import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * An independent implementation of how Metabase checks the tokens embedgate signs (node:crypto only,
 * not the signing library), following docs/metabase.md: HS256 with the UTF-8 bytes of the secret, buddy-sign's
 * claim checks, 60 s leeway on guest exp, max-age 180 s on SSO iat with no leeway on exp.
 */
export class TokenRejected extends Error {}

const b64urlJson = (part: string) => JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));

function verifyHs256(token: string, secret: string): { header: Record<string, unknown>; claims: Record<string, unknown> } {
  const parts = token.split('.');
  if (parts.length !== 3) throw new TokenRejected('not a JWS compact token');
  const header = b64urlJson(parts[0]);
  if (!header.alg) throw new TokenRejected('JWT is missing `alg`.');
  if (header.alg === 'none') throw new TokenRejected('JWT `alg` cannot be `none`.');
  if (header.alg !== 'HS256') throw new TokenRejected(`algorithm ${header.alg} is not HS256`);
  const expected = createHmac('sha256', Buffer.from(secret, 'utf8')).update(`${parts[0]}.${parts[1]}`).digest();
  const given = Buffer.from(parts[2], 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw new TokenRejected('Message seems corrupt or manipulated.');
  return { header, claims: b64urlJson(parts[1]) };
}

const nowSeconds = (now: Date) => Math.floor(now.getTime() / 1000);

export interface GuestClaims {
  resource: { dashboard?: number | string; question?: number | string };
  params: Record<string, unknown[]>;
  exp: number;
}

/** Metabase's `/embed/...` checks, plus the contract's: exp present and at most 10 minutes ahead, params locked. */
export function verifyGuestToken(token: string, secret: string, now = new Date()): GuestClaims {
  const { claims } = verifyHs256(token, secret);
  const t = nowSeconds(now);
  if (typeof claims.exp !== 'number') throw new TokenRejected('guest token without exp');
  if (claims.exp + 60 < t) throw new TokenRejected('Token is expired');
  if (claims.exp - t > 600 + 2) throw new TokenRejected('guest token lives longer than 10 minutes');
  if (typeof claims.nbf === 'number' && claims.nbf - 60 > t) throw new TokenRejected('Token is not yet valid');
  const resource = claims.resource as GuestClaims['resource'] | undefined;
  if (!resource || typeof resource !== 'object') throw new TokenRejected('Token is missing value for keypath [:resource]');
  const id = resource.dashboard ?? resource.question;
  if (id === undefined || Object.keys(resource).length !== 1) throw new TokenRejected('Token is missing value for keypath [:resource :dashboard]');
  if (!(typeof id === 'number' && Number.isInteger(id) && id > 0) && !(typeof id === 'string' && /^[A-Za-z0-9_-]{21}$/.test(id))) {
    throw new TokenRejected('resource id is neither a positive integer nor an entity id');
  }
  if (!claims.params || typeof claims.params !== 'object' || Array.isArray(claims.params)) {
    throw new TokenRejected('Token is missing value for keypath [:params]');
  }
  for (const [slug, value] of Object.entries(claims.params as Record<string, unknown>)) {
    // null, "" and [] would unlock or break a locked filter: the contract forbids them outright.
    if (!Array.isArray(value) || value.length === 0) throw new TokenRejected(`params.${slug} is empty`);
    if (value.some((v) => v === null || v === '' || typeof v === 'object')) throw new TokenRejected(`params.${slug} has an empty value`);
  }
  return claims as unknown as GuestClaims;
}

export interface SsoClaims extends Record<string, unknown> {
  email: string;
  groups: string[];
  iat: number;
  exp: number;
  jti: string;
}

const REGISTERED = new Set(['iss', 'iat', 'sub', 'aud', 'exp', 'nbf', 'jti']);

/** Metabase's `/auth/sso` JWT checks (max-age 180 s, no exp leeway), plus the contract's on claims. */
export function verifySsoToken(token: string, secret: string, now = new Date()): SsoClaims {
  const { claims } = verifyHs256(token, secret);
  const t = nowSeconds(now);
  if (typeof claims.iat !== 'number') throw new TokenRejected('SSO token without iat is not age-limited');
  if (t - claims.iat > 180) throw new TokenRejected('Token is older than max-age (180)');
  if (claims.iat > t + 5) throw new TokenRejected('Token is from the future');
  if (typeof claims.exp !== 'number') throw new TokenRejected('SSO token without exp');
  if (claims.exp < t) throw new TokenRejected('Token is expired');
  if (typeof claims.jti !== 'string' || claims.jti.length < 16) throw new TokenRejected('SSO token without a unique jti');
  if (typeof claims.email !== 'string' || !claims.email.includes('@')) throw new TokenRejected('JWT token missing email claim');
  if (!Array.isArray(claims.groups) || claims.groups.some((g) => typeof g !== 'string')) throw new TokenRejected('groups is not a list of names');
  for (const [key, value] of Object.entries(claims)) {
    if (REGISTERED.has(key) || ['email', 'first_name', 'last_name', 'groups'].includes(key)) continue;
    // `@tenant` is Metabase's tenant claim (when tenants are on); any other @ key would be dropped.
    if (key === '@tenant' && typeof value === 'string') continue;
    if (key.startsWith('@')) throw new TokenRejected(`reserved attribute ${key}`);
    if (value === null || typeof value === 'object') throw new TokenRejected(`attribute ${key} is not a scalar`);
  }
  return claims as SsoClaims;
}

/** The return_to of an SSO URL, which Metabase accepts only as a relative path. */
export function ssoReturnTo(url: string): string {
  const returnTo = new URL(url).searchParams.get('return_to');
  if (!returnTo || !returnTo.startsWith('/') || returnTo.startsWith('//')) throw new TokenRejected('return_to is not relative');
  return returnTo;
}
