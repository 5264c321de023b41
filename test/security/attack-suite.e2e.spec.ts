import { Api, embedBody, seed, startService, TEST_SECRETS, type RunningService } from '../support/service.js';
import { verifyGuestToken, verifySsoToken } from '../support/metabase-verifier.js';

/**
 * The attack suite: each case is a real HTTP request against the running service on a real
 * Postgres, trying to reach another tenant's data or to get a token the policy would not give.
 */
let service: RunningService;
let acmeApp: Api; // scoped to acme (external, view)
let globexApp: Api; // scoped to globex (external, drill)
let allApp: Api; // scoped to "*"
let finance: Api;

const ACME = 'acme-001';
const GLOBEX = 'globex-002';

/** No token or jwt anywhere in the answer. */
const noToken = (body: any) => {
  expect(body?.token).toBeUndefined();
  expect(body?.jwt).toBeUndefined();
  expect(JSON.stringify(body ?? {})).not.toMatch(/eyJ[A-Za-z0-9_-]+\.eyJ/);
};

/** Every token in the answer carries only this customerId. */
const tokensCarryOnly = (body: any, customerId: string) => {
  if (body?.token) expect(verifyGuestToken(body.token, TEST_SECRETS.METABASE_EMBEDDING_SECRET_KEY).params).toEqual({ customer_id: [customerId] });
  if (body?.jwt) expect(verifySsoToken(body.jwt, TEST_SECRETS.METABASE_JWT_SHARED_SECRET).customer_id).toBe(customerId);
};

beforeAll(async () => {
  service = await startService({ SEAT_BUDGET: '50', LOG_LEVEL: 'trace' });
  const apps = await seed(service.admin, {
    tenants: [
      { slug: 'acme', name: 'Acme', kind: 'external', tier: 'view', customerId: ACME },
      { slug: 'globex', name: 'Globex', kind: 'external', tier: 'drill', customerId: GLOBEX, emailDomains: ['globex.example', 'partner.example'] },
      { slug: 'corp', name: 'Corp', kind: 'internal' },
      { slug: 'hooli', name: 'Hooli', kind: 'external', tier: 'drill', customerId: 'hooli-9', emailDomains: ['hooli.example', 'partner.example'] },
    ],
    resources: [
      { key: 'sales-overview', type: 'dashboard', metabaseId: 1, tenantParam: 'customer_id' },
      { key: 'raw-orders', type: 'question', metabaseId: 2, guest: false },
    ],
    apps: { acme: { tenants: ['acme'] }, globex: { tenants: ['globex'] }, all: { tenants: '*' } },
  });
  acmeApp = apps.acme;
  globexApp = apps.globex;
  allApp = apps.all;
  finance = service.admin.as(await service.createKey('finance'));
});
afterAll(() => service.stop());

describe('cross-tenant access through path, query, body and header', () => {
  it.each([
    ['body tenant', '/v1/embeds', embedBody('globex', 'x'), {}],
    ['body tenant on explain', '/v1/embeds/explain', embedBody('globex', 'x'), {}],
    ['body tenant on the SDK endpoint', '/v1/sso/jwt', { tenant: 'globex', user: { id: 'x', email: 'x@globex.example' } }, {}],
    ['?tenant= query', '/v1/embeds?tenant=globex', embedBody('globex', 'x'), {}],
    ['X-Tenant header', '/v1/embeds', embedBody('globex', 'x'), { 'x-tenant': 'globex' }],
  ])('an app scoped to acme gets nothing of globex via %s', async (_how, path, body, headers) => {
    const answer = await acmeApp.request('POST', path, body, headers);
    noToken(answer.body);
    if (path.startsWith('/v1/embeds/explain')) expect(answer.body.decision).toMatchObject({ mode: 'deny', rule: 'tenant-not-found' });
    else expect(answer.status).toBe(404);
    expect(JSON.stringify(answer.body)).not.toContain(GLOBEX);
  });

  it.each([
    ['?tenant=globex', '/v1/embeds?tenant=globex', {}],
    ['X-Tenant: globex', '/v1/embeds', { 'x-tenant': 'globex' }],
    ['X-Forwarded-Host and X-Original-URL', '/v1/embeds', { 'x-forwarded-host': 'globex', 'x-original-url': '/v1/embeds?tenant=globex' }],
  ])('a query or header (%s) never changes the tenant of an acme request', async (_how, path, headers) => {
    const answer = await acmeApp.request('POST', path, embedBody('acme', 'u-1'), headers);
    expect(answer.status).toBe(201);
    tokensCarryOnly(answer.body, ACME);
  });

  it.each(['../globex', 'globex/', 'globex%00', 'GLOBEX', ' globex', 'globex ', 'globex\u0000', 'glob\u0435x', 'acme,globex', '*', '%'])(
    'an acme app asking for tenant %j gets no token',
    async (tenant) => {
      const answer = await acmeApp.post('/v1/embeds', embedBody(tenant, 'x'));
      expect([400, 404]).toContain(answer.status);
      noToken(answer.body);
    },
  );

  it('an unknown tenant and an out-of-scope one answer byte for byte alike (no existence oracle)', async () => {
    const outOfScope = await acmeApp.post('/v1/embeds', embedBody('hooli', 'x'));
    const unknown = await acmeApp.post('/v1/embeds', embedBody('no-such', 'x'));
    expect(outOfScope.status).toBe(unknown.status);
    expect(JSON.stringify(outOfScope.body).replace(/hooli/g, 'X')).toBe(JSON.stringify(unknown.body).replace(/no-such/g, 'X'));
  });

  it.each([
    ['GET', '/v1/tenants/globex'],
    ['GET', '/v1/tenants'],
    ['GET', '/v1/seats?tenant=globex'],
    ['GET', '/v1/license'],
    ['GET', '/v1/audit?tenant=globex'],
    ['GET', '/v1/license/reconciliation'],
    ['PATCH', '/v1/tenants/globex'],
  ])('an app key cannot read or change tenants through %s %s', async (method, path) => {
    const answer = await acmeApp.request(method, path, method === 'PATCH' ? { name: 'pwned' } : undefined);
    expect(answer.status).toBe(403);
    expect(JSON.stringify(answer.body)).not.toContain(GLOBEX);
  });

  it.each(['/v1/tenants/%2e%2e%2fglobex', '/v1/tenants/globex%2f..', '/v1/tenants/GLOBEX', '/v1/tenants/glob%D0%B5x'])(
    'admin path %s does not resolve to globex',
    async (path) => {
      const answer = await service.admin.get(path);
      expect(answer.status).toBe(404);
    },
  );
});

describe('mass assignment: unknown or privileged fields are refused', () => {
  it.each([
    ['params', { params: { customer_id: [GLOBEX] } }],
    ['customerId', { customerId: GLOBEX }],
    ['attributes', { attributes: { customer_id: GLOBEX } }],
    ['groups', { groups: ['Administrators'] }],
    ['resource object', { resource: { dashboard: 99 } }],
    ['jwt claims', { exp: 9999999999 }],
  ])('POST /v1/embeds with top-level %s', async (_field, extra) => {
    const answer = await acmeApp.post('/v1/embeds', { ...embedBody('acme', 'u-1'), ...extra });
    expect(answer.status).toBe(400);
    noToken(answer.body);
  });

  it.each([
    ['user.groups', { groups: ['Administrators'] }],
    ['user.attributes', { attributes: { customer_id: GLOBEX } }],
    ['user.customer_id', { customer_id: GLOBEX }],
    ['user.is_superuser', { is_superuser: true }],
    ['user.tenant', { tenant: 'globex' }],
  ])('POST /v1/embeds with %s', async (_field, extra) => {
    const answer = await globexApp.post('/v1/embeds', { ...embedBody('globex', 'u-1'), user: { id: 'u-1', email: 'u-1@globex.example', ...extra } });
    expect(answer.status).toBe(400);
    noToken(answer.body);
  });

  it.each([
    ['POST', '/v1/tenants', { slug: 'mass-1', name: 'x', kind: 'external', customerId: 'c', seatsHeld: -100 }],
    ['POST', '/v1/tenants', { slug: 'mass-2', name: 'x', kind: 'external', customerId: 'c', status: 'active', id: '00000000-0000-0000-0000-000000000000' }],
    ['PATCH', '/v1/tenants/acme', { customerId: GLOBEX }],
    ['PATCH', '/v1/tenants/acme', { seatsHeld: 0 }],
    ['POST', '/v1/apps', { name: 'x', tenants: '*', role: 'admin' }],
    ['POST', '/v1/keys', { role: 'admin', name: 'x', appId: 'app_x' }],
    ['PUT', '/v1/license', { seatBudget: 10, seatsHeld: 0 }],
    ['POST', '/v1/resources', { key: 'r-x', type: 'dashboard', metabaseId: 1, tenantParam: 'p', guest: true, id: 'x' }],
  ])('%s %s with a privileged field', async (method, path, body) => {
    const answer = await service.admin.request(method, path, body);
    expect(answer.status).toBe(400);
    expect(answer.body.error.code).toBe('validation_error');
  });
});

describe('the locked filter can never be switched off', () => {
  it.each([[''], ['   '], [null], [[]], [['acme']], [{}], [true]])('customerId %j is refused at tenant creation', async (customerId) => {
    const answer = await service.admin.post('/v1/tenants', { slug: 'blank-cid', name: 'x', kind: 'external', customerId });
    expect(answer.status).toBe(400);
  });

  it('an internal tenant without customerId never gets a guest token, even on a guest resource', async () => {
    await service.admin.put('/v1/tenants/corp/tier', { tier: 'view' });
    const answer = await allApp.post('/v1/embeds', embedBody('corp', 'staff'));
    expect(answer.status).toBe(403);
    expect(answer.body.error.code).toBe('missing_customer_id');
    noToken(answer.body);
    await service.admin.put('/v1/tenants/corp/tier', { tier: 'drill' });
  });

  it('every guest token carries a non-empty list with the tenant’s own customerId', async () => {
    const answer = await acmeApp.post('/v1/embeds', embedBody('acme', 'u-2'));
    const claims = verifyGuestToken(answer.body.token, TEST_SECRETS.METABASE_EMBEDDING_SECRET_KEY);
    expect(claims.params.customer_id).toEqual([ACME]);
  });
});

describe('unknown resources', () => {
  it.each(['nope', '../sales-overview', 'sales-overview\u0000', 'SALES-OVERVIEW', 'sales-overview/../raw-orders', ''])(
    'resource %j gets no token',
    async (resource) => {
      const answer = await acmeApp.post('/v1/embeds', { ...embedBody('acme', 'u'), resource });
      expect([400, 404]).toContain(answer.status);
      noToken(answer.body);
    },
  );
});

describe('token lifetimes', () => {
  it('a guest token lives at most 10 minutes and an SSO token at most 180 s, HS256 only', async () => {
    const guest = await acmeApp.post('/v1/embeds', embedBody('acme', 'u-3'));
    const claims = verifyGuestToken(guest.body.token, TEST_SECRETS.METABASE_EMBEDDING_SECRET_KEY);
    expect(claims.exp - Date.now() / 1000).toBeLessThanOrEqual(600);
    const sso = await globexApp.post('/v1/embeds', embedBody('globex', 'g-1'));
    const ssoClaims = verifySsoToken(sso.body.jwt, TEST_SECRETS.METABASE_JWT_SHARED_SECRET);
    expect(ssoClaims.exp - ssoClaims.iat).toBeLessThanOrEqual(180);
    for (const token of [guest.body.token, sso.body.jwt]) {
      expect(JSON.parse(Buffer.from(token.split('.')[0], 'base64url').toString())).toEqual({ alg: 'HS256', typ: 'JWT' });
    }
  });
});

describe('one-time launch links', () => {
  const launch = async (user: string) => (await globexApp.post('/v1/embeds', embedBody('globex', user))).body.url as string;

  it('works once; a second use is 410 and audited', async () => {
    const url = await launch('l-1');
    expect((await globexApp.openLaunch(url)).status).toBe(302);
    const again = await globexApp.openLaunch(url);
    expect(again.status).toBe(410);
    expect(again.body.error.code).toBe('launch_used');
    expect(again.location).toBeNull();
    const audit = await service.admin.get('/v1/audit?type=launch.replayed');
    expect(audit.body.items.length).toBeGreaterThan(0);
  });

  it('two browsers opening one link at once: exactly one login', async () => {
    const url = await launch('l-2');
    const opens = await Promise.all(Array.from({ length: 5 }, () => globexApp.openLaunch(url)));
    expect(opens.map((o) => o.status).sort()).toEqual([302, 410, 410, 410, 410]);
  });

  it('an expired link is 410', async () => {
    const url = await launch('l-3');
    await service.db.query(`UPDATE sso_launches SET expires_at = now() - interval '1 second' WHERE used_at IS NULL`);
    const answer = await globexApp.openLaunch(url);
    expect(answer.status).toBe(410);
    expect(answer.body.error.code).toBe('launch_expired');
  });

  it.each(['A'.repeat(43), 'x', '..%2F..%2Fv1%2Flicense'])('a guessed or malformed id (%s) is 404 and audited', async (id) => {
    const answer = await globexApp.openLaunch(`https://embedgate.test.example/v1/launch/${id}`);
    expect(answer.status).toBe(404);
    noToken(answer.body);
  });

  it('an id with a control character is refused by the text rule (400) before any lookup', async () => {
    const answer = await globexApp.openLaunch(`https://embedgate.test.example/v1/launch/${'A'.repeat(42)}%00`);
    expect(answer.status).toBe(400);
    expect(answer.body.error.code).toBe('validation_error');
    noToken(answer.body);
  });

  it('a link whose seat was released meanwhile is refused', async () => {
    const answer = await globexApp.post('/v1/embeds', embedBody('globex', 'l-4'));
    await service.admin.delete(`/v1/seats/${answer.body.seat.id}`);
    expect((await globexApp.openLaunch(answer.body.url)).status).toBe(410);
  });

  it('the link id is long and random (at least 128 bits), and stored only as a hash', async () => {
    const url = await launch('l-5');
    const id = new URL(url).pathname.split('/').pop()!;
    expect(id).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const stored = JSON.stringify(await service.db.query('SELECT * FROM sso_launches'));
    expect(stored).not.toContain(id);
  });
});

describe('identity collisions: one email, one tenant', () => {
  it.each([
    ['the same email', 'shared@partner.example'],
    ['another case', 'SHARED@Partner.Example'],
    ['a full-width variant (NFKC)', 'ｓｈａｒｅｄ@partner.example'],
  ])('a second tenant gets 409 identity_conflict for %s', async (_what, email) => {
    const first = await globexApp.post('/v1/embeds', { tenant: 'globex', user: { id: 'p-1', email: 'shared@partner.example' }, resource: 'sales-overview' });
    expect(first.status).toBe(201);
    const second = await allApp.post('/v1/embeds', { tenant: 'hooli', user: { id: 'p-1', email }, resource: 'sales-overview' });
    expect(second.status).toBe(409);
    expect(second.body.error.code).toBe('identity_conflict');
    noToken(second.body);
    expect(await service.db.query(`SELECT 1 FROM seats s JOIN tenants t ON t.id = s.tenant_id WHERE t.slug = 'hooli' AND s.user_id = 'p-1'`)).toHaveLength(0);
  });

  it('with an explicit per-tenant alias scheme, the second tenant gets its own Metabase identity', async () => {
    await service.admin.patch('/v1/tenants/hooli', { ssoEmailAlias: 'plus-tenant' });
    const answer = await allApp.post('/v1/embeds', { tenant: 'hooli', user: { id: 'p-1', email: 'shared@partner.example' }, resource: 'sales-overview' });
    expect(answer.status).toBe(201);
    const claims = verifySsoToken(answer.body.jwt, TEST_SECRETS.METABASE_JWT_SHARED_SECRET);
    expect(claims.email).toBe('shared+hooli@partner.example');
    expect(claims.customer_id).toBe('hooli-9');
  });
});

describe('roles', () => {
  it.each([
    ['POST', '/v1/tenants', { slug: 'x', name: 'x', kind: 'internal' }],
    ['PUT', '/v1/tenants/globex/tier', { tier: 'view' }],
    ['PUT', '/v1/license', { seatBudget: 1000 }],
    ['POST', '/v1/keys', { role: 'admin', name: 'escalate' }],
    ['POST', '/v1/apps', { name: 'x', tenants: '*' }],
    ['POST', '/v1/seats/reclaim', { idleDays: 1 }],
    ['POST', '/v1/resources', { key: 'x', type: 'dashboard', metabaseId: 1, tenantParam: 'p' }],
  ])('an app key on admin route %s %s gets 403', async (method, path, body) => {
    expect((await acmeApp.request(method, path, body)).status).toBe(403);
  });

  it.each([
    ['PUT', '/v1/tenants/globex/tier', { tier: 'view' }],
    ['PATCH', '/v1/tenants/globex', { status: 'suspended' }],
    ['PUT', '/v1/license', { seatBudget: 1000 }],
    ['POST', '/v1/keys', { role: 'admin', name: 'escalate' }],
    ['POST', '/v1/embeds', embedBody('globex', 'x')],
  ])('a finance key on %s %s gets 403', async (method, path, body) => {
    expect((await finance.request(method, path, body)).status).toBe(403);
  });

  it('an admin key cannot mint embeds (app keys only)', async () => {
    expect((await service.admin.post('/v1/embeds', embedBody('acme', 'x'))).status).toBe(403);
  });
});

describe('keys: revocation, rotation, and only in the Authorization header', () => {
  it('a revoked app key is refused on the next request', async () => {
    const created = await service.admin.post('/v1/apps', { name: 'short-lived', tenants: ['acme'] });
    const app = service.admin.as(created.body.apiKey);
    expect((await app.post('/v1/embeds', embedBody('acme', 'u'))).status).toBe(201);
    expect((await service.admin.delete(`/v1/keys/${created.body.keyId}`)).status).toBe(200);
    expect((await app.post('/v1/embeds', embedBody('acme', 'u'))).status).toBe(401);
  });

  it('rotation: the old key works during the overlap, then stops; the new one works', async () => {
    const created = await service.admin.post('/v1/keys', { role: 'finance', name: 'rotating' });
    const rotated = await service.admin.post(`/v1/keys/${created.body.id}/rotate`, { overlapSeconds: 0 });
    expect(rotated.status).toBe(201);
    expect((await service.admin.as(created.body.apiKey).get('/v1/license')).status).toBe(401);
    expect((await service.admin.as(rotated.body.apiKey).get('/v1/license')).status).toBe(200);
    const overlapping = await service.admin.post(`/v1/keys/${rotated.body.id}/rotate`, { overlapSeconds: 600 });
    expect((await service.admin.as(rotated.body.apiKey).get('/v1/license')).status).toBe(200);
    expect((await service.admin.as(overlapping.body.apiKey).get('/v1/license')).status).toBe(200);
  });

  it.each([
    ['in the query string', (key: string) => [`/v1/license?api_key=${key}`, {}]],
    ['as a Basic credential', (key: string) => ['/v1/license', { authorization: `Basic ${Buffer.from(`${key}:`).toString('base64')}` }]],
    ['as X-API-Key', (key: string) => ['/v1/license', { 'x-api-key': key }]],
    ['in a cookie', (key: string) => ['/v1/license', { cookie: `api_key=${key}` }]],
  ] as const)('a key %s is not accepted', async (_how, build) => {
    const [path, headers] = build(service.admin.key!);
    expect((await service.anonymous.request('GET', path as string, undefined, headers as Record<string, string>)).status).toBe(401);
  });

  it('a real key id with a wrong secret is refused', async () => {
    const [prefix, id] = service.admin.key!.split('_');
    expect((await service.anonymous.as(`${prefix}_${id}_${'A'.repeat(43)}`).get('/v1/license')).status).toBe(401);
  });
});

describe('malformed and hostile bodies', () => {
  it.each([
    ['malformed JSON', '{"tenant":', 'application/json', 400],
    ['a __proto__ key', '{"__proto__":{"isAdmin":true},"tenant":"acme"}', 'application/json', 400],
    ['a constructor.prototype key', '{"constructor":{"prototype":{"isAdmin":true}}}', 'application/json', 400],
    ['deep nesting', `{"tenant":${'['.repeat(10000)}${']'.repeat(10000)}}`, 'application/json', 400],
    ['a body over 64 KiB', JSON.stringify({ ...embedBody('acme', 'u'), pad: 'x'.repeat(70_000) }), 'application/json', 413],
    ['XML', '<tenant>acme</tenant>', 'application/xml', 415],
  ])('%s gets a 4xx error object and no token', async (_what, body, contentType, status) => {
    const answer = await acmeApp.request('POST', '/v1/embeds', body, { 'content-type': contentType });
    expect(answer.status).toBe(status);
    expect(answer.body.error.code).toMatch(/^[a-z_]+$/);
    noToken(answer.body);
  });

  it('prototype pollution did not happen', async () => {
    expect(({} as Record<string, unknown>).isAdmin).toBeUndefined();
  });
});

describe('Unicode confusables', () => {
  it.each(['аcme', 'acme\u200b', 'ａｃｍｅ', 'acme\u0301'])('slug %j cannot be created and reaches no tenant', async (slug) => {
    expect((await service.admin.post('/v1/tenants', { slug, name: 'x', kind: 'external', customerId: 'c' })).status).toBe(400);
    const answer = await allApp.post('/v1/embeds', embedBody(slug, 'u'));
    expect([400, 404]).toContain(answer.status);
    noToken(answer.body);
  });
});

describe('security headers and CORS', () => {
  it('sends the standard security headers and no CORS grant by default', async () => {
    const answer = await acmeApp.request('POST', '/v1/embeds', embedBody('acme', 'u'), { origin: 'https://evil.example' });
    expect(answer.headers.get('x-content-type-options')).toBe('nosniff');
    expect(answer.headers.get('x-frame-options')).toBe('SAMEORIGIN');
    expect(answer.headers.get('strict-transport-security')).toBe('max-age=31536000; includeSubDomains');
    // helmet's default policy with the two directives app.factory.ts widens for the Swagger UI (style-src, img-src).
    expect(answer.headers.get('content-security-policy')).toBe(
      "default-src 'self';base-uri 'self';font-src 'self' https: data:;form-action 'self';frame-ancestors 'self';" +
        "img-src 'self' data:;object-src 'none';script-src 'self';script-src-attr 'none';style-src 'self' 'unsafe-inline';" +
        'upgrade-insecure-requests',
    );
    expect(answer.headers.get('referrer-policy')).toBe('no-referrer');
    expect(answer.headers.get('access-control-allow-origin')).toBeNull();
    expect(answer.headers.get('cache-control')).toBe('no-store');
  });
});
