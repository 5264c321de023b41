import { UsageRollup } from '../../src/usage/usage-rollup.service.js';
import { FakeMetabase } from '../support/fake-metabase.js';
import { Api, embedBody, seed, startService, TEST_SECRETS, type RunningService } from '../support/service.js';
import { writeSeatHistory, type SeatHistoryEvent } from '../support/seat-history.js';
import { TestIdp } from '../support/test-idp.js';

const METABASE_API_KEY = 'mb_test_api_key_billing_0123';
const SP_ENTITY_ID = 'https://embedgate.test.example/saml';
let service: RunningService;
let idp: TestIdp;
let sp: { entityId: string; acsUrl: string };
let app: Api;
let finance: Api;
const history = (events: SeatHistoryEvent[]) => writeSeatHistory(service.db, events);

beforeAll(async () => {
  idp = await TestIdp.create();
  await idp.start(() => sp);
  service = await startService({
    SEAT_BUDGET: '10',
    SEAT_PRICE_PER_DAY: '2',
    SEAT_PRICE_CURRENCY: 'EUR',
    USAGE_FLUSH_SECONDS: '3600',
    SAML_SP_ENTITY_ID: SP_ENTITY_ID,
    SAML_IDP_ENTRY_POINT: `${idp.url}/sso`,
    SAML_IDP_ISSUER: idp.entityId,
    SAML_IDP_CERT: idp.cert,
    SAML_ROLE_MAP: JSON.stringify({ finance: 'finance', analysts: 'analyst' }),
    SESSION_SECRET: 'console-session-secret-0123456789abcdef',
    PUBLIC_URL: 'http://embedgate.test.example',
  });
  sp = { entityId: SP_ENTITY_ID, acsUrl: `${service.config.publicUrl}/auth/saml/acs` };
  const apps = await seed(service.admin, {
    tenants: [
      { slug: 'acme', name: 'Acme', kind: 'external', tier: 'drill', customerId: 'a' },
      { slug: 'globex', name: 'Globex', kind: 'external', tier: 'drill', customerId: 'g' },
    ],
    resources: [{ key: 'sales-overview', type: 'dashboard', metabaseId: 1, tenantParam: 'customer_id', guest: true }],
    apps: { host: { tenants: '*' } },
  });
  app = apps.host;
  finance = app.as(await service.createKey('finance'));
  // The license has existed since January with a budget of 10; on 2 March at 18:00 it was cut to 2 (forced).
  await service.db.query(`UPDATE license_budget_changes SET changed_at = '2026-01-01T00:00:00Z'`);
  await service.db.query(`INSERT INTO license_budget_changes (seat_budget, previous_budget, actor, changed_at) VALUES (2, 10, 'test', '2026-03-02T18:00:00Z')`);
  await service.db.query(`UPDATE license SET seat_budget = 2`);
  //            at                      tenant    kind         tenant  all
  await history([
    ['2026-03-01T09:00:00Z', 'acme', 'allocated', 1, 1],
    ['2026-03-01T10:00:00Z', 'acme', 'allocated', 2, 2],
    ['2026-03-01T11:00:00Z', 'globex', 'allocated', 1, 3],
    ['2026-03-01T22:00:00Z', 'acme', 'released', 1, 2], // released late on 1 March
    ['2026-03-01T23:30:00Z', 'globex', 'allocated', 2, 3], // held across midnight…
    ['2026-03-02T00:30:00Z', 'globex', 'released', 1, 2], // …released half an hour later
    ['2026-03-04T12:00:00Z', 'globex', 'released', 0, 1], // at exactly noon
  ]);
  // Metabase's active users, as the scheduled job would have read them.
  for (const [at, users] of [
    ['2026-03-01T20:00:00Z', 4],
    ['2026-03-02T06:00:00Z', 3],
    ['2026-03-04T13:00:00Z', 1],
  ] as const) {
    await service.db.query(`INSERT INTO metabase_user_snapshots (taken_at, active_users, seats_held) VALUES ($1, $2, 0)`, [at, users]);
  }
});
afterAll(async () => {
  await service.stop();
  await idp.stop();
});

describe('GET /v1/reports/billing', () => {
  it("counts each day by Metabase's 36-hour rule from the seat history, attributes it to tenants, prices it, beside the ledger's peak and Metabase", async () => {
    const answer = await finance.get('/v1/reports/billing?from=2026-03-01&to=2026-03-05');
    expect(answer.status).toBe(200);
    const days = Object.fromEntries(
      answer.body.daily.map((d: any) => [
        d.date,
        [d.billable, d.ledgerPeak, d.budget, d.overBudget, d.metabaseActiveUsers, d.cost, Object.fromEntries(d.byTenant.map((t: any) => [t.tenant, t.seats]))],
      ]),
    );
    expect(days).toEqual({
      // [billable, ledger's peak, budget, over budget, Metabase, cost, by tenant]
      // 1 March: 3 at 11:00 and again at 23:30 (the latest: acme 1, globex 2); Metabase read 4 at 20:00.
      '2026-03-01': [3, 3, 10, false, 4, 6, { acme: 1, globex: 2 }],
      // 2 March: the window opens on 1 March at 12:00: 3 held then (acme 2, globex 1) and at 23:30 → 3, the
      // latest being 23:30; the budget was cut to 2 at 18:00, so it is over; Metabase's highest in the window: 4.
      '2026-03-02': [3, 3, 2, true, 4, 6, { acme: 1, globex: 2 }],
      // 3 March: from 2 March 12:00: 2 held throughout; no snapshot in the window.
      '2026-03-03': [2, 2, 2, false, null, 4, { acme: 1, globex: 1 }],
      // 4 March: 2 until the noon release → 2.
      '2026-03-04': [2, 2, 2, false, 1, 4, { acme: 1, globex: 1 }],
      // 5 March: the window opens on 4 March at 12:00, when the seat was already released → 1.
      '2026-03-05': [1, 1, 2, false, 1, 2, { acme: 1 }],
    });
    expect(answer.body.daily[0].maxAt).toBe('2026-03-01T23:30:00.000Z');
    expect(answer.body.totals).toEqual({ billableSeatDays: 11, billablePeak: 3, ledgerPeak: 3, overBudgetDays: 1, cost: 22 });
    expect(answer.body.tenants).toEqual([
      { tenant: 'acme', seatDays: 5, cost: 10 },
      { tenant: 'globex', seatDays: 6, cost: 12 },
    ]);
    expect(answer.body).toMatchObject({ currency: 'EUR', seatPricePerDay: 2, metabaseSnapshots: false, rule: expect.stringContaining('36 h') });
  });

  it("the ledger's peak is the seat-usage report's daily peak", async () => {
    const [billing, usage] = await Promise.all([
      finance.get('/v1/reports/billing?from=2026-03-01&to=2026-03-05'),
      finance.get('/v1/reports/seat-usage?from=2026-03-01&to=2026-03-05'),
    ]);
    expect(billing.body.daily.map((d: any) => d.ledgerPeak)).toEqual(usage.body.daily.map((d: any) => d.peakSeats));
  });

  it('answers CSV with Accept: text/csv or ?format=csv: a row per day and tenant', async () => {
    for (const answer of [
      await finance.request('GET', '/v1/reports/billing?from=2026-03-01&to=2026-03-03', undefined, { accept: 'text/csv' }),
      await finance.get('/v1/reports/billing?from=2026-03-01&to=2026-03-03&format=csv'),
    ]) {
      expect(answer.status).toBe(200);
      expect(answer.headers.get('content-type')).toMatch(/^text\/csv/);
      expect(answer.headers.get('content-disposition')).toBe('attachment; filename="billing-2026-03-01-to-2026-03-03.csv"');
      expect(answer.body.split('\r\n').slice(0, 4)).toEqual([
        'date,tenant,billable_seats,day_billable,day_ledger_peak,day_budget,day_metabase_active_users,cost_EUR',
        '2026-03-01,acme,1,3,3,10,4,2',
        '2026-03-01,globex,2,3,3,10,4,4',
        '2026-03-02,acme,1,3,3,2,4,2',
      ]);
    }
  });

  it.each([
    ['from after to', 'from=2026-03-05&to=2026-03-01', 'validation_error'],
    ['a range over 366 days', 'from=2025-01-01&to=2026-03-01', 'range_too_large'],
    ['a bad date', 'from=2026-02-30', 'validation_error'],
    ['an unknown parameter', 'tenant=acme', 'validation_error'],
  ])('refuses %s with 400', async (_what, query, code) => {
    const answer = await finance.get(`/v1/reports/billing?${query}`);
    expect(answer.status).toBe(400);
    expect(answer.body.error.code).toBe(code);
  });

  it('is for finance and admins, not apps', async () => {
    expect((await app.get('/v1/reports/billing')).status).toBe(403);
    expect((await service.admin.get('/v1/reports/billing')).status).toBe(200);
  });
});

describe("Metabase's active users, snapshot on a schedule", () => {
  it('with METABASE_API_KEY, an instance takes a snapshot through the API at start, and the report shows it beside the billable count', async () => {
    const metabase = await new FakeMetabase(METABASE_API_KEY, TEST_SECRETS.METABASE_JWT_SHARED_SECRET).start();
    metabase.addUser('ana@acme.example');
    metabase.addUser('bo@globex.example');
    metabase.addUser('gone@globex.example').is_active = false;
    const other = await startService({ METABASE_API_URL: metabase.url, METABASE_API_KEY, METABASE_SNAPSHOT_INTERVAL_MINUTES: '60' }, service.db);
    try {
      let rows: { active_users: number }[] = [];
      for (let i = 0; i < 100 && !rows.length; i++) {
        rows = await service.db.query(`SELECT active_users FROM metabase_user_snapshots WHERE taken_at > now() - interval '1 hour'`);
        if (!rows.length) await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(rows).toEqual([{ active_users: 2 }]);
      const today = new Date().toISOString().slice(0, 10);
      const answer = await other.admin.get(`/v1/reports/billing?from=${today}&to=${today}`);
      expect(answer.body.metabaseSnapshots).toBe(true);
      expect(answer.body.daily[0].metabaseActiveUsers).toBe(2);
      expect(metabase.requests.some((r) => r.startsWith('GET /api/user'))).toBe(true);
    } finally {
      await other.app.close();
      await metabase.stop();
    }
  });
});

describe("the console's finance pages", () => {
  const sessionCookie = (response: Response) => response.headers.getSetCookie().find((c) => c.startsWith('embedgate_session='));
  async function signIn(groups: string[]): Promise<string> {
    const login = await fetch(`${service.baseUrl}/auth/saml/login?RelayState=%2Fconsole`, { redirect: 'manual' });
    const { id } = TestIdp.requestIdOf(login.headers.get('location')!);
    const acs = await fetch(`${service.baseUrl}/auth/saml/acs`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ SAMLResponse: await idp.response(sp, { inResponseTo: id, groups }), RelayState: '/console' }).toString(),
    });
    return sessionCookie(acs)!.split(';')[0];
  }
  const page = (cookie: string, path: string) => fetch(`${service.baseUrl}${path}`, { headers: { cookie } });

  it('the billing page shows the chart, each day beside the ledger and Metabase, and downloads the CSV', async () => {
    const cookie = await signIn(['finance']);
    const answer = await page(cookie, '/console/reports/billing?from=2026-03-01&to=2026-03-05');
    expect(answer.status).toBe(200);
    const html = await answer.text();
    expect(html).toContain('<svg id="billing-chart"');
    expect((html.match(/<rect /g) ?? []).length).toBe(5);
    expect(html).toContain('<b id="billable-seat-days">11</b>');
    expect(html).toContain('<b id="cost">22 EUR</b>');
    expect(html).toMatch(
      /<tr data-date="2026-03-02"><td>2026-03-02<\/td><td class="billable">3 <span class="muted">\(over budget\)<\/span><\/td><td>3<\/td><td>4<\/td><td>2<\/td>/,
    );
    expect(html).toContain('href="/console/reports/forecast"');
    const csv = await page(cookie, '/console/reports/billing.csv?from=2026-03-01&to=2026-03-01');
    expect(csv.headers.get('content-type')).toMatch(/^text\/csv/);
    expect((await csv.text()).split('\r\n')[1]).toBe('2026-03-01,acme,1,3,3,10,4,2');
  });

  it('the usage page shows embeds by mode and distinct viewers by tenant', async () => {
    for (const user of ['u-1', 'u-2', 'u-1']) await app.post('/v1/embeds', embedBody('acme', user));
    await app.post('/v1/embeds', embedBody('globex', 'u-1'));
    await service.app.get(UsageRollup).flush();
    const cookie = await signIn(['finance']);
    const html = await (await page(cookie, '/console/reports/usage')).text();
    expect(html).toMatch(/<tr data-tenant="acme"><td>acme<\/td><td>\d+<\/td><td>\d+<\/td><td>\d+<\/td><td class="viewers">2<\/td><\/tr>/);
    expect(html).toMatch(/<tr data-tenant="globex">.*<td class="viewers">1<\/td>/);
    expect((await page(cookie, '/console/reports/usage?tenant=Bad!')).status).toBe(400);
  });

  it('the forecast page tries a change without applying it', async () => {
    const cookie = await signIn(['finance']);
    const html = await (await page(cookie, '/console/reports/forecast?budget=1&tier.acme=view')).text();
    expect(html).toMatch(/<tr data-tenant="acme">.*<option value="view" selected>view<\/option>/s);
    // acme on view needs no seat; globex's one viewer takes the one seat.
    expect(html).toMatch(/<tr data-tenant="acme">[\s\S]*?<td class="seats">0<\/td>/);
    expect(html).toMatch(/<tr data-tenant="globex">[\s\S]*?<td class="needed">1<\/td><td class="seats">1<\/td>/);
    expect((await service.admin.get('/v1/tenants/acme')).body.tier).toBe('drill');
    expect((await page(cookie, '/console/reports/forecast?tier.acme=gold')).status).toBe(400);
    expect((await page(cookie, '/console/reports/forecast?nonsense=1')).status).toBe(400);
  });

  it('is for finance and admins: an analyst gets a 403 page', async () => {
    const cookie = await signIn(['analysts']);
    for (const path of ['/console/reports/billing', '/console/reports/usage', '/console/reports/forecast']) {
      expect((await page(cookie, path)).status).toBe(403);
    }
  });
});
