import { jest } from '@jest/globals';
import { exportJWK, exportSPKI, SignJWT } from 'jose';
import { AppsModule } from '../../src/apps/apps.module.js';
import { AppsService } from '../../src/apps/apps.service.js';
import type { Viewer } from '../../src/auth/viewer.js';
import { ApiError } from '../../src/common/api-error.js';
import { oidcProviderSchema } from '../../src/oidc/oidc-provider.dto.js';
import { OidcProvidersService } from '../../src/oidc/oidc-providers.service.js';
import { OidcViewers } from '../../src/oidc/oidc-viewers.service.js';
import { OidcModule } from '../../src/oidc/oidc.module.js';
import { idpKey, TestOidcIdp, unsignedToken } from '../support/oidc-idp.js';
import { createIntegrationContext, type IntegrationContext } from './integration-context.js';

let ctx: IntegrationContext;
const idps: TestOidcIdp[] = [];

beforeAll(async () => {
  ctx = await createIntegrationContext([AppsModule, OidcModule]);
});

afterAll(async () => {
  await Promise.all(idps.map((idp) => idp.close()));
  await ctx?.close();
});

async function startIdp(): Promise<TestOidcIdp> {
  const idp = await TestOidcIdp.start();
  idps.push(idp);
  return idp;
}

/** A new app whose OIDC provider is `idp` (discovered keys unless the settings say otherwise); its id and audience. */
async function appOf(context: IntegrationContext, idp: TestOidcIdp, settings: Record<string, unknown> = {}) {
  const { id } = await context.app.get(AppsService).create({ name: 'host', tenants: '*' }, 'key:admin');
  const audience = `embedgate-${id}`;
  const input = oidcProviderSchema.parse({ issuer: idp.issuer, audience, claims: { tenant: 'tenant' }, ...settings });
  await context.app.get(OidcProvidersService).put(id, input, 'key:admin');
  return { appId: id, audience };
}

const verify = (token: string, context = ctx) => context.app.get(OidcViewers).verify(token);

/** The token is refused with 401 invalid_token and a message matching `message`, which does not echo the token. */
async function expectRefused(token: string, message: RegExp, context = ctx): Promise<void> {
  const error = await verify(token, context).then(
    (viewer: Viewer) => viewer,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ApiError);
  expect(error).toMatchObject({ status: 401, code: 'invalid_token' });
  expect((error as ApiError).message).toMatch(message);
  for (const part of token.split('.').filter((p) => p.length > 8)) expect((error as ApiError).message).not.toContain(part);
}

const now = () => Math.floor(Date.now() / 1000);

describe('OidcViewers.verify: a good token', () => {
  it('gives the viewer its claims describe, with keys from the issuer’s discovery document', async () => {
    const idp = await startIdp();
    const { appId, audience } = await appOf(ctx, idp);
    expect(await verify(await idp.token(audience))).toEqual({
      appId,
      tenant: 'acme',
      user: { id: 'u-1', email: 'ana@acme.example', firstName: 'Ana', lastName: 'Ng', role: 'viewer' },
      via: { kind: 'oidc', issuer: idp.issuer },
    });
    expect(idp.fetches).toEqual({ discovery: 1, jwks: 1 });
  });

  it('fetches the discovery document and the key set once for many tokens', async () => {
    const idp = await startIdp();
    const { audience } = await appOf(ctx, idp);
    for (let i = 0; i < 5; i++) await verify(await idp.token(audience, { claims: { sub: `u-${i}` } }));
    expect(idp.fetches).toEqual({ discovery: 1, jwks: 1 });
  });

  it('uses the configured jwksUri without discovery', async () => {
    const idp = await startIdp();
    const { audience } = await appOf(ctx, idp, { jwksUri: idp.jwksUri });
    expect((await verify(await idp.token(audience))).user.id).toBe('u-1');
    expect(idp.fetches).toEqual({ discovery: 0, jwks: 1 });
  });

  it('maps the configured claims: names, an integer user id, the role from a list of values', async () => {
    const idp = await startIdp();
    const { audience } = await appOf(ctx, idp, {
      claims: {
        tenant: 'org',
        userId: 'uid',
        email: 'mail',
        firstName: 'first',
        lastName: 'last',
        role: { claim: 'groups', values: { 'bi-analysts': 'analyst' } },
      },
    });
    const token = await idp.token(audience, {
      claims: { org: 'globex', uid: 42, mail: ' Bo@Globex.example ', first: ' Bo ', last: 'Li', groups: ['staff', 'bi-analysts'] },
    });
    expect((await verify(token)).user).toEqual({ id: '42', email: 'Bo@Globex.example', firstName: 'Bo', lastName: 'Li', role: 'analyst' });
    // No mapped value: the default role; absent optional claims: absent fields.
    const plain = await idp.token(audience, { claims: { org: 'globex', uid: 'x-1', groups: ['staff'] } });
    expect(await verify(plain)).toMatchObject({ tenant: 'globex', user: { id: 'x-1', role: 'viewer' } });
    expect((await verify(plain)).user).toEqual({ id: 'x-1', role: 'viewer' });
  });

  it('accepts a token a little past its exp within the clock tolerance', async () => {
    const idp = await startIdp();
    const { audience } = await appOf(ctx, idp, { clockToleranceSeconds: 60 });
    expect((await verify(await idp.token(audience, { claims: { exp: now() - 30 } }))).user.id).toBe('u-1');
  });
});

describe('OidcViewers.verify: refused tokens (401 invalid_token, saying what was wrong)', () => {
  it('refuses a token of an issuer no app takes', async () => {
    const idp = await startIdp();
    const { audience } = await appOf(ctx, idp);
    await expectRefused(await idp.token(audience, { claims: { iss: 'https://other-idp.example' } }), /unknown issuer/);
    await expectRefused(await idp.token(audience, { claims: { iss: `${idp.issuer}/` } }), /unknown issuer/);
    await expectRefused(await idp.token(audience, { claims: { iss: undefined } }), /no issuer/);
  });

  it('refuses a token for another audience', async () => {
    const idp = await startIdp();
    await appOf(ctx, idp);
    await expectRefused(await idp.token('someone-else'), /wrong audience/);
  });

  it('refuses an algorithm the provider does not allow, even with a published key', async () => {
    const idp = await startIdp();
    const ec = await idpKey('ES256');
    idp.publish(idp.key, ec);
    const { audience } = await appOf(ctx, idp, { algorithms: ['RS256'] });
    await expectRefused(await idp.token(audience, { key: ec }), /algorithm ES256 not allowed \(allowed: RS256\)/);
    // Allowed, it verifies.
    const both = await appOf(ctx, idp, { algorithms: ['RS256', 'ES256'] });
    expect((await verify(await idp.token(both.audience, { key: ec }))).user.id).toBe('u-1');
  });

  it('refuses alg: none', async () => {
    const idp = await startIdp();
    const { audience } = await appOf(ctx, idp);
    const claims = { iss: idp.issuer, aud: audience, sub: 'u-1', tenant: 'acme', iat: now(), exp: now() + 300 };
    await expectRefused(unsignedToken(claims), /algorithm none not allowed/);
    expect(idp.fetches.jwks).toBe(0);
  });

  it('refuses an HMAC token signed with the public key (as PEM or as JWK bytes)', async () => {
    const idp = await startIdp();
    const { audience } = await appOf(ctx, idp);
    const claims = { iss: idp.issuer, aud: audience, sub: 'u-1', tenant: 'acme', iat: now(), exp: now() + 300 };
    const pem = new TextEncoder().encode(await exportSPKI(idp.key.publicKey));
    const jwkBytes = new TextEncoder().encode(JSON.stringify(await exportJWK(idp.key.publicKey)));
    for (const secret of [pem, jwkBytes]) {
      const token = await new SignJWT(claims).setProtectedHeader({ alg: 'HS256', kid: idp.key.kid }).sign(secret);
      await expectRefused(token, /algorithm HS256 not allowed/);
    }
  });

  it('refuses a token signed by a key the issuer does not publish (unknown kid, or a forged kid)', async () => {
    const idp = await startIdp();
    const { audience } = await appOf(ctx, idp);
    const stranger = await idpKey('RS256', 'stranger');
    await expectRefused(await idp.token(audience, { key: stranger }), /unknown key/);
    // The published kid on a token signed by another key: the signature is wrong.
    await expectRefused(await idp.token(audience, { key: stranger, kid: idp.key.kid }), /bad signature/);
  });

  it('refuses a tampered token', async () => {
    const idp = await startIdp();
    const { audience } = await appOf(ctx, idp);
    const [header, , signature] = (await idp.token(audience)).split('.');
    const forged = Buffer.from(JSON.stringify({ iss: idp.issuer, aud: audience, sub: 'admin', tenant: 'acme', iat: now(), exp: now() + 300 })).toString(
      'base64url',
    );
    await expectRefused(`${header}.${forged}.${signature}`, /bad signature/);
  });

  it('refuses an expired token, and one older than maxTokenAgeSeconds', async () => {
    const idp = await startIdp();
    const { audience } = await appOf(ctx, idp, { clockToleranceSeconds: 0, maxTokenAgeSeconds: 600 });
    await expectRefused(await idp.token(audience, { claims: { iat: now() - 120, exp: now() - 60 } }), /the token has expired/);
    await expectRefused(await idp.token(audience, { claims: { iat: now() - 700, exp: now() + 300 } }), /too old: issued more than 600 s ago/);
    await expectRefused(await idp.token(audience, { claims: { iat: now() + 600 } }), /issued in the future/);
    await expectRefused(await idp.token(audience, { claims: { nbf: now() + 600 } }), /not valid yet/);
  });

  it('refuses a token without iat or exp', async () => {
    const idp = await startIdp();
    const { audience } = await appOf(ctx, idp);
    await expectRefused(await idp.token(audience, { claims: { iat: undefined } }), /no "iat" claim/);
    await expectRefused(await idp.token(audience, { claims: { exp: undefined } }), /no "exp" claim/);
  });

  it('refuses a token without the tenant claim, or whose tenant is not a slug', async () => {
    const idp = await startIdp();
    const { audience } = await appOf(ctx, idp);
    await expectRefused(await idp.token(audience, { claims: { tenant: undefined } }), /no "tenant" claim/);
    await expectRefused(await idp.token(audience, { claims: { tenant: 'Acme Corp' } }), /"tenant" claim \(tenant\) must be a tenant slug/);
    await expectRefused(await idp.token(audience, { claims: { tenant: ['acme'] } }), /must be a tenant slug/);
    await expectRefused(await idp.token(audience, { claims: { sub: undefined } }), /no "sub" claim/);
  });

  it.each([
    ['a NUL in the user id', { sub: 'u\u0000-1' }, /"sub" claim \(user id\) must not contain control characters/],
    ['a lone surrogate in the first name', { given_name: 'A\ud800' }, /"given_name" claim \(first name\) must be valid Unicode/],
    ['an escape in the last name', { family_name: '\u001b[31mNg' }, /"family_name" claim \(last name\) must not contain control characters/],
    ['a NUL in the tenant', { tenant: 'acme\u0000' }, /must be a tenant slug/],
    ['an over-long user id', { sub: 'u'.repeat(201) }, /must be at most 200 characters/],
    ['a blank user id', { sub: '   ' }, /must not be blank/],
    ['an object as the email', { email: { address: 'a@b.example' } }, /"email" claim \(email\) must be a string/],
    ['an email that is not one', { email: 'not-an-email' }, /must be an email address/],
    ['an unverified email', { email_verified: false }, /email is not verified/],
  ])('refuses hostile or unusable claims: %s', async (_what, claims, message) => {
    const idp = await startIdp();
    const { audience } = await appOf(ctx, idp);
    await expectRefused(await idp.token(audience, { claims }), message);
  });

  it('refuses a role claim that is neither a string nor a list of strings', async () => {
    const idp = await startIdp();
    const { audience } = await appOf(ctx, idp, { claims: { tenant: 'tenant', role: { claim: 'roles', values: { bi: 'analyst' } } } });
    await expectRefused(await idp.token(audience, { claims: { roles: { bi: true } } }), /"roles" claim \(role\) must be a string or a list/);
  });

  it.each([
    ['not a JWT', 'not-a-token'],
    ['two parts', 'eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJ4In0'],
    ['a header that is not JSON', 'bm90IGpzb24.eyJpc3MiOiJ4In0.c2ln'],
    ['an over-long token', `${'a'.repeat(20_000)}.b.c`],
    ['an empty string', ''],
  ])('refuses a malformed token: %s', async (_what, token) => {
    await expectRefused(token, /malformed token/);
  });

  it('refuses the token when the discovery document names another issuer, or cannot be read', async () => {
    const idp = await startIdp();
    const { audience } = await appOf(ctx, idp);
    idp.discoveryOverrides = { issuer: 'https://impostor.example' };
    await expectRefused(await idp.token(audience), /discovery document names another issuer/);
    const gone = await startIdp();
    const other = await appOf(ctx, gone);
    const token = await gone.token(other.audience);
    await gone.close();
    await expectRefused(token, /discovery document could not be fetched/);
  });
});

describe('OidcViewers.verify: apps sharing an issuer', () => {
  it('picks the app by audience, and refuses an audience that names none or several of them', async () => {
    const idp = await startIdp();
    const first = await appOf(ctx, idp);
    const second = await appOf(ctx, idp);
    expect((await verify(await idp.token(first.audience))).appId).toBe(first.appId);
    expect((await verify(await idp.token(second.audience))).appId).toBe(second.appId);
    expect((await verify(await idp.token(second.audience, { claims: { aud: [second.audience, 'api'] } }))).appId).toBe(second.appId);
    await expectRefused(await idp.token('nobody'), /wrong audience: the token is not for any app of its issuer/);
    await expectRefused(await idp.token(first.audience, { claims: { aud: [first.audience, second.audience] } }), /ambiguous audience/);
    await expectRefused(await idp.token(first.audience, { claims: { aud: undefined } }), /wrong audience/);
  });
});

describe('OidcViewers.verify: configuration changes', () => {
  it('uses a replaced provider’s key set at once, and refuses every token once the provider is deleted', async () => {
    const idp = await startIdp();
    const next = await startIdp();
    const { appId, audience } = await appOf(ctx, idp);
    expect((await verify(await idp.token(audience))).appId).toBe(appId);
    const providers = ctx.app.get(OidcProvidersService);
    await providers.put(appId, oidcProviderSchema.parse({ issuer: next.issuer, audience, claims: { tenant: 'tenant' } }), 'key:admin');
    expect((await verify(await next.token(audience))).appId).toBe(appId);
    await expectRefused(await idp.token(audience), /unknown issuer/);
    await providers.remove(appId, 'key:admin');
    await expectRefused(await next.token(audience), /unknown issuer/);
  });
});

describe('OidcViewers.verify: key rotation (jose refetches the key set for an unknown kid, at most once per 30 s)', () => {
  // Its own context without caches: the clock jumps here, which would confuse the cache epoch's poll.
  let clockless: IntegrationContext;
  const realNow = Date.now.bind(Date);
  const travel = (seconds: number) => jest.spyOn(Date, 'now').mockImplementation(() => realNow() + seconds * 1000);
  /** Times from the real clock (jose checks them against `new Date()`, which the travel leaves alone). */
  const times = () => ({ iat: Math.floor(realNow() / 1000), exp: Math.floor(realNow() / 1000) + 300 });

  beforeAll(async () => {
    clockless = await createIntegrationContext([AppsModule, OidcModule], { CACHE_TTL_MS: '0' }, ctx.db);
  });
  afterEach(() => jest.restoreAllMocks());
  afterAll(() => clockless?.close());

  it('picks up a rotated key, and refuses a kid the refreshed key set does not have either', async () => {
    const idp = await startIdp();
    const { audience } = await appOf(clockless, idp);
    expect((await verify(await idp.token(audience), clockless)).user.id).toBe('u-1');
    expect(idp.fetches.jwks).toBe(1);

    const rotated = await idpKey('RS256', 'rotated');
    idp.publish(rotated);
    // Within the cooldown of the last fetch, an unknown kid is refused without asking the provider.
    await expectRefused(await idp.token(audience, { key: rotated, claims: times() }), /unknown key/, clockless);
    expect(idp.fetches.jwks).toBe(1);

    travel(31);
    expect((await verify(await idp.token(audience, { key: rotated, claims: times() }), clockless)).user.id).toBe('u-1');
    expect(idp.fetches.jwks).toBe(2);
    // The retired key is gone from the set.
    await expectRefused(await idp.token(audience, { claims: times() }), /unknown key/, clockless);

    travel(62);
    await expectRefused(await idp.token(audience, { key: await idpKey('RS256', 'never-published'), claims: times() }), /unknown key/, clockless);
    expect(idp.fetches.jwks).toBe(3);
  });
});
