import { Api, embedBody, seed, startService, type RunningService } from '../support/service.js';

let service: RunningService;
let finance: Api;

beforeAll(async () => {
  service = await startService({ SEAT_BUDGET: '5' });
  finance = service.admin.as(await service.createKey('finance', 'finance team'));
});
afterAll(() => service.stop());

describe('POST /v1/tenants', () => {
  it('creates a tenant and answers 201 with it', async () => {
    const answer = await service.admin.post('/v1/tenants', {
      slug: 'acme',
      name: 'Acme',
      kind: 'external',
      tier: 'drill',
      customerId: 42,
      seatCap: 3,
      onSeatsExhausted: 'deny',
      attributes: { region: 'emea', tierLevel: 2, beta: true },
      groups: ['Acme analysts'],
      emailDomains: ['Acme.example', 'eu.acme.example', 'acme.example'],
    });
    expect(answer.status).toBe(201);
    expect(answer.body).toMatchObject({
      slug: 'acme',
      kind: 'external',
      tier: 'drill',
      customerId: '42',
      seatCap: 3,
      onSeatsExhausted: 'deny',
      attributes: { region: 'emea', tierLevel: 2, beta: true },
      groups: ['Acme analysts'],
      emailDomains: ['acme.example', 'eu.acme.example'],
      status: 'active',
      seatsHeld: 0,
    });
  });

  it('defaults the tier by kind: drill for internal, view for external', async () => {
    expect((await service.admin.post('/v1/tenants', { slug: 'ops', name: 'Ops', kind: 'internal', emailDomains: ['ops.example'] })).body.tier).toBe('drill');
    expect(
      (await service.admin.post('/v1/tenants', { slug: 'initech', name: 'Initech', kind: 'external', customerId: 'i-1', emailDomains: ['initech.example'] }))
        .body.tier,
    ).toBe('view');
  });

  it('refuses a duplicate slug with 409', async () => {
    const answer = await service.admin.post('/v1/tenants', { slug: 'acme', name: 'Again', kind: 'external', customerId: 'x' });
    expect(answer.status).toBe(409);
    expect(answer.body.error.code).toBe('tenant_exists');
  });

  it.each([
    ['an external tenant without customerId', { slug: 'a1', name: 'A', kind: 'external' }],
    ['an empty customerId', { slug: 'a2', name: 'A', kind: 'external', customerId: '' }],
    ['a blank customerId', { slug: 'a3', name: 'A', kind: 'external', customerId: '   ' }],
    ['a null customerId', { slug: 'a4', name: 'A', kind: 'external', customerId: null }],
    ['an array customerId', { slug: 'a5', name: 'A', kind: 'external', customerId: ['x'] }],
    ['an uppercase slug', { slug: 'Acme', name: 'A', kind: 'external', customerId: 'x' }],
    ['a slug of 64 characters', { slug: 'a'.repeat(64), name: 'A', kind: 'external', customerId: 'x' }],
    ['a slug with a Cyrillic а', { slug: 'аcme', name: 'A', kind: 'external', customerId: 'x' }],
    ['an unknown kind', { slug: 'a6', name: 'A', kind: 'partner', customerId: 'x' }],
    ['an attribute starting with @', { slug: 'a7', name: 'A', kind: 'external', customerId: 'x', attributes: { '@tenant': 'b' } }],
    ['an attribute overriding email', { slug: 'a8', name: 'A', kind: 'external', customerId: 'x', attributes: { email: 'b@b' } }],
    ['an attribute overriding customer_id', { slug: 'a9', name: 'A', kind: 'external', customerId: 'x', attributes: { customer_id: 'b' } }],
    ['a non-scalar attribute', { slug: 'b1', name: 'A', kind: 'external', customerId: 'x', attributes: { ids: [1, 2] } }],
    ['a null attribute', { slug: 'b2', name: 'A', kind: 'external', customerId: 'x', attributes: { id: null } }],
    ['a negative seatCap', { slug: 'b3', name: 'A', kind: 'external', customerId: 'x', seatCap: -1 }],
    ['a fractional seatCap', { slug: 'b4', name: 'A', kind: 'external', customerId: 'x', seatCap: 1.5 }],
    ['an unknown field', { slug: 'b5', name: 'A', kind: 'external', customerId: 'x', seatsHeld: 0 }],
    ['a string for seatCap', { slug: 'b6', name: 'A', kind: 'external', customerId: 'x', seatCap: '3' }],
    ['an internal tenant without emailDomains', { slug: 'b7', name: 'A', kind: 'internal' }],
    ['a drill tenant with no emailDomains', { slug: 'b8', name: 'A', kind: 'external', customerId: 'x', tier: 'drill', emailDomains: [] }],
    ['an email domain with an @', { slug: 'b9', name: 'A', kind: 'external', customerId: 'x', emailDomains: ['ana@acme.example'] }],
    ['an email domain of one label', { slug: 'c1', name: 'A', kind: 'external', customerId: 'x', emailDomains: ['localhost'] }],
    ['the Administrators group', { slug: 'c2', name: 'A', kind: 'external', customerId: 'x', groups: ['Customers', 'administrators'] }],
  ])('refuses %s with 400 validation_error', async (_what, body) => {
    const answer = await service.admin.post('/v1/tenants', body);
    expect(answer.status).toBe(400);
    expect(answer.body.error.code).toBe('validation_error');
    expect(typeof answer.body.error.message).toBe('string');
  });
});

describe('GET /v1/tenants', () => {
  it('pages by slug with limit and cursor', async () => {
    for (const slug of ['p-1', 'p-2', 'p-3']) await service.admin.post('/v1/tenants', { slug, name: slug, kind: 'external', customerId: slug });
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: any = await service.admin.get(`/v1/tenants?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      expect(page.status).toBe(200);
      expect(page.body.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.body.items.map((t: { slug: string }) => t.slug));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(seen).toEqual([...seen].sort());
    expect(seen).toEqual(expect.arrayContaining(['acme', 'ops', 'p-1', 'p-2', 'p-3']));
    expect(new Set(seen).size).toBe(seen.length);
  });

  it('is open to finance', async () => {
    expect((await finance.get('/v1/tenants')).status).toBe(200);
    expect((await finance.get('/v1/tenants/acme')).body.slug).toBe('acme');
  });

  it.each(['limit=0', 'limit=201', 'limit=abc', 'limit=1.5', 'cursor=%%%', 'foo=bar'])('refuses ?%s with 400', async (query) => {
    const answer = await service.admin.get(`/v1/tenants?${query}`);
    expect(answer.status).toBe(400);
    expect(answer.body.error.code).toBe('validation_error');
  });

  it('answers 404 for an unknown tenant', async () => {
    expect((await service.admin.get('/v1/tenants/nope')).status).toBe(404);
    expect((await service.admin.get('/v1/tenants/NOPE%20x')).status).toBe(404);
  });
});

describe('PATCH /v1/tenants/{slug}', () => {
  it('changes the allowed fields and nothing else', async () => {
    const answer = await service.admin.patch('/v1/tenants/initech', { name: 'Initech Inc', seatCap: 2, attributes: { region: 'us' }, groups: null });
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ name: 'Initech Inc', seatCap: 2, attributes: { region: 'us' }, groups: null });
  });

  it.each([
    ['customerId', { customerId: 'other' }],
    ['kind', { kind: 'internal' }],
    ['tier (it has its own endpoint)', { tier: 'drill' }],
    ['seatsHeld', { seatsHeld: 0 }],
    ['slug', { slug: 'x' }],
  ])('refuses to change %s', async (_what, body) => {
    const answer = await service.admin.patch('/v1/tenants/initech', body);
    expect(answer.status).toBe(400);
  });

  it('refuses an empty patch and finance keys', async () => {
    expect((await service.admin.patch('/v1/tenants/initech', {})).status).toBe(400);
    expect((await finance.patch('/v1/tenants/initech', { name: 'x' })).status).toBe(403);
  });
});

describe('PUT /v1/tenants/{slug}/tier', () => {
  it('upgrades, then a downgrade releases the tenant’s seats and is audited', async () => {
    const apps = await seed(service.admin, {
      tenants: [],
      resources: [{ key: 'sales-overview', type: 'dashboard', metabaseId: 1, tenantParam: 'customer_id' }],
      apps: { host: { tenants: ['initech'] } },
    });
    const up = await service.admin.put('/v1/tenants/initech/tier', { tier: 'drill', reason: 'premium plan' });
    expect(up.status).toBe(200);
    expect(up.body).toEqual({ tenant: expect.objectContaining({ slug: 'initech', tier: 'drill' }), releasedSeats: 0 });
    expect((await apps.host.post('/v1/embeds', embedBody('initech', 'i-1'))).body.mode).toBe('sso');
    expect((await apps.host.post('/v1/embeds', embedBody('initech', 'i-2'))).body.mode).toBe('sso');
    expect((await service.admin.get('/v1/tenants/initech')).body.seatsHeld).toBe(2);

    const down = await service.admin.put('/v1/tenants/initech/tier', { tier: 'view', reason: 'plan ended' });
    expect(down.body).toEqual({ tenant: expect.objectContaining({ tier: 'view', seatsHeld: 0 }), releasedSeats: 2 });
    expect((await apps.host.post('/v1/embeds', embedBody('initech', 'i-1'))).body.mode).toBe('guest');

    const audit = await service.admin.get('/v1/audit?type=tenant.tier_changed&tenant=initech');
    expect(audit.body.items[0]).toMatchObject({
      type: 'tenant.tier_changed',
      tenant: 'initech',
      data: { from: 'drill', to: 'view', reason: 'plan ended', releasedSeats: 2 },
    });
    const events = await service.db.query<{ kind: string; reason: string }>(
      `SELECT e.kind::text, e.reason FROM seat_events e JOIN tenants t ON t.id = e.tenant_id WHERE t.slug = 'initech' ORDER BY e.id`,
    );
    expect(events.map((e) => `${e.kind}:${e.reason}`)).toEqual([
      'allocated:first-embed',
      'allocated:first-embed',
      'released:tier-downgrade',
      'released:tier-downgrade',
    ]);
  });

  it('refuses a finance key, a bad tier and an unknown tenant', async () => {
    expect((await finance.put('/v1/tenants/initech/tier', { tier: 'drill' })).status).toBe(403);
    expect((await service.admin.put('/v1/tenants/initech/tier', { tier: 'gold' })).status).toBe(400);
    expect((await service.admin.put('/v1/tenants/nope/tier', { tier: 'drill' })).status).toBe(404);
  });
});

describe('resources', () => {
  it('registers a dashboard and a question, lists them to admins and apps', async () => {
    expect((await service.admin.post('/v1/resources', { key: 'q-raw', type: 'question', metabaseId: 'AbCdEfGhIjKlMnOpQrStU', guest: false })).status).toBe(201);
    const list = await service.admin.get('/v1/resources');
    expect(list.body.items.map((r: { key: string }) => r.key)).toEqual(['q-raw', 'sales-overview']);
    expect(list.body.items[0]).toMatchObject({ type: 'question', metabaseId: 'AbCdEfGhIjKlMnOpQrStU', guest: false, tenantParam: null });
  });

  it.each([
    ['a guest resource without tenantParam', { key: 'r1', type: 'dashboard', metabaseId: 1, guest: true }],
    ['a zero metabaseId', { key: 'r2', type: 'dashboard', metabaseId: 0, tenantParam: 'p' }],
    ['a metabaseId that is neither an id nor an entity id', { key: 'r3', type: 'dashboard', metabaseId: 'abc', tenantParam: 'p' }],
    ['an unknown type', { key: 'r4', type: 'collection', metabaseId: 1, tenantParam: 'p' }],
    ['a key with a space', { key: 'r 5', type: 'dashboard', metabaseId: 1, tenantParam: 'p' }],
  ])('refuses %s with 400', async (_what, body) => {
    expect((await service.admin.post('/v1/resources', body)).status).toBe(400);
  });

  it('refuses a duplicate key with 409, and finance keys', async () => {
    expect((await service.admin.post('/v1/resources', { key: 'q-raw', type: 'question', metabaseId: 3, guest: false })).status).toBe(409);
    expect((await finance.get('/v1/resources')).status).toBe(403);
  });
});

describe('apps and keys', () => {
  it('creates an app scoped to tenants; its key works for embeds and nothing admin', async () => {
    const created = await service.admin.post('/v1/apps', { name: 'portal', tenants: ['initech'] });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ id: expect.stringMatching(/^app_/), name: 'portal', tenants: ['initech'], apiKey: expect.stringMatching(/^egk_/) });
    const app = service.admin.as(created.body.apiKey);
    expect((await app.post('/v1/embeds', embedBody('initech', 'u'))).status).toBe(201);
    expect((await app.get('/v1/tenants')).status).toBe(403);
    expect((await app.post('/v1/keys', { role: 'admin', name: 'escalate' })).status).toBe(403);
  });

  it('refuses an app for unknown tenants', async () => {
    const answer = await service.admin.post('/v1/apps', { name: 'x', tenants: ['ghost'] });
    expect(answer.status).toBe(400);
    expect(answer.body.error.code).toBe('unknown_tenants');
    expect((await service.admin.post('/v1/apps', { name: 'x', tenants: [] })).status).toBe(400);
    expect((await service.admin.post('/v1/apps', { name: 'x', tenants: 'all' })).status).toBe(400);
  });

  it('creates a finance key, shows it once, and revokes it: 401 from then on', async () => {
    const created = await service.admin.post('/v1/keys', { role: 'finance', name: 'auditor' });
    expect(created.status).toBe(201);
    expect(Object.keys(created.body).sort()).toEqual(['apiKey', 'id']);
    const key = service.admin.as(created.body.apiKey);
    expect((await key.get('/v1/license')).status).toBe(200);
    const revoked = await service.admin.delete(`/v1/keys/${created.body.id}`);
    expect(revoked.status).toBe(200);
    expect((await key.get('/v1/license')).status).toBe(401);
    expect((await service.admin.delete(`/v1/keys/${created.body.id}`)).status).toBe(409);
    expect((await service.admin.delete('/v1/keys/unknownkey')).status).toBe(404);
  });

  it('stores keys only as a hash', async () => {
    const created = await service.admin.post('/v1/keys', { role: 'admin', name: 'hash-check' });
    const rows = await service.db.query<{ secret_hash: Buffer }>('SELECT secret_hash FROM api_keys WHERE id = $1', [created.body.id]);
    const secret = created.body.apiKey.split('_').slice(2).join('_');
    expect(rows[0].secret_hash.length).toBe(32);
    expect(rows[0].secret_hash.toString('utf8')).not.toContain(secret);
    const dump = JSON.stringify(await service.db.query('SELECT * FROM api_keys'));
    expect(dump).not.toContain(secret);
  });

  it('refuses an app key role through /v1/keys and keys passed in the URL', async () => {
    expect((await service.admin.post('/v1/keys', { role: 'app', name: 'x' })).status).toBe(400);
    const key = service.admin.key!;
    expect((await service.anonymous.get(`/v1/license?api_key=${key}`)).status).toBe(401);
    expect((await service.anonymous.get(`/v1/license?access_token=${key}`)).status).toBe(401);
  });
});

describe('license and seats', () => {
  it('reports the budget, seats held and available, by tenant', async () => {
    const answer = await finance.get('/v1/license');
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ seatBudget: 5, seatsHeld: expect.any(Number), seatsAvailable: expect.any(Number) });
    expect(answer.body.seatsAvailable).toBe(answer.body.seatBudget - answer.body.seatsHeld);
    expect(answer.body.byTenant).toEqual(expect.arrayContaining([{ slug: 'acme', seatsHeld: 0, seatCap: 3 }]));
  });

  it('refuses to lower the budget below seats held unless forced; forced, it blocks new seats', async () => {
    const apps = await seed(service.admin, { tenants: [], apps: { ops: { tenants: ['ops'] } } });
    await apps.ops.post('/v1/embeds', embedBody('ops', 'staff-1'));
    await apps.ops.post('/v1/embeds', embedBody('ops', 'staff-2'));
    const held = (await service.admin.get('/v1/license')).body.seatsHeld;
    expect(held).toBeGreaterThanOrEqual(2);

    const refused = await service.admin.put('/v1/license', { seatBudget: held - 1 });
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe('budget_below_seats_held');

    const forced = await service.admin.put('/v1/license', { seatBudget: held - 1, force: true });
    expect(forced.status).toBe(200);
    expect(forced.body).toMatchObject({ seatBudget: held - 1, seatsHeld: held, seatsAvailable: 0 });
    const blocked = await apps.ops.post('/v1/embeds', embedBody('ops', 'staff-3'));
    expect(blocked.body.mode).not.toBe('sso');
    // A returning user keeps the seat they hold.
    expect((await apps.ops.post('/v1/embeds', embedBody('ops', 'staff-1'))).body.mode).toBe('sso');
    expect((await finance.put('/v1/license', { seatBudget: 100 })).status).toBe(403);
    for (const body of [{ seatBudget: -1 }, { seatBudget: 'ten' }, { seatBudget: 1.5 }, {}, { seatBudget: 5, extra: 1 }]) {
      expect((await service.admin.put('/v1/license', body)).status).toBe(400);
    }
    await service.admin.put('/v1/license', { seatBudget: 5 });
  });

  it('lists seats with heldSince and lastUsedAt, by tenant, to admins and finance', async () => {
    const answer = await finance.get('/v1/seats?tenant=ops');
    expect(answer.status).toBe(200);
    expect(answer.body.items.length).toBeGreaterThanOrEqual(2);
    expect(answer.body.items[0]).toMatchObject({
      id: expect.any(String),
      tenant: 'ops',
      userId: expect.any(String),
      heldSince: expect.any(String),
      lastUsedAt: expect.any(String),
    });
    expect((await finance.get('/v1/seats?tenant=ghost')).status).toBe(404);
    expect((await finance.get('/v1/seats?tenant=Bad%20Slug')).status).toBe(400);
  });

  it('releases one seat: free at once for the next user; twice is a 404', async () => {
    const seat = (await service.admin.get('/v1/seats?tenant=ops')).body.items[0];
    const before = (await service.admin.get('/v1/license')).body.seatsHeld;
    expect((await finance.delete(`/v1/seats/${seat.id}`)).status).toBe(403);
    const released = await Promise.all([service.admin.delete(`/v1/seats/${seat.id}`), service.admin.delete(`/v1/seats/${seat.id}`)]);
    expect(released.map((r) => r.status).sort()).toEqual([200, 404]);
    expect((await service.admin.get('/v1/license')).body.seatsHeld).toBe(before - 1);
    expect((await service.admin.delete('/v1/seats/not-a-uuid')).status).toBe(404);
  });
});

describe('GET /v1/audit', () => {
  it('records every write with its actor, newest first, and filters', async () => {
    const all = await service.admin.get('/v1/audit?limit=200');
    expect(all.status).toBe(200);
    const types = new Set(all.body.items.map((e: { type: string }) => e.type));
    for (const type of [
      'tenant.created',
      'tenant.updated',
      'tenant.tier_changed',
      'resource.created',
      'app.created',
      'key.created',
      'key.revoked',
      'license.budget_changed',
      'seat.allocated',
      'seat.released',
    ]) {
      expect(types).toContain(type);
    }
    const ids = all.body.items.map((e: { id: string }) => Number(e.id));
    expect(ids).toEqual([...ids].sort((a, b) => b - a));
    expect(all.body.items[0].actor).toMatch(/^key:/);
    const created = await service.admin.get('/v1/audit?type=tenant.created&tenant=acme');
    expect(created.body.items).toHaveLength(1);
    const future = await service.admin.get(`/v1/audit?from=${encodeURIComponent(new Date(Date.now() + 3_600_000).toISOString())}`);
    expect(future.body.items).toEqual([]);
  });

  it('is for admins only and validates its query', async () => {
    expect((await finance.get('/v1/audit')).status).toBe(403);
    expect((await service.admin.get('/v1/audit?from=yesterday')).status).toBe(400);
  });
});

describe('bad input never gets a 500', () => {
  const routes: [string, string][] = [
    ['POST', '/v1/tenants'],
    ['PATCH', '/v1/tenants/acme'],
    ['PUT', '/v1/tenants/acme/tier'],
    ['POST', '/v1/resources'],
    ['POST', '/v1/apps'],
    ['POST', '/v1/keys'],
    ['PUT', '/v1/license'],
    ['POST', '/v1/embeds/explain'],
  ];
  const bodies: [string, string, string][] = [
    ['malformed JSON', '{"slug":', 'application/json'],
    ['a JSON string', '"hello"', 'application/json'],
    ['a JSON array', '[1,2]', 'application/json'],
    ['null', 'null', 'application/json'],
    ['__proto__ pollution', '{"__proto__":{"admin":true}}', 'application/json'],
    ['constructor pollution', '{"constructor":{"prototype":{"admin":true}}}', 'application/json'],
    ['deep nesting', `${'['.repeat(5000)}${']'.repeat(5000)}`, 'application/json'],
    ['a form body', 'slug=acme', 'application/x-www-form-urlencoded'],
    ['plain text', 'slug', 'text/plain'],
  ];
  it.each(routes)('%s %s answers every malformed body with a 4xx error object', async (method, path) => {
    for (const [, body, contentType] of bodies) {
      const answer = await service.admin.request(method, path, body, { 'content-type': contentType });
      expect(answer.status).toBeGreaterThanOrEqual(400);
      expect(answer.status).toBeLessThan(500);
      expect(answer.body.error).toEqual({ code: expect.stringMatching(/^[a-z_]+$/), message: expect.any(String) });
    }
  });

  it('answers a body over 64 KiB with 413', async () => {
    const answer = await service.admin.post('/v1/tenants', { slug: 'big', name: 'x'.repeat(70_000), kind: 'internal' });
    expect(answer.status).toBe(413);
    expect(answer.body.error.code).toBe('payload_too_large');
  });

  it('answers an unknown route with 404 in the same shape', async () => {
    const answer = await service.admin.get('/v1/nothing-here');
    expect(answer.status).toBe(404);
    expect(answer.body.error.code).toBe('not_found');
  });
});

describe('health and docs', () => {
  it('is live and ready without a key, with a request id on every answer', async () => {
    const live = await service.anonymous.get('/health/live');
    expect(live.status).toBe(200);
    expect(live.headers.get('x-request-id')).toBeTruthy();
    const ready = await service.anonymous.get('/health/ready');
    expect(ready.body).toEqual({ status: 'ok', database: 'ok', migrations: 'ok' });
  });

  it('serves the OpenAPI document with every contract path', async () => {
    const doc = await service.anonymous.get('/docs/json');
    expect(doc.status).toBe(200);
    for (const path of [
      '/v1/tenants',
      '/v1/tenants/{slug}',
      '/v1/tenants/{slug}/tier',
      '/v1/resources',
      '/v1/apps',
      '/v1/keys',
      '/v1/keys/{id}',
      '/v1/embeds',
      '/v1/embeds/explain',
      '/v1/license',
      '/v1/seats',
      '/v1/seats/{id}',
      '/v1/audit',
      '/health/live',
      '/health/ready',
      '/v1/reports/seat-usage',
      '/v1/sso/jwt',
      '/v1/launch/{id}',
      '/v1/keys/{id}/rotate',
      '/v1/seats/reclaim',
      '/v1/license/reconciliation',
    ]) {
      expect(Object.keys(doc.body.paths)).toContain(path);
    }
    expect(doc.body.paths['/v1/embeds'].post.requestBody.content['application/json'].schema.properties).toHaveProperty('user');
  });
});
