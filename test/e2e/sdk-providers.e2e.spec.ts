import { verifyGuestToken, verifySsoToken } from '../support/metabase-verifier.js';
import { TestOidcIdp, unsignedToken } from '../support/oidc-idp.js';
import { viewerCookieName } from '../../src/viewer-sessions/viewer-sessions.service.js';
import { Api, seed, startService, TEST_SECRETS, type RunningService } from '../support/service.js';

/**
 * Viewer sessions and the provider endpoints Metabase's clients call from the browser
 * (/work/shared/docs/metabase-sdk-auth.md): GET /v1/sdk/sso?response=json with the page's cookies,
 * POST /v1/sdk/guest?response=json {entityType, entityId}. Real HTTP, real Postgres.
 */

const HOST = 'https://host.example';
let service: RunningService;
let apps: Record<string, Api>;

const user = (id: string, tenant: string, extra: Record<string, unknown> = {}) => ({
  id,
  email: `${id}@${tenant}.example`,
  firstName: 'Vi',
  lastName: 'Ewer',
  ...extra,
});
const exchangePath = (url: string) => new URL(url).pathname + new URL(url).search;

beforeAll(async () => {
  service = await startService({
    SEAT_BUDGET: '10',
    CORS_ORIGINS: `${HOST},http://localhost:5999`,
    SDK_SSO_TOKEN_TTL_SECONDS: '600',
    RATE_LIMIT_AUTH_FAILURES_PER_MINUTE: '60',
  });
  apps = await seed(service.admin, {
    tenants: [
      { slug: 'acme', name: 'Acme', kind: 'external', tier: 'drill', customerId: 'acme-1' },
      { slug: 'globex', name: 'Globex', kind: 'external', tier: 'view', customerId: 'globex-1' },
      { slug: 'initech', name: 'Initech', kind: 'external', tier: 'drill', customerId: 'initech-1' },
    ],
    resources: [
      { key: 'sales-overview', type: 'dashboard', metabaseId: 1, tenantParam: 'customer_id' },
      { key: 'by-entity', type: 'question', metabaseId: 'AbCdEfGhIjKlMnOpQrStU', tenantParam: 'customer_id' },
      { key: 'internal-only', type: 'dashboard', metabaseId: 7, guest: false },
    ],
    apps: { portal: { tenants: ['acme', 'globex', 'initech'] }, other: { tenants: ['initech'] } },
  });
});
afterAll(() => service.stop());

describe('POST /v1/viewer-sessions and the one-time exchange', () => {
  it('opens a session whose exchange URL sets a __Host- cookie (HttpOnly, Secure, SameSite=None) once, then 410', async () => {
    const opened = await apps.portal.post('/v1/viewer-sessions', { tenant: 'acme', user: user('ana', 'acme'), origin: HOST });
    expect(opened.status).toBe(201);
    expect(opened.body).toEqual({
      id: expect.any(String),
      origin: HOST,
      url: expect.stringMatching(/\/v1\/viewer-sessions\/exchange\/[A-Za-z0-9_-]{43}$/),
      expiresAt: expect.any(String),
      sessionExpiresAt: expect.any(String),
    });
    const first = await fetch(`${service.baseUrl}${exchangePath(opened.body.url)}`, { redirect: 'manual' });
    expect(first.status).toBe(204);
    const cookie = first.headers.get('set-cookie')!;
    expect(cookie).toMatch(/^__Host-embedgate_viewer_[0-9a-f]{16}=[A-Za-z0-9_-]{43};/);
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/Secure/i);
    expect(cookie).toMatch(/SameSite=None/i);
    expect(cookie).toMatch(/Path=\//);
    expect(cookie).not.toMatch(/Domain=/i);
    const replay = await fetch(`${service.baseUrl}${exchangePath(opened.body.url)}`, { redirect: 'manual' });
    expect(replay.status).toBe(410);
    expect(replay.headers.get('set-cookie')).toBeNull();
    expect((await replay.json()).error.code).toBe('viewer_session_exchange_invalid');
  });

  it('refuses an exchange URL past its 60 s', async () => {
    const opened = await apps.portal.post('/v1/viewer-sessions', { tenant: 'acme', user: user('late', 'acme'), origin: HOST });
    await service.db.query(`UPDATE viewer_sessions SET exchange_expires_at = now() - interval '1 second' WHERE id = $1`, [opened.body.id]);
    expect((await fetch(`${service.baseUrl}${exchangePath(opened.body.url)}`, { redirect: 'manual' })).status).toBe(410);
  });

  it('sends the browser back to returnTo on a host origin (303), and refuses any other returnTo', async () => {
    const opened = await apps.portal.post('/v1/viewer-sessions', { tenant: 'acme', user: user('ret', 'acme'), returnTo: `${HOST}/reports?x=1` });
    expect(opened.status).toBe(201);
    const answer = await fetch(`${service.baseUrl}${exchangePath(opened.body.url)}`, { redirect: 'manual' });
    expect(answer.status).toBe(303);
    expect(answer.headers.get('location')).toBe(`${HOST}/reports?x=1`);
    expect(answer.headers.get('set-cookie')).toMatch(/^__Host-embedgate_viewer_[0-9a-f]{16}=/);
    const foreign = await apps.portal.post('/v1/viewer-sessions', { tenant: 'acme', user: user('ret', 'acme'), returnTo: 'https://evil.example/' });
    expect(foreign.status).toBe(400);
    expect(foreign.body.error.code).toBe('return_to_not_allowed');
    // A returnTo added to the URL by someone else is checked the same way.
    const tampered = await apps.portal.post('/v1/viewer-sessions', { tenant: 'acme', user: user('ret', 'acme'), origin: HOST });
    const url = `${exchangePath(tampered.body.url)}?returnTo=${encodeURIComponent('https://evil.example/')}`;
    expect((await fetch(`${service.baseUrl}${url}`, { redirect: 'manual' })).status).toBe(400);
  });

  it('an app cannot open a session for a tenant outside its scope (404, like an unknown tenant)', async () => {
    const outside = await apps.other.post('/v1/viewer-sessions', { tenant: 'acme', user: user('x', 'acme'), origin: HOST });
    expect(outside.status).toBe(404);
    expect(outside.body.error.code).toBe('tenant_not_found');
    expect((await apps.other.post('/v1/viewer-sessions', { tenant: 'nope', user: user('x', 'nope'), origin: HOST })).status).toBe(404);
    expect((await service.admin.post('/v1/viewer-sessions', { tenant: 'acme', user: user('x', 'acme'), origin: HOST })).status).toBe(403);
  });
});

describe('GET /v1/sdk/sso (the SDK’s JWT provider)', () => {
  it('answers {jwt} for the viewer: an SSO token Metabase accepts, iat now and exp SDK_SSO_TOKEN_TTL_SECONDS later, a seat taken', async () => {
    const { api } = await service.admin.as(apps.portal.key!).viewer('acme', user('sam', 'acme'), HOST);
    const answer = await api.request('GET', '/v1/sdk/sso?response=json', undefined, { origin: HOST });
    expect(answer.status).toBe(200);
    expect(Object.keys(answer.body)).toEqual(['jwt']);
    const claims = verifySsoToken(answer.body.jwt, TEST_SECRETS.METABASE_JWT_SHARED_SECRET);
    expect(claims.email).toBe('sam@acme.example');
    expect(claims.customer_id).toBe('acme-1');
    expect(claims.exp - claims.iat).toBe(600);
    expect(Math.abs(claims.iat - Date.now() / 1000)).toBeLessThan(5);
    expect(answer.headers.get('access-control-allow-origin')).toBe(HOST);
    expect(answer.headers.get('access-control-allow-credentials')).toBe('true');
    expect(answer.headers.get('vary')).toMatch(/origin/i);
    const seats = await service.admin.get('/v1/seats?tenant=acme');
    expect(seats.body.items.map((s: { userId: string }) => s.userId)).toContain('sam');
  });

  it('a viewer not routed to SSO gets 403 with the decision', async () => {
    const { api } = await apps.portal.viewer('globex', user('gil', 'globex'), HOST);
    const answer = await api.get('/v1/sdk/sso?response=json');
    expect(answer.status).toBe(403);
    expect(answer.body.error.code).toBe('sso_not_granted');
    // The browser learns the rule, not the reasons (they describe Metabase's setup and other users).
    expect(answer.body.decision).toEqual({ mode: 'deny', rule: 'sso-not-granted' });
    expect(answer.body.error.message).toBe('refused by rule sso-not-granted');
  });

  it('no cookie, a bogus cookie, or a malformed bearer: 401', async () => {
    const none = await service.anonymous.get('/v1/sdk/sso?response=json');
    expect(none.status).toBe(401);
    expect(none.body.error.code).toBe('viewer_session_required');
    const bogus = await service.anonymous.withHeaders({ cookie: `${viewerCookieName(HOST)}=${'A'.repeat(43)}`, origin: HOST }).get('/v1/sdk/sso');
    expect(bogus.status).toBe(401);
    expect(bogus.body.error.code).toBe('viewer_session_invalid');
    const apiKeyAsViewer = await apps.portal.get('/v1/sdk/sso');
    expect(apiKeyAsViewer.status).toBe(401);
  });

  it('refuses a page whose origin is not in CORS_ORIGINS, and a cross-site request without an Origin', async () => {
    const { api, cookie } = await apps.portal.viewer('acme', user('ori', 'acme'), HOST);
    const evil = await api.request('GET', '/v1/sdk/sso', undefined, { origin: 'https://evil.example' });
    expect(evil.status).toBe(403);
    expect(evil.body.error.code).toBe('origin_not_allowed');
    expect(evil.headers.get('access-control-allow-origin')).toBeNull();
    const image = await service.anonymous.withHeaders({ cookie, 'sec-fetch-site': 'cross-site' }).get('/v1/sdk/sso');
    expect(image.status).toBe(403);
    const opaque = await api.request('GET', '/v1/sdk/sso', undefined, { origin: 'null' });
    expect(opaque.status).toBe(403);
    const seats = await service.admin.get('/v1/seats?tenant=acme');
    expect(seats.body.items.map((s: { userId: string }) => s.userId)).not.toContain('ori');
  });

  it('answers the preflight of an allowed origin, with credentials; other routes get CORS without credentials', async () => {
    const preflight = await fetch(`${service.baseUrl}/v1/sdk/guest?response=json`, {
      method: 'OPTIONS',
      headers: { origin: HOST, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe(HOST);
    expect(preflight.headers.get('access-control-allow-credentials')).toBe('true');
    expect(preflight.headers.get('access-control-allow-methods')).toMatch(/POST/);
    const evil = await fetch(`${service.baseUrl}/v1/sdk/guest`, {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' },
    });
    expect(evil.headers.get('access-control-allow-origin')).toBeNull();
    const api = await fetch(`${service.baseUrl}/v1/tenants`, { headers: { origin: HOST } });
    expect(api.headers.get('access-control-allow-origin')).toBe(HOST);
    expect(api.headers.get('access-control-allow-credentials')).toBeNull();
  });
});

describe('POST /v1/sdk/guest (embed.js’s guest provider)', () => {
  it('answers {jwt}: a guest token of the registered resource, its tenant parameter locked to the viewer’s own tenant', async () => {
    const { api } = await apps.portal.viewer('globex', user('gus', 'globex'), HOST);
    const answer = await api.request('POST', '/v1/sdk/guest?response=json', { entityType: 'dashboard', entityId: 1 }, { origin: HOST });
    expect(answer.status).toBe(200);
    expect(Object.keys(answer.body)).toEqual(['jwt']);
    const claims = verifyGuestToken(answer.body.jwt, TEST_SECRETS.METABASE_EMBEDDING_SECRET_KEY);
    expect(claims.resource).toEqual({ dashboard: 1 });
    expect(claims.params).toEqual({ customer_id: ['globex-1'] });
    const byEntityId = await api.request(
      'POST',
      '/v1/sdk/guest?response=json',
      { entityType: 'question', entityId: 'AbCdEfGhIjKlMnOpQrStU', customContext: { a: 1 } },
      { origin: HOST },
    );
    expect(byEntityId.status).toBe(200);
    expect(verifyGuestToken(byEntityId.body.jwt, TEST_SECRETS.METABASE_EMBEDDING_SECRET_KEY).resource).toEqual({ question: 'AbCdEfGhIjKlMnOpQrStU' });
  });

  it('a drill-tier viewer gets a guest token too, and takes no seat', async () => {
    const { api } = await apps.portal.viewer('initech', user('ivy', 'initech'), HOST);
    const answer = await api.post('/v1/sdk/guest', { entityType: 'dashboard', entityId: 1 });
    expect(answer.status).toBe(200);
    expect(verifyGuestToken(answer.body.jwt, TEST_SECRETS.METABASE_EMBEDDING_SECRET_KEY).params).toEqual({ customer_id: ['initech-1'] });
    const seats = await service.admin.get('/v1/seats?tenant=initech');
    expect(seats.body.items.map((s: { userId: string }) => s.userId)).not.toContain('ivy');
  });

  it('an unregistered item is 404, a resource that is not guest-embeddable is 403, a bad body is 400', async () => {
    const { api } = await apps.portal.viewer('globex', user('gia', 'globex'), HOST);
    const unknown = await api.post('/v1/sdk/guest', { entityType: 'dashboard', entityId: 99 });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('resource_not_found');
    const wrongType = await api.post('/v1/sdk/guest', { entityType: 'question', entityId: 1 });
    expect(wrongType.status).toBe(404);
    const notGuest = await api.post('/v1/sdk/guest', { entityType: 'dashboard', entityId: 7 });
    expect(notGuest.status).toBe(403);
    expect(notGuest.body.error.code).toBe('guest_embed_not_allowed');
    for (const body of [
      {},
      { entityType: 'collection', entityId: 1 },
      { entityType: 'dashboard', entityId: -1 },
      { entityType: 'dashboard', entityId: 'short' },
      { entityType: 'dashboard', entityId: 1, tenant: 'acme' },
    ]) {
      const bad = await api.post('/v1/sdk/guest', body);
      expect(bad.status).toBe(400);
      expect(bad.body.error.code).toBe('validation_error');
    }
  });
});

describe('a session serves its own host page only', () => {
  it('is bound to the origin it was opened for: another allowed origin’s page cannot use it, even with its cookie', async () => {
    const { api, cookie } = await apps.portal.viewer('acme', user('bound', 'acme'), HOST);
    expect((await api.get('/v1/sdk/sso')).status).toBe(200);
    const other = 'http://localhost:5999';
    const noCookie = await service.anonymous.withHeaders({ cookie, origin: other }).get('/v1/sdk/sso');
    expect(noCookie.status).toBe(401);
    expect(noCookie.body.error.code).toBe('viewer_session_required');
    const renamed = await service.anonymous.withHeaders({ cookie: `${viewerCookieName(other)}=${cookie.split('=')[1]}`, origin: other }).get('/v1/sdk/sso');
    expect(renamed.status).toBe(401);
    expect(renamed.body.error.message).toMatch(/another host page origin/);
  });

  it('two apps’ sessions in one browser stay apart (one cookie per origin)', async () => {
    const a = await apps.portal.viewer('acme', user('two-a', 'acme'), HOST);
    const b = await apps.other.viewer('initech', user('two-b', 'initech'), 'http://localhost:5999');
    const both = `${a.cookie}; ${b.cookie}`;
    const fromA = await service.anonymous.withHeaders({ cookie: both, origin: HOST }).post('/v1/sdk/guest', { entityType: 'dashboard', entityId: 1 });
    const fromB = await service.anonymous
      .withHeaders({ cookie: both, origin: 'http://localhost:5999' })
      .post('/v1/sdk/guest', { entityType: 'dashboard', entityId: 1 });
    expect(verifyGuestToken(fromA.body.jwt, TEST_SECRETS.METABASE_EMBEDDING_SECRET_KEY).params).toEqual({ customer_id: ['acme-1'] });
    expect(verifyGuestToken(fromB.body.jwt, TEST_SECRETS.METABASE_EMBEDDING_SECRET_KEY).params).toEqual({ customer_id: ['initech-1'] });
  });

  it('an exchange URL opened from another site’s page does not sign the browser in (login CSRF), nor one that names no page', async () => {
    const opened = await apps.portal.post('/v1/viewer-sessions', { tenant: 'acme', user: user('csrf', 'acme'), origin: HOST });
    const url = `${service.baseUrl}${exchangePath(opened.body.url)}`;
    const fromElsewhere = await fetch(url, { redirect: 'manual', headers: { referer: 'https://evil.example/page' } });
    expect(fromElsewhere.status).toBe(410);
    expect(fromElsewhere.headers.get('set-cookie')).toBeNull();
    const unnamed = await fetch(url, { redirect: 'manual', headers: { 'sec-fetch-site': 'cross-site' } });
    expect(unnamed.status).toBe(403);
    // Still unspent: the host page itself can use it.
    const fromHost = await fetch(url, { redirect: 'manual', headers: { referer: `${HOST}/dashboard`, 'sec-fetch-site': 'cross-site' } });
    expect(fromHost.status).toBe(204);
  });

  it('a session needs a host origin: given, from returnTo, or the only CORS origin; never one outside CORS_ORIGINS', async () => {
    const none = await apps.portal.post('/v1/viewer-sessions', { tenant: 'acme', user: user('o', 'acme') });
    expect(none.status).toBe(400);
    expect(none.body.error.message).toMatch(/origin is required/);
    const foreign = await apps.portal.post('/v1/viewer-sessions', { tenant: 'acme', user: user('o', 'acme'), origin: 'https://evil.example' });
    expect(foreign.status).toBe(400);
    expect(foreign.body.error.code).toBe('origin_not_allowed');
    const fromReturn = await apps.portal.post('/v1/viewer-sessions', { tenant: 'acme', user: user('o', 'acme'), returnTo: `${HOST}/x` });
    expect(fromReturn.body.origin).toBe(HOST);
  });
});

describe('how a viewer session ends', () => {
  it('revoked by its app (one, or all of a user’s); another app cannot revoke it', async () => {
    const { api, sessionId } = await apps.portal.viewer('acme', user('rev', 'acme'), HOST);
    expect((await api.get('/v1/sdk/sso')).status).toBe(200);
    expect((await apps.other.delete(`/v1/viewer-sessions/${sessionId}`)).status).toBe(404);
    expect((await api.get('/v1/sdk/sso')).status).toBe(200);
    expect((await apps.portal.delete(`/v1/viewer-sessions/${sessionId}`)).status).toBe(204);
    const after = await api.get('/v1/sdk/sso');
    expect(after.status).toBe(401);
    expect(after.body.error.message).toMatch(/revoked-by-app/);
    const a = await apps.portal.viewer('acme', user('many', 'acme'), HOST);
    const b = await apps.portal.viewer('acme', user('many', 'acme'), HOST);
    const all = await apps.portal.request('DELETE', '/v1/viewer-sessions?tenant=acme&user=many');
    expect(all.status).toBe(200);
    expect(all.body).toEqual({ revoked: 2 });
    expect((await a.api.get('/v1/sdk/sso')).status).toBe(401);
    expect((await b.api.get('/v1/sdk/sso')).status).toBe(401);
  });

  it('records activity on a provider call once the last record is a minute old, not on every call', async () => {
    const active = await apps.portal.viewer('acme', user('active', 'acme'), HOST);
    const lastSeen = async () =>
      (
        await service.db.query<{ age: number }>(`SELECT extract(epoch FROM now() - last_seen_at)::float8 AS age FROM viewer_sessions WHERE id = $1`, [
          active.sessionId,
        ])
      )[0].age;
    await service.db.query(`UPDATE viewer_sessions SET last_seen_at = now() - interval '2 minutes' WHERE id = $1`, [active.sessionId]);
    expect((await active.api.get('/v1/sdk/sso')).status).toBe(200);
    expect(await lastSeen()).toBeLessThan(5);
    await service.db.query(`UPDATE viewer_sessions SET last_seen_at = now() - interval '30 seconds' WHERE id = $1`, [active.sessionId]);
    expect((await active.api.get('/v1/sdk/sso')).status).toBe(200);
    expect(await lastSeen()).toBeGreaterThanOrEqual(29);
  });

  it('idle past VIEWER_SESSION_IDLE_MINUTES, or past its absolute end', async () => {
    const idle = await apps.portal.viewer('acme', user('idle', 'acme'), HOST);
    await service.db.query(`UPDATE viewer_sessions SET last_seen_at = now() - interval '31 minutes' WHERE id = $1`, [idle.sessionId]);
    expect((await idle.api.get('/v1/sdk/sso')).body.error.message).toMatch(/idle/);
    const old = await apps.portal.viewer('acme', user('old', 'acme'), HOST);
    await service.db.query(`UPDATE viewer_sessions SET expires_at = now() - interval '1 second' WHERE id = $1`, [old.sessionId]);
    expect((await old.api.get('/v1/sdk/sso')).status).toBe(401);
  });

  it('when its tenant is suspended, and it stays ended when the tenant comes back', async () => {
    const { api } = await apps.portal.viewer('initech', user('sus', 'initech'), HOST);
    expect((await api.post('/v1/sdk/guest', { entityType: 'dashboard', entityId: 1 })).status).toBe(200);
    expect((await service.admin.patch('/v1/tenants/initech', { status: 'suspended' })).status).toBe(200);
    expect((await service.admin.patch('/v1/tenants/initech', { status: 'active' })).status).toBe(200);
    const after = await api.post('/v1/sdk/guest', { entityType: 'dashboard', entityId: 1 });
    expect(after.status).toBe(401);
    expect(after.body.error.message).toMatch(/tenant-suspended/);
  });

  it('when the app key that opened it is revoked', async () => {
    const created = await service.admin.post('/v1/apps', { name: 'short-lived', tenants: ['acme'] });
    const app = service.admin.as(created.body.apiKey);
    const { api } = await app.viewer('acme', user('keyrev', 'acme'), HOST);
    expect((await api.post('/v1/sdk/guest', { entityType: 'dashboard', entityId: 1 })).status).toBe(200);
    expect((await service.admin.delete(`/v1/keys/${created.body.id}`)).status).toBe(200);
    const after = await api.post('/v1/sdk/guest', { entityType: 'dashboard', entityId: 1 });
    expect(after.status).toBe(401);
    expect(after.body.error.message).toMatch(/key-revoked/);
  });

  it('when an admin releases the user’s seat', async () => {
    const { api } = await apps.portal.viewer('acme', user('rel', 'acme'), HOST);
    expect((await api.get('/v1/sdk/sso')).status).toBe(200);
    const seats = await service.admin.get('/v1/seats?tenant=acme');
    const seat = seats.body.items.find((s: { userId: string }) => s.userId === 'rel');
    expect((await service.admin.delete(`/v1/seats/${seat.id}`)).status).toBe(200);
    const after = await api.get('/v1/sdk/sso');
    expect(after.status).toBe(401);
    expect(after.body.error.message).toMatch(/seat-released/);
  });
});

describe('the providers with OIDC tokens from the host’s identity provider (the SDK’s fetchRequestToken)', () => {
  let idp: TestOidcIdp;
  let appId: string;
  const AUDIENCE = 'embedgate-portal';

  beforeAll(async () => {
    idp = await TestOidcIdp.start();
    const created = await service.admin.post('/v1/apps', { name: 'oidc-portal', tenants: ['acme', 'globex'] });
    appId = created.body.id;
    const configured = await service.admin.put(`/v1/apps/${appId}/oidc`, { issuer: idp.issuer, audience: AUDIENCE, claims: { tenant: 'tenant' } });
    expect(configured.status).toBe(200);
  });
  afterAll(() => idp.close());

  const bearer = (token: string) => service.anonymous.withHeaders({ authorization: `Bearer ${token}`, origin: HOST });

  it('a good token → {jwt} for the token’s user and tenant, and a guest token too', async () => {
    const token = await idp.token(AUDIENCE, { claims: { sub: 'oidc-ana', email: 'oidc-ana@acme.example' } });
    const answer = await bearer(token).get('/v1/sdk/sso?response=json');
    expect(answer.status).toBe(200);
    expect(answer.headers.get('access-control-allow-origin')).toBe(HOST);
    const claims = verifySsoToken(answer.body.jwt, TEST_SECRETS.METABASE_JWT_SHARED_SECRET);
    expect(claims.email).toBe('oidc-ana@acme.example');
    expect(claims.customer_id).toBe('acme-1');
    const seats = await service.admin.get('/v1/seats?tenant=acme');
    expect(seats.body.items.map((s: { userId: string }) => s.userId)).toContain('oidc-ana');
    const globex = await idp.token(AUDIENCE, { claims: { sub: 'oidc-gus', tenant: 'globex', email: 'oidc-gus@globex.example' } });
    const guest = await bearer(globex).post('/v1/sdk/guest?response=json', { entityType: 'dashboard', entityId: 1 });
    expect(guest.status).toBe(200);
    expect(verifyGuestToken(guest.body.jwt, TEST_SECRETS.METABASE_EMBEDDING_SECRET_KEY).params).toEqual({ customer_id: ['globex-1'] });
  });

  it('a token naming a tenant outside the app’s scope gets nothing (404, as for an unknown tenant)', async () => {
    const token = await idp.token(AUDIENCE, { claims: { tenant: 'initech', email: 'x@initech.example' } });
    const answer = await bearer(token).get('/v1/sdk/sso');
    expect(answer.status).toBe(404);
    expect(answer.body.error.code).toBe('tenant_not_found');
  });

  it('wrong audience, expired, unsigned, or an API key in its place: 401 invalid_token, no seat', async () => {
    const now = Math.floor(Date.now() / 1000);
    for (const token of [
      await idp.token('someone-else', { claims: { sub: 'bad-1' } }),
      await idp.token(AUDIENCE, { claims: { sub: 'bad-2', iat: now - 600, exp: now - 300 } }),
      unsignedToken({ iss: idp.issuer, aud: AUDIENCE, sub: 'bad-3', tenant: 'acme', iat: now, exp: now + 300 }),
      apps.portal.key!,
    ]) {
      const answer = await bearer(token).get('/v1/sdk/sso');
      expect(answer.status).toBe(401);
      expect(answer.body.error.code).toBe('invalid_token');
    }
    const seats = await service.admin.get('/v1/seats?tenant=acme');
    expect(seats.body.items.map((s: { userId: string }) => s.userId).filter((id: string) => id.startsWith('bad-'))).toEqual([]);
  });
});

describe('failed viewer authentications', () => {
  it('an address that keeps presenting bad cookies is slowed down like one presenting bad API keys (429)', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 80; i++) {
      statuses.push((await service.anonymous.withHeaders({ cookie: `${viewerCookieName(HOST)}=${'B'.repeat(43)}`, origin: HOST }).get('/v1/sdk/sso')).status);
    }
    expect(statuses.slice(0, 5)).toEqual([401, 401, 401, 401, 401]);
    expect(statuses).toContain(429);
  });
});
