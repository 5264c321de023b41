import jwt from 'jsonwebtoken';
import { GuestTokenMinter, MAX_SDK_SSO_TTL_SECONDS, SsoTokenMinter, guestEmbedUrl, ssoLoginUrl, ssoReturnPath } from '../../src/metabase/metabase-tokens.js';
import { TokenRejected, verifyGuestToken, verifySsoToken } from '../support/metabase-verifier.js';

const GUEST_SECRET = 'f'.repeat(64);
const SSO_SECRET = 'sso-secret-that-is-long-enough-0123456789';
const NOW = new Date('2026-11-28T10:00:00Z');

describe('GuestTokenMinter', () => {
  const minter = new GuestTokenMinter(GUEST_SECRET);

  it('signs HS256 over the UTF-8 secret, as Metabase verifies it (node:crypto and jsonwebtoken agree)', async () => {
    const { token } = minter.mint({
      target: { type: 'dashboard', metabaseId: '42' },
      tenantParam: 'customer_id',
      customerId: 'acme-001',
      now: NOW,
      ttlSeconds: 600,
    });
    const claims = verifyGuestToken(token, GUEST_SECRET, NOW);
    expect(claims).toEqual({ resource: { dashboard: 42 }, params: { customer_id: ['acme-001'] }, exp: NOW.getTime() / 1000 + 600 });
    const viaJsonwebtoken = jwt.verify(token, GUEST_SECRET, { algorithms: ['HS256'], clockTimestamp: NOW.getTime() / 1000 });
    expect(viaJsonwebtoken).toMatchObject({ params: { customer_id: ['acme-001'] } });
  });

  it('is rejected with another secret and when tampered with', async () => {
    const { token } = minter.mint({ target: { type: 'question', metabaseId: '7' }, tenantParam: 'tenant', customerId: 'c-1', now: NOW, ttlSeconds: 60 });
    expect(() => verifyGuestToken(token, 'e'.repeat(64), NOW)).toThrow(TokenRejected);
    const [h, p, s] = token.split('.');
    const forged = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(p, 'base64url').toString()), params: { tenant: ['c-2'] } })).toString('base64url');
    expect(() => verifyGuestToken(`${h}.${forged}.${s}`, GUEST_SECRET, NOW)).toThrow(/corrupt or manipulated/);
  });

  it('never lives longer than 10 minutes, whatever TTL is asked for', async () => {
    const { token, expiresAt } = minter.mint({
      target: { type: 'dashboard', metabaseId: '1' },
      tenantParam: 'p',
      customerId: 'c',
      now: NOW,
      ttlSeconds: 86_400,
    });
    expect(expiresAt.getTime() - NOW.getTime()).toBe(600_000);
    expect(verifyGuestToken(token, GUEST_SECRET, NOW).exp).toBe(NOW.getTime() / 1000 + 600);
  });

  it('keeps a 21-character entity id as a string', async () => {
    const { token } = minter.mint({
      target: { type: 'dashboard', metabaseId: 'AbCdEfGhIjKlMnOpQrStU' },
      tenantParam: 'p',
      customerId: 'c',
      now: NOW,
      ttlSeconds: 60,
    });
    expect(verifyGuestToken(token, GUEST_SECRET, NOW).resource).toEqual({ dashboard: 'AbCdEfGhIjKlMnOpQrStU' });
  });

  it('refuses to sign without a locked tenant value ("" or blank would switch the filter off)', () => {
    for (const customerId of ['', '  ']) {
      expect(() => minter.mint({ target: { type: 'dashboard', metabaseId: '1' }, tenantParam: 'p', customerId, now: NOW, ttlSeconds: 60 })).toThrow(
        /locked tenant value/,
      );
    }
  });
});

describe('SsoTokenMinter', () => {
  const minter = new SsoTokenMinter(SSO_SECRET);
  const identity = {
    email: 'ana@acme.example',
    firstName: 'Ana',
    lastName: 'Ng',
    groups: ['Customers', 'Analysts'],
    customerId: 'acme-001',
    attributes: { region: 'emea', level: 3, '@tenant': 'x', email: 'evil@other.example' } as Record<string, string | number | boolean>,
  };

  it('carries the contract’s claims, verified by an independent HS256 check with Metabase’s 180 s max-age', async () => {
    const { token } = minter.mint(identity, NOW, 60);
    const claims = verifySsoToken(token, SSO_SECRET, NOW);
    expect(claims).toMatchObject({
      email: 'ana@acme.example',
      first_name: 'Ana',
      last_name: 'Ng',
      groups: ['Customers', 'Analysts'],
      customer_id: 'acme-001',
      region: 'emea',
      level: 3,
    });
    expect(claims.exp - claims.iat).toBe(60);
    expect(claims.iat).toBe(NOW.getTime() / 1000);
  });

  it('drops attributes Metabase reserves (@...) and never lets one override email', async () => {
    const { token } = minter.mint(identity, NOW, 60);
    const claims = verifySsoToken(token, SSO_SECRET, NOW);
    expect(claims['@tenant']).toBeUndefined();
    expect(claims.email).toBe('ana@acme.example');
  });

  it('caps exp - iat at 180 s for tokens used at once, at an hour for the SDK’s, and gives every token its own jti', async () => {
    const a = verifySsoToken(minter.mint(identity, NOW, 3600).token, SSO_SECRET, NOW);
    const b = verifySsoToken(minter.mint(identity, NOW, 600, MAX_SDK_SSO_TTL_SECONDS).token, SSO_SECRET, NOW);
    const c = verifySsoToken(minter.mint(identity, NOW, 86_400, MAX_SDK_SSO_TTL_SECONDS).token, SSO_SECRET, NOW);
    expect(a.exp - a.iat).toBe(180);
    expect(b.exp - b.iat).toBe(600);
    expect(c.exp - c.iat).toBe(3600);
    expect(a.jti).not.toBe(b.jti);
  });

  it('is refused by Metabase once its iat is older than 180 s, however far its exp (Metabase bounds only the age of iat)', async () => {
    const { token } = minter.mint(identity, NOW, 600, MAX_SDK_SSO_TTL_SECONDS);
    expect(verifySsoToken(token, SSO_SECRET, new Date(NOW.getTime() + 180_000)).exp).toBe(Math.floor(NOW.getTime() / 1000) + 600);
    expect(() => verifySsoToken(token, SSO_SECRET, new Date(NOW.getTime() + 181_000))).toThrow(/max-age|expired/);
  });
});

describe('embed URLs', () => {
  it('puts a guest token in the iframe path and the appearance options in the hash', () => {
    expect(guestEmbedUrl('https://mb.example', 'dashboard', 'T', { bordered: true, titled: true, theme: 'night' })).toBe(
      'https://mb.example/embed/dashboard/T#bordered=true&titled=true&theme=night',
    );
    expect(guestEmbedUrl('https://mb.example', 'question', 'T')).toBe('https://mb.example/embed/question/T');
  });

  it('sends SSO users to /auth/sso with a relative, encoded return_to', () => {
    expect(ssoLoginUrl('https://mb.example', 'J', ssoReturnPath({ type: 'dashboard', metabaseId: '42' }))).toBe(
      'https://mb.example/auth/sso?jwt=J&return_to=%2Fdashboard%2F42',
    );
    expect(() => ssoLoginUrl('https://mb.example', 'J', 'https://evil.example/')).toThrow();
    expect(() => ssoLoginUrl('https://mb.example', 'J', '//evil.example/')).toThrow();
  });
});
