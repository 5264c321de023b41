import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { ROOT, startServiceProcess, type ServiceProcess } from '../support/process.js';
import { Api, embedBody, seed, startService, type HttpAnswer, type RunningService } from '../support/service.js';

/** The ledger's invariants, read straight from Postgres. */
async function checkLedger(service: RunningService) {
  const [totals] = await service.db.query<{ rows: number; license_held: number; tenants_held: number; budget: number }>(`
    SELECT (SELECT count(*)::int FROM seats) AS rows,
           (SELECT seats_held FROM license WHERE id = 1) AS license_held,
           (SELECT sum(seats_held)::int FROM tenants) AS tenants_held,
           (SELECT seat_budget FROM license WHERE id = 1) AS budget`);
  expect(totals.license_held).toBe(totals.rows);
  expect(totals.tenants_held).toBe(totals.rows);
  const perTenant = await service.db.query(`
    SELECT t.slug FROM tenants t LEFT JOIN seats s ON s.tenant_id = t.id
    GROUP BY t.id HAVING t.seats_held <> count(s.id)`);
  expect(perTenant).toEqual([]);
  // History: no allocation ever took the count above the budget or a tenant above its cap.
  const [history] = await service.db.query<{ allocations: number; releases: number; over_budget: number; max_held: number; max_budget: number }>(`
    SELECT count(*) FILTER (WHERE kind = 'allocated')::int AS allocations,
           count(*) FILTER (WHERE kind = 'released')::int AS releases,
           count(*) FILTER (WHERE kind = 'allocated' AND seats_held_after > seat_budget)::int AS over_budget,
           coalesce(max(seats_held_after), 0)::int AS max_held,
           coalesce(max(seat_budget), 0)::int AS max_budget
    FROM seat_events`);
  expect(history.over_budget).toBe(0);
  expect(history.allocations - history.releases).toBe(totals.rows);
  const overCap = await service.db.query(`
    SELECT e.id FROM seat_events e JOIN tenants t ON t.id = e.tenant_id
    WHERE e.kind = 'allocated' AND t.seat_cap IS NOT NULL AND e.tenant_held_after > t.seat_cap`);
  expect(overCap).toEqual([]);
  return { ...totals, ...history };
}

const TENANTS = ['t-0', 't-1', 't-2', 't-3'];

describe('several service processes, mixed concurrent work on one Postgres', () => {
  let service: RunningService;
  let instances: ServiceProcess[] = [];

  beforeAll(async () => {
    service = await startService({ SEAT_BUDGET: '30' });
    instances = await Promise.all([0, 1, 2].map(() => startServiceProcess({ DATABASE_URL: service.db.url, SEAT_BUDGET: '30', DATABASE_POOL_SIZE: '5' })));
  });
  afterAll(async () => {
    await Promise.all(instances.map((i) => i.stop()));
    await service.stop();
  });

  it('first embeds, releases, reclamation and budget changes interleaved: the ledger stays exact and never above budget', async () => {
    const apps = await seed(service.admin, {
      tenants: TENANTS.map((slug, i) => ({ slug, name: slug, kind: 'external', tier: 'drill', customerId: `c-${i}`, ...(i === 3 ? { seatCap: 5 } : {}) })),
      resources: [{ key: 'sales-overview', type: 'dashboard', metabaseId: 1, tenantParam: 'customer_id' }],
      apps: { host: { tenants: '*' } },
    });
    const adminKey = service.admin.key!;
    const appClients = instances.map((i) => new Api(i.baseUrl, apps.host.key));
    const adminClients = instances.map((i) => new Api(i.baseUrl, adminKey));
    const answers: HttpAnswer[] = [];
    const pick = <T>(list: T[]) => list[Math.floor(Math.random() * list.length)];
    const started = Date.now();

    const embeds = async () => {
      for (let wave = 0; wave < 10; wave++) {
        const batch = Array.from({ length: 30 }, (_, i) => {
          const tenant = TENANTS[(wave * 30 + i) % TENANTS.length];
          const user = `user-${Math.floor(Math.random() * 40)}`;
          return appClients[i % appClients.length].post('/v1/embeds', embedBody(tenant, user));
        });
        answers.push(...(await Promise.all(batch)));
      }
    };
    const releases = async () => {
      for (let i = 0; i < 20; i++) {
        const seats = (await service.admin.get('/v1/seats?limit=200')).body.items;
        if (seats.length) answers.push(await pick(adminClients).delete(`/v1/seats/${pick(seats as { id: string }[]).id}`));
        await new Promise((r) => setTimeout(r, 15));
      }
    };
    const reclaims = async () => {
      for (let i = 0; i < 5; i++) {
        await service.db.query(`UPDATE seats SET last_used_at = now() - interval '3 days' WHERE id IN (SELECT id FROM seats ORDER BY random() LIMIT 3)`);
        answers.push(await pick(adminClients).post('/v1/seats/reclaim', { idleDays: 2 }));
        await new Promise((r) => setTimeout(r, 40));
      }
    };
    const budgets = async () => {
      for (const body of [
        { seatBudget: 20, force: true },
        { seatBudget: 35 },
        { seatBudget: 10, force: true },
        { seatBudget: 40 },
        { seatBudget: 25, force: true },
      ]) {
        answers.push(await pick(adminClients).put('/v1/license', body));
        await new Promise((r) => setTimeout(r, 60));
      }
    };
    await Promise.all([embeds(), releases(), reclaims(), budgets()]);
    const seconds = (Date.now() - started) / 1000;

    const statuses = answers.reduce<Record<number, number>>((acc, a) => ({ ...acc, [a.status]: (acc[a.status] ?? 0) + 1 }), {});
    expect(answers.filter((a) => a.status >= 500)).toEqual([]);
    expect(
      Object.keys(statuses)
        .map(Number)
        .every((s) => [200, 201, 404, 409].includes(s)),
    ).toBe(true);
    const sso = answers.filter((a) => a.body?.mode === 'sso').length;
    expect(sso).toBeGreaterThan(0);
    const ledger = await checkLedger(service);
    const license = (await service.admin.get('/v1/license')).body;
    expect(license.seatsHeld).toBe(ledger.rows);

    const summary = { instances: instances.length, requests: answers.length, seconds, statuses, ssoAnswers: sso, ...ledger, finalBudget: license.seatBudget };
    mkdirSync(join(ROOT, 'test', 'artifacts'), { recursive: true });
    writeFileSync(join(ROOT, 'test', 'artifacts', 'multi-instance-ledger.json'), JSON.stringify(summary, null, 2));
    process.stderr.write(`multi-instance ledger run: ${JSON.stringify(summary)}\n`);
  });
});

describe('Postgres connections killed during a burst', () => {
  let service: RunningService;
  let app: Api;

  beforeAll(async () => {
    service = await startService({ SEAT_BUDGET: '60', DATABASE_POOL_SIZE: '10' });
    const apps = await seed(service.admin, {
      tenants: [{ slug: 'burst', name: 'Burst', kind: 'external', tier: 'drill', customerId: 'b-1' }],
      resources: [{ key: 'sales-overview', type: 'dashboard', metabaseId: 1, tenantParam: 'customer_id' }],
      apps: { host: { tenants: ['burst'] } },
    });
    app = apps.host;
  });
  afterAll(() => service.stop());

  it('requests in flight fail with 503 database_unavailable, the service recovers by itself, and the ledger is consistent', async () => {
    // Hold the license row, so that the burst's first seats wait in Postgres with their statements in
    // flight; kill every connection of the service while they wait; then let go. (Kills at fixed
    // times would mostly hit idle connections, now that a seat is one short statement.)
    const locker = new pg.Client({ connectionString: service.db.url });
    await locker.connect();
    await locker.query('BEGIN');
    await locker.query('SELECT 1 FROM license WHERE id = 1 FOR UPDATE');
    const lockerPid = (await locker.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0].pid;
    const burstAnswers = Promise.all(Array.from({ length: 120 }, (_, i) => app.post('/v1/embeds', embedBody('burst', `b-${i % 80}`))));
    const waiting = async () =>
      (await service.db.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`))[0]
        .n as number;
    for (let i = 0; i < 200 && (await waiting()) === 0; i++) await new Promise((r) => setTimeout(r, 10));
    await service.db.query(
      'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND pid <> $1',
      [lockerPid],
    );
    await locker.query('COMMIT');
    await locker.end();
    const burst = await burstAnswers;
    const statuses = burst.reduce<Record<number, number>>((acc, a) => ({ ...acc, [a.status]: (acc[a.status] ?? 0) + 1 }), {});
    expect(
      Object.keys(statuses)
        .map(Number)
        .every((s) => s === 201 || s === 503),
    ).toBe(true);
    expect(statuses[503]).toBeGreaterThan(0);
    for (const failed of burst.filter((a) => a.status === 503)) {
      expect(failed.body.error.code).toBe('database_unavailable');
    }

    // It recovers without a restart.
    let ready = await service.anonymous.get('/health/ready');
    for (let i = 0; i < 50 && ready.status !== 200; i++) {
      await new Promise((r) => setTimeout(r, 100));
      ready = await service.anonymous.get('/health/ready');
    }
    expect(ready.status).toBe(200);
    const after = await Promise.all(Array.from({ length: 20 }, (_, i) => app.post('/v1/embeds', embedBody('burst', `after-${i}`))));
    expect(after.map((a) => a.status)).toEqual(Array(20).fill(201));
    const ledger = await checkLedger(service);
    process.stderr.write(`burst with killed connections: ${JSON.stringify({ statuses, seatsHeld: ledger.rows })}\n`);
  });
});
