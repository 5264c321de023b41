import { Api, embedBody, seed, startService, TEST_PUBLIC_URL, TEST_SECRETS, TEST_SITE_URL, type RunningService } from '../support/service.js';
import { ssoReturnTo, verifyGuestToken, verifySsoToken } from '../support/metabase-verifier.js';

let service: RunningService;
let app: Api; // scoped to acme, globex, corp, nocid
let acmeOnly: Api;

beforeAll(async () => {
  service = await startService({ SEAT_BUDGET: '10' });
  const apps = await seed(service.admin, {
    tenants: [
      { slug: 'acme', name: 'Acme', kind: 'external', tier: 'view', customerId: 'acme-001' },
      { slug: 'globex', name: 'Globex', kind: 'external', tier: 'drill', customerId: 'globex-002', attributes: { region: 'emea', plan: 3 } },
      { slug: 'corp', name: 'Corp analytics', kind: 'internal' },
      { slug: 'nocid', name: 'No customer id', kind: 'internal', tier: 'view' },
      { slug: 'initech', name: 'Initech', kind: 'external', tier: 'view', customerId: 'initech-003' },
    ],
    resources: [
      { key: 'sales-overview', type: 'dashboard', metabaseId: 42, tenantParam: 'customer_id', guest: true },
      { key: 'raw-orders', type: 'question', metabaseId: '7', guest: false },
    ],
    apps: { host: { tenants: ['acme', 'globex', 'corp', 'nocid'] }, acmeOnly: { tenants: ['acme'] } },
  });
  app = apps.host;
  acmeOnly = apps.acmeOnly;
});

afterAll(() => service.stop());

describe('POST /v1/embeds: guest embeds', () => {
  it('gives a view-tier external user a guest token Metabase accepts, locked to the tenant’s customerId', async () => {
    const answer = await app.post('/v1/embeds', embedBody('acme', 'u-1', { options: { theme: 'night', bordered: true, titled: true } }));
    expect(answer.status).toBe(201);
    expect(answer.body.mode).toBe('guest');
    expect(answer.body.decision).toEqual({ mode: 'guest', rule: 'external-view-tier', reasons: expect.any(Array) });
    const claims = verifyGuestToken(answer.body.token, TEST_SECRETS.METABASE_EMBEDDING_SECRET_KEY);
    expect(claims.resource).toEqual({ dashboard: 42 });
    expect(claims.params).toEqual({ customer_id: ['acme-001'] });
    expect(answer.body.url).toBe(`${TEST_SITE_URL}/embed/dashboard/${answer.body.token}#bordered=true&titled=true&theme=night`);
    expect(new Date(answer.body.expiresAt).getTime()).toBe(claims.exp * 1000);
    expect(answer.body.seat).toBeUndefined();
  });

  it('a guest token signed for the SSO secret would not verify: the two secrets are kept apart', async () => {
    const answer = await app.post('/v1/embeds', embedBody('acme', 'u-1'));
    expect(() => verifyGuestToken(answer.body.token, TEST_SECRETS.METABASE_JWT_SHARED_SECRET)).toThrow();
  });

  it('refuses a guest token for a tenant without a customerId', async () => {
    const answer = await app.post('/v1/embeds', embedBody('nocid', 'u-1'));
    expect(answer.status).toBe(403);
    expect(answer.body.error.code).toBe('missing_customer_id');
    expect(answer.body.decision).toMatchObject({ mode: 'deny', rule: 'guest-customer-id-required' });
    expect(answer.body.token).toBeUndefined();
  });

  it('refuses a guest token for a resource not registered for guest embedding', async () => {
    const answer = await app.post('/v1/embeds', { ...embedBody('acme', 'u-1'), resource: 'raw-orders' });
    expect(answer.status).toBe(403);
    expect(answer.body.decision.rule).toBe('guest-resource-required');
  });
});

describe('POST /v1/embeds: SSO embeds', () => {
  it('gives a drill-tier user an SSO login with the tenant’s attributes and groups, and a new seat', async () => {
    const answer = await app.post(
      '/v1/embeds',
      embedBody('globex', 'g-1', { user: { id: 'g-1', email: 'Gina@Globex.Example', firstName: 'Gina', role: 'analyst' } }),
    );
    expect(answer.status).toBe(201);
    expect(answer.body.mode).toBe('sso');
    expect(answer.body.decision.rule).toBe('external-drill-tier');
    const claims = verifySsoToken(answer.body.jwt, TEST_SECRETS.METABASE_JWT_SHARED_SECRET);
    expect(claims).toMatchObject({ email: 'gina@globex.example', first_name: 'Gina', customer_id: 'globex-002', region: 'emea', plan: 3 });
    expect(claims.groups).toEqual(['Customers', 'Analysts']);
    expect(claims.last_name).toBeUndefined();
    expect(answer.body.seat).toMatchObject({ id: expect.any(String), new: true });
    // By default the url is a one-time launch link that mints a fresh token and sends the browser on.
    expect(answer.body.url).toMatch(new RegExp(`^${TEST_PUBLIC_URL}/v1/launch/[A-Za-z0-9_-]{43}$`));
    const launch = await app.openLaunch(answer.body.url);
    expect(launch.status).toBe(302);
    const location = new URL(launch.location!);
    expect(`${location.origin}${location.pathname}`).toBe(`${TEST_SITE_URL}/auth/sso`);
    expect(ssoReturnTo(launch.location!)).toBe('/dashboard/42');
    const fresh = verifySsoToken(location.searchParams.get('jwt')!, TEST_SECRETS.METABASE_JWT_SHARED_SECRET);
    expect(fresh).toMatchObject({ email: 'gina@globex.example', customer_id: 'globex-002', groups: ['Customers', 'Analysts'] });
    expect(fresh.jti).not.toBe(claims.jti);
  });

  it('with options.launch "direct", the url is Metabase’s /auth/sso itself, with a relative return_to', async () => {
    const answer = await app.post('/v1/embeds', embedBody('globex', 'g-direct', { options: { launch: 'direct' } }));
    expect(answer.body.url.startsWith(`${TEST_SITE_URL}/auth/sso?jwt=${answer.body.jwt}&`)).toBe(true);
    expect(ssoReturnTo(answer.body.url)).toBe('/dashboard/42');
  });

  it('reuses the seat of a returning user and moves lastUsedAt (kept to the minute)', async () => {
    const first = await app.post('/v1/embeds', embedBody('globex', 'g-2'));
    await service.db.query(`UPDATE seats SET last_used_at = now() - interval '2 minutes' WHERE id = $1`, [first.body.seat.id]);
    const [before] = await service.db.query<{ last_used_at: Date }>('SELECT last_used_at FROM seats WHERE id = $1', [first.body.seat.id]);
    const again = await app.post('/v1/embeds', embedBody('globex', 'g-2'));
    expect(again.status).toBe(201);
    expect(again.body.seat).toMatchObject({ id: first.body.seat.id, new: false });
    const [after] = await service.db.query<{ last_used_at: Date }>('SELECT last_used_at FROM seats WHERE id = $1', [first.body.seat.id]);
    expect(after.last_used_at.getTime()).toBeGreaterThan(before.last_used_at.getTime());
    const rows = await service.db.query('SELECT 1 FROM seats WHERE user_id = $1', ['g-2']);
    expect(rows).toHaveLength(1);
  });

  it('routes internal staff to SSO with the internal groups and no customer_id when the tenant has none', async () => {
    const answer = await app.post('/v1/embeds', embedBody('corp', 'staff-1'));
    expect(answer.status).toBe(201);
    expect(answer.body.decision.rule).toBe('internal-tenant');
    const claims = verifySsoToken(answer.body.jwt, TEST_SECRETS.METABASE_JWT_SHARED_SECRET);
    expect(claims.groups).toEqual(['Internal analysts']);
    expect(claims.customer_id).toBeUndefined();
  });

  it('needs user.email for an SSO embed, and takes no seat without one', async () => {
    const answer = await app.post('/v1/embeds', { tenant: 'globex', user: { id: 'no-mail' }, resource: 'sales-overview' });
    expect(answer.status).toBe(400);
    expect(answer.body.error.code).toBe('email_required');
    expect(await service.db.query('SELECT 1 FROM seats WHERE user_id = $1', ['no-mail'])).toHaveLength(0);
  });
});

describe('POST /v1/embeds: isolation', () => {
  it('gives an app scoped to acme no token for globex, and answers as for an unknown tenant', async () => {
    const other = await acmeOnly.post('/v1/embeds', embedBody('globex', 'x-1'));
    const unknown = await acmeOnly.post('/v1/embeds', embedBody('no-such-tenant', 'x-1'));
    expect(other.status).toBe(404);
    expect(other.body).toEqual(unknown.body);
    expect(other.body.token).toBeUndefined();
    expect(other.body.jwt).toBeUndefined();
    expect(await service.db.query('SELECT 1 FROM seats WHERE user_id = $1', ['x-1'])).toHaveLength(0);
  });

  it('never puts another tenant’s customerId in a guest token, whatever the user id or email says', async () => {
    const answer = await acmeOnly.post('/v1/embeds', {
      tenant: 'acme',
      user: { id: 'globex-002', email: 'someone@globex.example' },
      resource: 'sales-overview',
    });
    expect(answer.status).toBe(201);
    const claims = verifyGuestToken(answer.body.token, TEST_SECRETS.METABASE_EMBEDDING_SECRET_KEY);
    expect(claims.params).toEqual({ customer_id: ['acme-001'] });
    expect(JSON.stringify(claims)).not.toContain('globex');
  });

  it('rejects a request that tries to set Metabase params, attributes, groups or the customerId itself', async () => {
    const attempts = [
      { ...embedBody('acme', 'u-1'), params: { customer_id: ['globex-002'] } },
      { ...embedBody('acme', 'u-1'), customerId: 'globex-002' },
      { ...embedBody('acme', 'u-1'), user: { id: 'u-1', email: 'a@acme.example', attributes: { customer_id: 'globex-002' } } },
      { ...embedBody('acme', 'u-1'), user: { id: 'u-1', email: 'a@acme.example', groups: ['Administrators'] } },
      { ...embedBody('acme', 'u-1'), options: { params: { customer_id: [] } } },
    ];
    for (const body of attempts) {
      const answer = await app.post('/v1/embeds', body);
      expect(answer.status).toBe(400);
      expect(answer.body.error.code).toBe('validation_error');
    }
  });

  it('denies an unknown resource with 404 and a suspended tenant with 403', async () => {
    expect((await app.post('/v1/embeds', { ...embedBody('acme', 'u-1'), resource: 'nope' })).body.decision.rule).toBe('resource-not-found');
    await service.admin.patch('/v1/tenants/acme', { status: 'suspended' });
    const suspended = await app.post('/v1/embeds', embedBody('acme', 'u-1'));
    expect(suspended.status).toBe(403);
    expect(suspended.body.error.code).toBe('tenant_suspended');
    await service.admin.patch('/v1/tenants/acme', { status: 'active' });
  });

  it('answers 401 without a key or with a wrong one, and 403 to a non-app key', async () => {
    expect((await service.anonymous.post('/v1/embeds', embedBody('acme', 'u-1'))).status).toBe(401);
    expect((await app.as('egk_aaaaaaaaaaaaaaaa_' + 'A'.repeat(43)).post('/v1/embeds', embedBody('acme', 'u-1'))).status).toBe(401);
    const finance = app.as(await service.createKey('finance'));
    expect((await finance.post('/v1/embeds', embedBody('acme', 'u-1'))).status).toBe(403);
  });
});

describe('POST /v1/embeds/explain', () => {
  it('returns the decision only: no token, no seat taken', async () => {
    const before = await service.db.query('SELECT count(*)::int AS n FROM seats');
    const answer = await app.post('/v1/embeds/explain', embedBody('globex', 'explain-1'));
    expect(answer.status).toBe(200);
    expect(Object.keys(answer.body)).toEqual(['decision']);
    expect(answer.body.decision).toMatchObject({ mode: 'sso', rule: 'external-drill-tier' });
    expect(await service.db.query('SELECT count(*)::int AS n FROM seats')).toEqual(before);
  });

  it('explains denials with 200 too, and is open to admins', async () => {
    const answer = await service.admin.post('/v1/embeds/explain', embedBody('nocid', 'u-1'));
    expect(answer.status).toBe(200);
    expect(answer.body.decision).toMatchObject({ mode: 'deny', rule: 'guest-customer-id-required' });
  });

  it('says the seat budget is exhausted when it is', async () => {
    await service.admin.put('/v1/license', { seatBudget: 0, force: true });
    const answer = await app.post('/v1/embeds/explain', embedBody('globex', 'explain-2'));
    expect(answer.body.decision.mode).toBe('guest');
    expect(answer.body.decision.reasons.join(' ')).toMatch(/exhausted/);
    await service.admin.put('/v1/license', { seatBudget: 10 });
  });
});

describe('GET /metrics', () => {
  it('counts embeds by mode and rule, denials by rule, seats and the budget, latency and the pool', async () => {
    const text = (await service.anonymous.get('/metrics')).body as string;
    const value = (line: string) =>
      Number(
        text
          .split('\n')
          .find((l) => l.startsWith(line))
          ?.split(' ')
          .pop(),
      );
    expect(value('embedgate_embeds_issued_total{mode="guest",rule="external-view-tier"}')).toBeGreaterThan(0);
    expect(value('embedgate_embeds_issued_total{mode="sso",rule="external-drill-tier"}')).toBeGreaterThan(0);
    expect(value('embedgate_embeds_denied_total{rule="guest-customer-id-required"}')).toBeGreaterThan(0);
    const held = (await service.admin.get('/v1/license')).body.seatsHeld;
    expect(value('embedgate_license_seats{kind="held"}')).toBe(held);
    expect(value('embedgate_seats_held{tenant="globex"}')).toBeGreaterThan(0);
    expect(text).toMatch(/embedgate_http_request_duration_seconds_bucket\{le="0\.01",method="POST",route="\/v1\/embeds",status="201"\}/);
    expect(text).toContain('embedgate_db_pool_connections{state="total"}');
    expect(text).not.toMatch(/\/v1\/launch\/[A-Za-z0-9_-]{43}/);
  });
});
