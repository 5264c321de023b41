import { embedBody, seed, startService, type Api, type RunningService } from '../support/service.js';
import { WebhookReceiver } from '../support/webhook-receiver.js';

/**
 * budget.threshold_crossed: usage of the seat budget and of each tenant's cap crossing a threshold
 * (ALERT_THRESHOLDS_PERCENT) fires once per crossing, under a burst of concurrent embeds too, and not
 * on every embed; a fall below and a new rise is a new crossing. Delivered as signed webhooks to a
 * receiver that verifies them with the standardwebhooks package.
 */

const env = {
  WEBHOOK_ALLOW_HTTP_LOCALHOST: 'true',
  WEBHOOK_POLL_INTERVAL_MS: '50',
  WEBHOOK_BACKOFF_BASE_MS: '50',
  RATE_LIMIT_EMBEDS_PER_MINUTE: '100000',
};

type Alert = { scope: string; tenant: string | null; thresholdPercent: number; seatsHeld: number; limit: number; cause: string };

async function setUp(service: RunningService, tenants: Record<string, unknown>[]) {
  const apps = await seed(service.admin, {
    tenants,
    resources: [{ key: 'sales-overview', type: 'dashboard', metabaseId: 1, tenantParam: 'customer_id' }],
    apps: { host: { tenants: '*' } },
  });
  const receiver = await new WebhookReceiver().start();
  const created = await service.admin.post('/v1/webhooks', { url: receiver.url, events: ['budget.threshold_crossed'] });
  expect(created.status).toBe(201);
  receiver.trust(created.body.secret);
  return { app: apps.host, receiver };
}

const alertsOf = (receiver: WebhookReceiver): Alert[] => receiver.events('budget.threshold_crossed').map((r) => r.payload!.data as Alert);
const byScope = (alerts: Alert[], scope: string) =>
  alerts
    .filter((a) => a.scope === scope)
    .map((a) => [a.thresholdPercent, a.seatsHeld, a.limit, a.cause])
    .sort((a, b) => Number(a[0]) - Number(b[0]));

/** Waits until the receiver has `n` alerts, then a little longer to be sure no more come. */
async function expectAlerts(receiver: WebhookReceiver, n: number): Promise<Alert[]> {
  await receiver.waitFor((r) => r.filter((x) => x.payload?.type === 'budget.threshold_crossed').length >= n, `${n} alerts`);
  await new Promise((resolve) => setTimeout(resolve, 400));
  const alerts = alertsOf(receiver);
  expect(alerts).toHaveLength(n);
  return alerts;
}

describe('budget.threshold_crossed under a burst of 100 concurrent embeds (thresholds 80, 90, 100)', () => {
  let service: RunningService;
  let app: Api;
  let receiver: WebhookReceiver;

  beforeAll(async () => {
    service = await startService({ ...env, SEAT_BUDGET: '60' });
    ({ app, receiver } = await setUp(service, [
      { slug: 'capped', name: 'Capped', kind: 'external', tier: 'drill', customerId: 'c-1', seatCap: 10 },
      { slug: 'open', name: 'Open', kind: 'external', tier: 'drill', customerId: 'c-2' },
    ]));
  });
  afterAll(async () => {
    await service?.stop();
    await receiver?.stop();
  });

  const burst = () =>
    Promise.all([
      ...Array.from({ length: 50 }, (_, i) => app.post('/v1/embeds', embedBody('capped', `c-${i}`))),
      ...Array.from({ length: 50 }, (_, i) => app.post('/v1/embeds', embedBody('open', `o-${i}`))),
    ]);

  it('fires exactly once per threshold: 80, 90 and 100 % of the budget and of the capped tenant, each verified', async () => {
    const answers = await burst();
    expect(answers.filter((a) => a.status !== 201)).toEqual([]);
    expect(answers.filter((a) => a.body.mode === 'sso')).toHaveLength(60);
    const alerts = await expectAlerts(receiver, 6);
    expect(byScope(alerts, 'license')).toEqual([
      [80, 48, 60, 'seat.allocated'],
      [90, 54, 60, 'seat.allocated'],
      [100, 60, 60, 'seat.allocated'],
    ]);
    expect(byScope(alerts, 'tenant')).toEqual([
      [80, 8, 10, 'seat.allocated'],
      [90, 9, 10, 'seat.allocated'],
      [100, 10, 10, 'seat.allocated'],
    ]);
    expect(alerts.filter((a) => a.scope === 'tenant').every((a) => a.tenant === 'capped')).toBe(true);
    expect(alerts.filter((a) => a.scope === 'license').every((a) => a.tenant === null)).toBe(true);
    expect(receiver.received.every((r) => r.verifiedBy.length === 1)).toBe(true);
    expect(new Set(receiver.received.map((r) => r.id)).size).toBe(6);
    // What was queued, whatever was delivered: six events.
    expect(await service.db.query(`SELECT count(*)::int AS n FROM webhook_events WHERE type = 'budget.threshold_crossed'`)).toEqual([{ n: 6 }]);
  });

  it('not on every embed: the same 100 embeds again (held seats, exhausted cap and budget) fire nothing', async () => {
    const answers = await burst();
    expect(answers.filter((a) => a.status !== 201)).toEqual([]);
    await expectAlerts(receiver, 6);
  });

  it('a fall below and a new rise is a new crossing: a released seat taken again fires 100 % again, once per scope', async () => {
    const seats = await service.admin.get('/v1/seats?tenant=capped&limit=1');
    expect((await service.admin.delete(`/v1/seats/${seats.body.items[0].id}`)).status).toBe(200);
    const answers = await Promise.all(Array.from({ length: 5 }, (_, i) => app.post('/v1/embeds', embedBody('capped', `again-${i}`))));
    expect(answers.filter((a) => a.body.mode === 'sso')).toHaveLength(1);
    const alerts = (await expectAlerts(receiver, 8)).slice(6);
    expect(byScope(alerts, 'license')).toEqual([[100, 60, 60, 'seat.allocated']]);
    expect(byScope(alerts, 'tenant')).toEqual([[100, 10, 10, 'seat.allocated']]);
  });

  it('a lower budget crosses thresholds without a new seat; a higher one fires nothing', async () => {
    expect((await service.admin.put('/v1/license', { seatBudget: 70 })).status).toBe(200); // 60 of 70: 86 %
    await expectAlerts(receiver, 8);
    expect((await service.admin.put('/v1/license', { seatBudget: 60 })).status).toBe(200); // 60 of 60: 90 and 100 again
    const alerts = (await expectAlerts(receiver, 10)).slice(8);
    expect(byScope(alerts, 'license')).toEqual([
      [90, 60, 60, 'license.budget_changed'],
      [100, 60, 60, 'license.budget_changed'],
    ]);
  });

  it("a lower tenant cap crosses the tenant's thresholds; a higher one fires nothing", async () => {
    expect((await service.admin.patch('/v1/tenants/capped', { seatCap: 20 })).status).toBe(200); // 10 of 20: 50 %
    await expectAlerts(receiver, 10);
    expect((await service.admin.patch('/v1/tenants/capped', { seatCap: 10 })).status).toBe(200); // 10 of 10
    const alerts = (await expectAlerts(receiver, 13)).slice(10);
    expect(byScope(alerts, 'tenant')).toEqual([
      [80, 10, 10, 'tenant.seat_cap_changed'],
      [90, 10, 10, 'tenant.seat_cap_changed'],
      [100, 10, 10, 'tenant.seat_cap_changed'],
    ]);
  });

  it('the seat ledger is intact: seats, counters and history agree', async () => {
    const [state] = await service.db.query<{ seats: number; held: number; tenants: number; events: number }>(`
      SELECT (SELECT count(*)::int FROM seats) AS seats, (SELECT seats_held FROM license) AS held,
             (SELECT sum(seats_held)::int FROM tenants) AS tenants,
             (SELECT count(*) FILTER (WHERE kind = 'allocated') - count(*) FILTER (WHERE kind = 'released') FROM seat_events)::int AS events`);
    expect(state).toEqual({ seats: 60, held: 60, tenants: 60, events: 60 });
  });
});

describe('ALERT_THRESHOLDS_PERCENT', () => {
  it('sets the thresholds at boot: 50 fires at half the budget, and nothing else does', async () => {
    const service = await startService({ ...env, SEAT_BUDGET: '4', ALERT_THRESHOLDS_PERCENT: '50' });
    const { app, receiver } = await setUp(service, [{ slug: 'acme', name: 'Acme', kind: 'external', tier: 'drill', customerId: 'a-1' }]);
    try {
      expect(await service.db.query('SELECT percent FROM alert_thresholds ORDER BY percent')).toEqual([{ percent: 50 }]);
      for (const user of ['u1', 'u2', 'u3', 'u4']) expect((await app.post('/v1/embeds', embedBody('acme', user))).body.mode).toBe('sso');
      const alerts = await expectAlerts(receiver, 1);
      expect(alerts).toEqual([{ scope: 'license', tenant: null, thresholdPercent: 50, seatsHeld: 2, limit: 4, cause: 'seat.allocated' }]);
    } finally {
      await service.stop();
      await receiver.stop();
    }
  });
});
