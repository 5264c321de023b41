import { randomUUID } from 'node:crypto';
import { createSigner } from 'fast-jwt';

/**
 * Tokens Metabase accepts (docs/metabase.md). Both are HS256: Metabase's buddy-sign
 * verifies with its default algorithm, HS256, and the HMAC key is the UTF-8 text of the secret.
 */

export interface EmbedTarget {
  type: 'dashboard' | 'question';
  /** Positive integer id, or a 21-character entity id. */
  metabaseId: string;
}

/** Metabase reads a numeric id as a number and an entity id as a string. */
export function metabaseIdValue(metabaseId: string): number | string {
  return /^[1-9]\d{0,15}$/.test(metabaseId) ? Number(metabaseId) : metabaseId;
}

const seconds = (date: Date) => Math.floor(date.getTime() / 1000);

/**
 * An HS256 signer (fast-jwt: node:crypto's HMAC, synchronous). jose signs through WebCrypto, whose
 * every signature is an asynchronous job on libuv's thread pool: the bench's profile showed jose at
 * 28% of the guest embed path's CPU. The claims are all set here: the signer adds none, and keeps the
 * given iat only when told to (it drops every iat otherwise).
 */
function signerOf(secret: string, withIat: boolean): (claims: Record<string, unknown>) => string {
  return createSigner({ key: secret, algorithm: 'HS256', noTimestamp: !withIat });
}

export interface GuestTokenInput {
  target: EmbedTarget;
  tenantParam: string;
  customerId: string;
  now: Date;
  ttlSeconds: number;
}

export interface MintedToken {
  token: string;
  expiresAt: Date;
}

export const MAX_GUEST_TTL_SECONDS = 600;
/** The longest lifetime of an SSO token used at once (embeds, launch links, POST /v1/sso/jwt). */
export const MAX_SSO_TTL_SECONDS = 180;
/**
 * The longest lifetime of an SSO token on the SDK's provider: the SDK keeps its Metabase session
 * until exp, also after its viewer session ended, so this bounds how long that outlives a revocation.
 * Metabase itself bounds only iat's age (180 s), not exp - iat.
 */
export const MAX_SDK_SSO_TTL_SECONDS = 3_600;

export class GuestTokenMinter {
  private readonly sign: (claims: Record<string, unknown>) => string;

  constructor(secret: string) {
    this.sign = signerOf(secret, false);
  }

  mint(input: GuestTokenInput): MintedToken {
    // An empty, null or [] value would switch Metabase's locked filter off: never sign one.
    if (!input.customerId.trim() || !input.tenantParam) throw new Error('refusing to sign a guest token without a locked tenant value');
    const ttl = Math.min(input.ttlSeconds, MAX_GUEST_TTL_SECONDS);
    const exp = seconds(input.now) + ttl;
    const token = this.sign({
      resource: { [input.target.type]: metabaseIdValue(input.target.metabaseId) },
      params: { [input.tenantParam]: [input.customerId] },
      exp,
    });
    return { token, expiresAt: new Date(exp * 1000) };
  }
}

export interface SsoIdentity {
  email: string;
  firstName?: string;
  lastName?: string;
  groups: string[];
  /** Absent only for an internal tenant without a customerId. */
  customerId?: string;
  attributes: Record<string, string | number | boolean>;
  /** Metabase's `@tenant` claim (its own tenant isolation), when turned on. */
  metabaseTenant?: string;
}

/** Claim names Metabase gives a meaning of its own; tenant attributes may not use them. */
export const RESERVED_CLAIMS = new Set(['email', 'first_name', 'last_name', 'groups', 'customer_id', 'iat', 'exp', 'jti', 'iss', 'sub', 'aud', 'nbf']);

export class SsoTokenMinter {
  private readonly sign: (claims: Record<string, unknown>) => string;

  constructor(secret: string) {
    this.sign = signerOf(secret, true);
  }

  mint(identity: SsoIdentity, now: Date, ttlSeconds: number, maxTtlSeconds = MAX_SSO_TTL_SECONDS): MintedToken {
    // Metabase rejects an SSO token whose iat is more than 180 s old and applies no leeway to exp; it
    // does not bound exp - iat (the SDK keeps its session until exp).
    const ttl = Math.min(ttlSeconds, maxTtlSeconds);
    const iat = seconds(now);
    const claims: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(identity.attributes)) {
      if (!key.startsWith('@') && !RESERVED_CLAIMS.has(key)) claims[key] = value;
    }
    claims.email = identity.email;
    if (identity.firstName) claims.first_name = identity.firstName;
    if (identity.lastName) claims.last_name = identity.lastName;
    claims.groups = identity.groups;
    if (identity.customerId !== undefined) claims.customer_id = identity.customerId;
    if (identity.metabaseTenant !== undefined) claims['@tenant'] = identity.metabaseTenant;
    claims.iat = iat;
    claims.exp = iat + ttl;
    claims.jti = randomUUID();
    const token = this.sign(claims);
    return { token, expiresAt: new Date((iat + ttl) * 1000) };
  }
}

export interface EmbedDisplayOptions {
  theme?: 'night' | 'transparent' | null;
  bordered?: boolean;
  titled?: boolean;
  background?: boolean;
  refresh?: number;
  locale?: string;
  downloads?: boolean;
}

/** `{site}/embed/{type}/{jwt}#bordered=…&titled=…&theme=…`, the iframe URL of a guest embed. */
export function guestEmbedUrl(siteUrl: string, type: EmbedTarget['type'], token: string, options: EmbedDisplayOptions = {}): string {
  const hash = new URLSearchParams();
  if (options.bordered !== undefined) hash.set('bordered', String(options.bordered));
  if (options.titled !== undefined) hash.set('titled', String(options.titled));
  if (options.theme !== undefined) hash.set('theme', options.theme === null ? 'null' : options.theme);
  if (options.background !== undefined && type === 'dashboard') hash.set('background', String(options.background));
  if (options.refresh !== undefined && type === 'dashboard') hash.set('refresh', String(options.refresh));
  if (options.locale !== undefined) hash.set('locale', options.locale);
  if (options.downloads !== undefined) hash.set('downloads', String(options.downloads));
  const fragment = hash.toString();
  return `${siteUrl}/embed/${type}/${token}${fragment ? `#${fragment}` : ''}`;
}

/** The relative Metabase path an SSO login lands on. */
export function ssoReturnPath(target: EmbedTarget): string {
  const id = metabaseIdValue(target.metabaseId);
  return typeof id === 'number' ? `/${target.type}/${id}` : `/${target.type}/entity/${encodeURIComponent(id)}`;
}

/** `{site}/auth/sso?jwt=…&return_to=<relative path>`: Metabase logs the user in and redirects. */
export function ssoLoginUrl(siteUrl: string, jwt: string, returnTo: string): string {
  if (!returnTo.startsWith('/') || returnTo.startsWith('//')) throw new Error('return_to must be a relative path');
  return `${siteUrl}/auth/sso?${new URLSearchParams({ jwt, return_to: returnTo }).toString()}`;
}
