import { Api, embedBody, seed, startService, type RunningService } from '../support/service.js';
import { runCli, startServiceProcess, type ServiceProcess } from '../support/process.js';

/** Fires all requests at once and counts the answers by mode or status. */
async function burst(app: Api, tenant: string, users: string[]) {
  const answers = await Promise.all(users.map((user) => app.post('/v1/embeds', embedBody(tenant, user))));
  const count = (predicate: (a: (typeof answers)[number]) => boolean) => answers.filter(predicate).length;
  return {
    answers,
    sso: count((a) => a.status === 201 && a.body.mode === 'sso'),
    guest: count((a) => a.status === 201 && a.body.mode === 'guest'),
    exhausted: count((a) => a.status === 409 && a.body.error.code === 'seats_exhausted'),
    other: answers.filter((a) => a.status !== 201 && a.status !== 409).map((a) => [a.status, a.body]),
  };
}

const users = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);

async function ledgerState(service: RunningService) {
  const [row] = await service.db.query<{ seats: number; license_held: number; budget: number; tenants_held: number; max_after: number | null }>(`
    SELECT (SELECT count(*)::int FROM seats) AS seats,
           (SELECT seats_held FROM license WHERE id = 1) AS license_held,
           (SELECT seat_budget FROM license WHERE id = 1) AS budget,
           (SELECT coalesce(sum(seats_held), 0)::int FROM tenants) AS tenants_held,
           (SELECT max(seats_held_after) FROM seat_events) AS max_after`);
  return row;
}

describe('the seat ledger under concurrent first SSO embeds (one instance)', () => {
  let service: RunningService;
  let app: Api;

  beforeAll(async () => {
    service = await startService({ SEAT_BUDGET: '10', DATABASE_POOL_SIZE: '10' });
    const apps = await seed(service.admin, {
      tenants: [
        { slug: 'drill-guest', name: 'Falls back to guest', kind: 'external', tier: 'drill', customerId: 'c-1' },
        { slug: 'drill-deny', name: 'Denies', kind: 'external', tier: 'drill', customerId: 'c-2', onSeatsExhausted: 'deny' },
        { slug: 'drill-capped', name: 'Capped', kind: 'external', tier: 'drill', customerId: 'c-3', seatCap: 4 },
      ],
      resources: [{ key: 'sales-overview', type: 'dashboard', metabaseId: 1, tenantParam: 'customer_id' }],
      apps: { host: { tenants: '*' } },
    });
    app = apps.host;
  });
  afterAll(() => service.stop());

  it('100 users at once, budget 10: exactly 10 seats held and 90 guest embeds', async () => {
    const result = await burst(app, 'drill-guest', users('g', 100));
    expect(result.other).toEqual([]);
    expect(result.sso).toBe(10);
    expect(result.guest).toBe(90);
    const state = await ledgerState(service);
    expect(state).toMatchObject({ seats: 10, license_held: 10, tenants_held: 10, max_after: 10 });
    for (const answer of result.answers.filter((a) => a.body.mode === 'guest')) {
      expect(answer.body.decision.reasons.join(' ')).toMatch(/seat budget is exhausted/);
    }
  });

  it('a tier downgrade releases them all at once, and they are free for the next users', async () => {
    const downgrade = await service.admin.put('/v1/tenants/drill-guest/tier', { tier: 'view', reason: 'test' });
    expect(downgrade.status).toBe(200);
    expect(downgrade.body.releasedSeats).toBe(10);
    expect(downgrade.body.tenant).toMatchObject({ tier: 'view', seatsHeld: 0 });
    expect(await ledgerState(service)).toMatchObject({ seats: 0, license_held: 0, tenants_held: 0 });
  });

  it('100 users at once with onSeatsExhausted deny: 10 SSO and 90 answers of 409 seats_exhausted', async () => {
    const result = await burst(app, 'drill-deny', users('d', 100));
    expect(result.other).toEqual([]);
    expect(result.sso).toBe(10);
    expect(result.exhausted).toBe(90);
    expect(await ledgerState(service)).toMatchObject({ seats: 10, license_held: 10, tenants_held: 10 });
    await service.admin.put('/v1/tenants/drill-deny/tier', { tier: 'view' });
  });

  it('a seatCap below the budget holds too: cap 4, budget 10, 100 users at once', async () => {
    const result = await burst(app, 'drill-capped', users('c', 100));
    expect(result.other).toEqual([]);
    expect(result.sso).toBe(4);
    expect(result.guest).toBe(96);
    for (const answer of result.answers.filter((a) => a.body.mode === 'guest')) {
      expect(answer.body.decision.reasons.join(' ')).toMatch(/seat cap/);
    }
    const state = await ledgerState(service);
    expect(state).toMatchObject({ seats: 4, license_held: 4 });
  });

  it('five simultaneous first embeds of one new user: one seat, one answer says new', async () => {
    await service.admin.patch('/v1/tenants/drill-capped', { seatCap: 10 });
    const answers = await Promise.all(Array.from({ length: 5 }, () => app.post('/v1/embeds', embedBody('drill-capped', 'same-user'))));
    expect(answers.map((a) => a.status)).toEqual([201, 201, 201, 201, 201]);
    expect(answers.every((a) => a.body.mode === 'sso')).toBe(true);
    expect(new Set(answers.map((a) => a.body.seat.id)).size).toBe(1);
    expect(answers.filter((a) => a.body.seat.new).length).toBe(1);
    expect(await service.db.query('SELECT 1 FROM seats WHERE user_id = $1', ['same-user'])).toHaveLength(1);
  });
});

describe('the seat ledger with two service processes on one Postgres', () => {
  let service: RunningService;
  const instances: ServiceProcess[] = [];

  beforeAll(async () => {
    service = await startService({ SEAT_BUDGET: '10' });
    // Started together: both apply pending migrations at boot, one after the other (advisory lock).
    instances.push(...(await Promise.all([0, 1].map(() => startServiceProcess({ DATABASE_URL: service.db.url, SEAT_BUDGET: '10', DATABASE_POOL_SIZE: '8' })))));
  });
  afterAll(async () => {
    await Promise.all(instances.map((i) => i.stop()));
    await service.stop();
  });

  it('100 first embeds split across both instances: exactly the budget held, never above it', async () => {
    const apps = await seed(service.admin, {
      tenants: [{ slug: 'multi', name: 'Multi', kind: 'external', tier: 'drill', customerId: 'm-1' }],
      resources: [{ key: 'sales-overview', type: 'dashboard', metabaseId: 1, tenantParam: 'customer_id' }],
      apps: { host: { tenants: ['multi'] } },
    });
    const key = apps.host.key!;
    const clients = instances.map((i) => new Api(i.baseUrl, key));
    const answers = await Promise.all(users('m', 100).map((user, i) => clients[i % 2].post('/v1/embeds', embedBody('multi', user))));
    expect(answers.filter((a) => a.status !== 201)).toEqual([]);
    expect(answers.filter((a) => a.body.mode === 'sso')).toHaveLength(10);
    expect(answers.filter((a) => a.body.mode === 'guest')).toHaveLength(90);
    expect(await ledgerState(service)).toMatchObject({ seats: 10, license_held: 10, tenants_held: 10, max_after: 10 });
  });

  it('an admin key made by the CLI works against every instance', async () => {
    const cli = await runCli(['keys', 'create', '--role', 'admin', '--name', 'multi-admin'], { DATABASE_URL: service.db.url });
    expect(cli.status).toBe(0);
    const key = cli.stdout.trim();
    for (const instance of instances) {
      const license = await new Api(instance.baseUrl, key).get('/v1/license');
      expect(license.status).toBe(200);
      expect(license.body).toMatchObject({ seatBudget: 10, seatsHeld: 10, seatsAvailable: 0 });
    }
  });
});
