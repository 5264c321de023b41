import { UsageRollup } from '../../src/usage/usage-rollup.service.js';
import { Api, embedBody, seed, startService, type RunningService } from '../support/service.js';

/**
 * POST /v1/reports/forecast: the seats each tenant would need (one per distinct viewer over the window,
 * from the usage roll-up), who would fall back, and what Metabase would bill, with changes tried and
 * never applied.
 */

let service: RunningService;
let app: Api;
let finance: Api;

const users = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);
const byTenant = (body: any) => Object.fromEntries(body.tenants.map((t: any) => [t.tenant, t]));

beforeAll(async () => {
  service = await startService({ SEAT_BUDGET: '10', SEAT_PRICE_PER_DAY: '1.5', USAGE_FLUSH_SECONDS: '3600' });
  const apps = await seed(service.admin, {
    tenants: [
      { slug: 'acme', name: 'Acme', kind: 'external', tier: 'view', customerId: 'a' },
      { slug: 'globex', name: 'Globex', kind: 'external', tier: 'drill', customerId: 'g' },
      { slug: 'hooli', name: 'Hooli', kind: 'external', tier: 'drill', customerId: 'h', seatCap: 2 },
      { slug: 'initech', name: 'Initech', kind: 'external', tier: 'view', customerId: 'i', onSeatsExhausted: 'deny' },
      { slug: 'umbrella', name: 'Umbrella', kind: 'external', tier: 'view', customerId: 'u' },
    ],
    resources: [{ key: 'sales-overview', type: 'dashboard', metabaseId: 1, tenantParam: 'customer_id', guest: true }],
    apps: { host: { tenants: '*' } },
  });
  app = apps.host;
  finance = app.as(await service.createKey('finance'));
  // Usage: acme 7 distinct guest viewers (one of them twice), globex 4 SSO users, hooli 3 (cap 2: one
  // falls back to guest), initech 3 guest viewers; umbrella none.
  const embeds = [
    ...users('a', 7).map((u) => embedBody('acme', u)),
    embedBody('acme', 'a-0'),
    ...users('g', 4).map((u) => embedBody('globex', u)),
    ...users('h', 3).map((u) => embedBody('hooli', u)),
    ...users('i', 3).map((u) => embedBody('initech', u)),
  ];
  for (const body of embeds) expect((await app.post('/v1/embeds', body)).status).toBe(201);
  await service.app.get(UsageRollup).flush();
});
afterAll(() => service.stop());

describe('POST /v1/reports/forecast', () => {
  it('with no change: the seats held today, priced per month', async () => {
    const answer = await finance.post('/v1/reports/forecast', {});
    expect(answer.status).toBe(200);
    const tenants = byTenant(answer.body);
    expect(tenants.globex).toMatchObject({ tier: 'drill', viewers: 4, seatsNeeded: 4, seats: 4, seatsHeldNow: 4, fallback: null });
    expect(tenants.hooli).toMatchObject({ viewers: 3, seatsNeeded: 3, seats: 2, fallback: { mode: 'guest', viewers: 1, reasons: ['seat-cap'] } });
    expect(tenants.acme).toMatchObject({ tier: 'view', viewers: 7, seatsNeeded: 0, seats: 0, fallback: null });
    // 6 seats × 30 days × 1.5.
    expect(answer.body).toMatchObject({
      seatBudget: 10,
      billable: 6,
      unusedSeats: 4,
      costPerMonth: 270,
      currency: 'USD',
      fallsBackToGuest: ['hooli'],
      denied: [],
    });
    expect(answer.body.current).toEqual({ billable: 6, costPerMonth: 270, fallsBackToGuest: ['hooli'], denied: [] });
    expect(answer.body.window).toMatchObject({ days: 30, firstUsageDay: new Date().toISOString().slice(0, 10) });
  });

  it('a tenant moved to drill with N distinct viewers needs N seats', async () => {
    const answer = await finance.post('/v1/reports/forecast', { changes: [{ tenant: 'acme', tier: 'drill' }], seatBudget: 100 });
    expect(answer.status).toBe(200);
    expect(byTenant(answer.body).acme).toMatchObject({ tierNow: 'view', tier: 'drill', changed: true, viewers: 7, seatsNeeded: 7, seats: 7, fallback: null });
    // hooli 2 + globex 4 + acme 7 = 13 seats; 13 × 30 × 1.5 = 585 a month, against 6 (270) today.
    expect(answer.body).toMatchObject({ seatBudget: 100, currentSeatBudget: 10, billable: 13, costPerMonth: 585, current: { billable: 6, costPerMonth: 270 } });
  });

  it('a smaller budget: the tenants on drill today keep theirs, the newcomer gets what is left and the rest falls back as it says', async () => {
    const answer = await finance.post('/v1/reports/forecast', {
      changes: [
        { tenant: 'acme', tier: 'drill' },
        { tenant: 'initech', tier: 'drill' },
      ],
      seatBudget: 8,
    });
    const tenants = byTenant(answer.body);
    // Drill today first (hooli needs 3, capped at 2; globex 4): 6 of 8. Then the newcomers, smaller need
    // first: initech (3) gets 2 and denies 1 (its onSeatsExhausted), acme (7) gets none: 7 guests.
    expect(tenants.hooli).toMatchObject({ seats: 2 });
    expect(tenants.globex).toMatchObject({ seats: 4 });
    expect(tenants.initech).toMatchObject({ seatsNeeded: 3, seats: 2, fallback: { mode: 'deny', viewers: 1, reasons: ['seat-budget'] } });
    expect(tenants.acme).toMatchObject({ seatsNeeded: 7, seats: 0, fallback: { mode: 'guest', viewers: 7, reasons: ['seat-budget'] } });
    expect(answer.body).toMatchObject({ billable: 8, unusedSeats: 0, costPerMonth: 360, fallsBackToGuest: ['acme', 'hooli'], denied: ['initech'] });
  });

  it('a budget below what the drill tenants hold today leaves them short too', async () => {
    const answer = await finance.post('/v1/reports/forecast', { seatBudget: 3 });
    const tenants = byTenant(answer.body);
    // hooli (need 3, cap 2) first: 2; globex (4) gets the 1 left.
    expect(tenants.hooli).toMatchObject({ seats: 2, fallback: { viewers: 1, reasons: ['seat-cap'] } });
    expect(tenants.globex).toMatchObject({ seats: 1, fallback: { mode: 'guest', viewers: 3, reasons: ['seat-budget'] } });
    expect(answer.body).toMatchObject({ billable: 3, costPerMonth: 135 });
  });

  it('caps, moves to view and fallbacks are tried too', async () => {
    const answer = await finance.post('/v1/reports/forecast', {
      changes: [
        { tenant: 'acme', tier: 'drill', seatCap: 5, onSeatsExhausted: 'deny' },
        { tenant: 'globex', tier: 'view' },
        { tenant: 'hooli', seatCap: null },
      ],
    });
    const tenants = byTenant(answer.body);
    expect(tenants.acme).toMatchObject({ seats: 5, seatCap: 5, fallback: { mode: 'deny', viewers: 2, reasons: ['seat-cap'] } });
    expect(tenants.globex).toMatchObject({ tier: 'view', seatsNeeded: 0, seats: 0, fallback: null });
    expect(tenants.hooli).toMatchObject({ seatCap: null, seats: 3, fallback: null });
    expect(answer.body).toMatchObject({ billable: 8, denied: ['acme'], fallsBackToGuest: [] });
  });

  it('counts the viewers of the window only', async () => {
    const [{ id }] = await service.db.query<{ id: string }>(`SELECT id FROM tenants WHERE slug = 'umbrella'`);
    await service.db.query(
      `INSERT INTO usage_viewers (day, tenant_id, resource_key, user_id) SELECT current_date - 40, $1, 'sales-overview', 'old-' || n FROM generate_series(1, 5) n`,
      [id],
    );
    const change = [{ tenant: 'umbrella', tier: 'drill' }];
    expect(byTenant((await finance.post('/v1/reports/forecast', { changes: change })).body).umbrella).toMatchObject({ viewers: 0, seatsNeeded: 0 });
    expect(byTenant((await finance.post('/v1/reports/forecast', { changes: change, windowDays: 60 })).body).umbrella).toMatchObject({
      viewers: 5,
      seatsNeeded: 5,
    });
  });

  it('applies nothing', async () => {
    await finance.post('/v1/reports/forecast', { changes: [{ tenant: 'globex', tier: 'view' }], seatBudget: 0 });
    expect((await service.admin.get('/v1/tenants/globex')).body).toMatchObject({ tier: 'drill', seatsHeld: 4 });
    expect((await service.admin.get('/v1/license')).body).toMatchObject({ seatBudget: 10, seatsHeld: 6 });
  });

  it.each([
    ['an unknown tenant', { changes: [{ tenant: 'nobody', tier: 'drill' }] }, /changes\.0\.tenant: there is no tenant 'nobody'/],
    ['a tenant changed twice', { changes: [{ tenant: 'acme' }, { tenant: 'acme', tier: 'drill' }] }, /changes\.1\.tenant: acme is changed twice/],
    ['a bad tier', { changes: [{ tenant: 'acme', tier: 'gold' }] }, /changes\.0\.tier: tier is view or drill/],
    ['a negative cap', { changes: [{ tenant: 'acme', seatCap: -1 }] }, /changes\.0\.seatCap/],
    ['a fractional budget', { seatBudget: 2.5 }, /seatBudget must be a whole number/],
    ['a window of 0 days', { windowDays: 0 }, /windowDays/],
    ['an unknown field', { budget: 3 }, /budget/],
    ['a bad slug', { changes: [{ tenant: 'Not A Slug' }] }, /changes\.0\.tenant/],
  ])('refuses %s with 400 and a message', async (_what, body, message) => {
    const answer = await finance.post('/v1/reports/forecast', body);
    expect(answer.status).toBe(400);
    expect(answer.body.error).toEqual({ code: 'validation_error', message: expect.stringMatching(message) });
  });

  it('is for finance and admins, not apps', async () => {
    expect((await app.post('/v1/reports/forecast', {})).status).toBe(403);
    expect((await service.admin.post('/v1/reports/forecast', {})).status).toBe(200);
  });
});
