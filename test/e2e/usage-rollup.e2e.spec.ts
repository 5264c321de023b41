import pg from 'pg';
import { RetentionService } from '../../src/retention/retention.service.js';
import { UsageRepository } from '../../src/usage/usage.repository.js';
import { UsageRollup } from '../../src/usage/usage-rollup.service.js';
import { startServiceProcess, type ServiceProcess } from '../support/process.js';
import { Api, embedBody, seed, startService, type RunningService } from '../support/service.js';

/**
 * The embed usage roll-up: counted in memory on each instance, flushed as batches (one transaction
 * each, with the batch's id) that add to the day's rows and insert distinct viewers once. Counts are
 * checked against what the HTTP answers said, under concurrency, across two instances, and across
 * failed flushes and restarts.
 */

const users = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);
const today = () => new Date().toISOString().slice(0, 10);

let service: RunningService;
let app: Api;
let finance: Api;

/** The usage report's rows for today, as {tenant/resource: [guest, sso, denied, viewers]}, and per tenant. */
async function usageToday() {
  const answer = await finance.get(`/v1/reports/usage?from=${today()}&to=${today()}`);
  expect(answer.status).toBe(200);
  return {
    rows: Object.fromEntries(answer.body.rows.map((r: any) => [`${r.tenant}/${r.resource}`, [r.guest, r.sso, r.denied, r.viewers]])),
    tenants: Object.fromEntries(answer.body.tenants.map((t: any) => [t.tenant, [t.guest, t.sso, t.denied, t.viewers]])),
    totals: answer.body.totals,
  };
}

/** Empties the roll-up's tables between tests (each test counts from zero). */
async function clearUsage() {
  await service.db.query('TRUNCATE usage_daily, usage_viewers, usage_batches');
}

beforeAll(async () => {
  // Flushed only when a test says so (or at shutdown): the tests decide when batches are written.
  service = await startService({ SEAT_BUDGET: '100', USAGE_FLUSH_SECONDS: '3600', RATE_LIMIT_EMBEDS_PER_MINUTE: '100000' });
  const apps = await seed(service.admin, {
    tenants: [
      { slug: 'acme', name: 'Acme', kind: 'external', tier: 'view', customerId: 'a' },
      { slug: 'globex', name: 'Globex', kind: 'external', tier: 'drill', customerId: 'g', seatCap: 5, onSeatsExhausted: 'deny' },
      { slug: 'hidden', name: 'Out of scope', kind: 'external', tier: 'view', customerId: 'h' },
    ],
    resources: [
      { key: 'sales-overview', type: 'dashboard', metabaseId: 1, tenantParam: 'customer_id', guest: true },
      { key: 'pipeline', type: 'dashboard', metabaseId: 2, tenantParam: 'customer_id', guest: true },
    ],
    apps: { host: { tenants: ['acme', 'globex'] } },
  });
  app = apps.host;
  finance = app.as(await service.createKey('finance'));
});
afterAll(() => service.stop());

describe('the usage roll-up under concurrency (one instance)', () => {
  beforeEach(clearUsage);

  it('counts every decided request exactly, by mode, with distinct viewers, while flushes run among the requests', async () => {
    const rollup = service.app.get(UsageRollup);
    const requests = [
      // acme (view tier): 50 users, 3 embeds each, over two resources → guest.
      ...users('a', 50).flatMap((user) => [embedBody('acme', user), embedBody('acme', user, { resource: 'pipeline' }), embedBody('acme', user)]),
      // globex (drill, cap 5, deny): 20 users twice each → 5 of them SSO, the others 409.
      ...users('g', 20).flatMap((user) => [embedBody('globex', user), embedBody('globex', user)]),
      // Not counted: a tenant outside the app's scope, and an unknown one (no tenant to count for).
      embedBody('hidden', 'h-1'),
      embedBody('nobody', 'n-1'),
    ];
    const flushes: Promise<unknown>[] = [];
    const answers = await Promise.all(
      requests.map(async (body, i) => {
        if (i % 40 === 0) flushes.push(rollup.flush());
        return { tenant: body.tenant, resource: body.resource, user: body.user.id, answer: await app.post('/v1/embeds', body) };
      }),
    );
    await Promise.all(flushes);
    await rollup.flush();

    const globex = answers.filter((a) => a.tenant === 'globex');
    const sso = globex.filter((a) => a.answer.status === 201 && a.answer.body.mode === 'sso');
    const denied = globex.filter((a) => a.answer.status === 409);
    expect(sso.length + denied.length).toBe(40);
    expect(new Set(sso.map((a) => a.user)).size).toBe(5);
    expect(answers.filter((a) => a.tenant === 'acme').every((a) => a.answer.status === 201 && a.answer.body.mode === 'guest')).toBe(true);
    expect(answers.filter((a) => a.tenant === 'hidden' || a.tenant === 'nobody').map((a) => a.answer.status)).toEqual([404, 404]);

    const usage = await usageToday();
    expect(usage.rows).toEqual({
      'acme/pipeline': [50, 0, 0, 50],
      'acme/sales-overview': [100, 0, 0, 50],
      'globex/sales-overview': [0, sso.length, denied.length, 5],
    });
    expect(usage.tenants).toEqual({ acme: [150, 0, 0, 50], globex: [0, sso.length, denied.length, 5] });
    expect(usage.totals).toEqual({ guest: 150, sso: sso.length, denied: denied.length, viewers: 55 });
    expect(rollup.buffered()).toEqual({ embeds: 0, viewers: 0 });
  });

  it('the report narrows to one tenant, answers CSV, and refuses an unknown tenant or a bad range', async () => {
    await app.post('/v1/embeds', embedBody('acme', 'csv-user'));
    await service.app.get(UsageRollup).flush();
    const one = await finance.get(`/v1/reports/usage?tenant=acme&from=${today()}&to=${today()}`);
    expect(one.body).toMatchObject({ tenant: 'acme', firstDay: today(), totals: { guest: 1, sso: 0, denied: 0, viewers: 1 } });
    const csv = await finance.get(`/v1/reports/usage?tenant=acme&from=${today()}&to=${today()}&format=csv`);
    expect(csv.headers.get('content-type')).toMatch(/^text\/csv/);
    expect(csv.body.split('\r\n').slice(0, 2)).toEqual(['date,tenant,resource,guest,sso,denied,viewers', `${today()},acme,sales-overview,1,0,0,1`]);
    expect((await finance.get('/v1/reports/usage?tenant=nobody')).body.error.code).toBe('tenant_not_found');
    expect((await finance.get('/v1/reports/usage?tenant=Not_A_Slug')).status).toBe(400);
    expect((await finance.get('/v1/reports/usage?from=2025-01-01&to=2026-03-01')).body.error.code).toBe('range_too_large');
    expect((await app.get('/v1/reports/usage')).status).toBe(403);
  });
});

describe('the usage roll-up across two instances on one database', () => {
  beforeEach(clearUsage);

  it('the same viewers through both instances, flushed at the same time: counts add up, viewers are counted once', async () => {
    const second = await startService({ USAGE_FLUSH_SECONDS: '3600', RATE_LIMIT_EMBEDS_PER_MINUTE: '100000' }, service.db);
    try {
      const both = [app, new Api(second.baseUrl, app.key)];
      const answers = await Promise.all(users('two', 40).flatMap((user) => both.map((client) => client.post('/v1/embeds', embedBody('acme', user)))));
      expect(answers.every((a) => a.status === 201)).toBe(true);
      const [one, two] = await Promise.all([service.app.get(UsageRollup).flush(), second.app.get(UsageRollup).flush()]);
      expect(one).toMatchObject({ applied: 1, embeds: 40, viewers: 40 });
      expect(two).toMatchObject({ applied: 1, embeds: 40, viewers: 40 });
      expect((await usageToday()).rows).toEqual({ 'acme/sales-overview': [80, 0, 0, 40] });
      const batches = await service.db.query<{ instance: string; embeds: number }>('SELECT instance, embeds FROM usage_batches ORDER BY instance');
      expect(batches.map((b) => b.embeds)).toEqual([40, 40]);
      expect(new Set(batches.map((b) => b.instance)).size).toBe(2);
    } finally {
      await second.stop();
    }
  });
});

describe('failed flushes: each batch is applied exactly once', () => {
  beforeEach(clearUsage);

  it('a flush that fails mid-transaction is rolled back entirely; the retry applies the same batch once', async () => {
    const rollup = service.app.get(UsageRollup);
    for (const user of users('f', 10)) await app.post('/v1/embeds', embedBody('acme', user));
    // A fault in the flush's last statement: the counts were already added in the same transaction.
    await service.db.query(`CREATE FUNCTION usage_fault() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'injected fault'; END $$`);
    await service.db.query(`CREATE TRIGGER usage_fault BEFORE INSERT ON usage_viewers FOR EACH STATEMENT EXECUTE FUNCTION usage_fault()`);
    try {
      await expect(rollup.flush()).rejects.toThrow(/injected fault/);
      expect(await service.db.query('SELECT * FROM usage_daily')).toEqual([]);
      expect(await service.db.query('SELECT * FROM usage_batches')).toEqual([]);
      expect(rollup.buffered()).toEqual({ embeds: 10, viewers: 10 });
    } finally {
      await service.db.query('DROP TRIGGER usage_fault ON usage_viewers');
      await service.db.query('DROP FUNCTION usage_fault()');
    }
    // More embeds meanwhile: they wait in the buffer for the next batch.
    for (const user of users('f', 3)) await app.post('/v1/embeds', embedBody('acme', user));
    expect(await rollup.flush()).toEqual({ applied: 2, duplicates: 0, embeds: 13, viewers: 13 });
    expect((await usageToday()).rows).toEqual({ 'acme/sales-overview': [13, 0, 0, 10] });
  });

  it('a flush whose commit went through but whose answer was lost is found by its batch id on the retry, and not applied twice', async () => {
    const rollup = service.app.get(UsageRollup);
    const repository = service.app.get(UsageRepository);
    for (const user of users('l', 7)) await app.post('/v1/embeds', embedBody('acme', user));
    const applyBatch = repository.applyBatch;
    const ids: string[] = [];
    repository.applyBatch = async (batch) => {
      ids.push(batch.id);
      await applyBatch.call(repository, batch);
      throw new Error('connection lost after COMMIT');
    };
    try {
      await expect(rollup.flush()).rejects.toThrow(/connection lost/);
    } finally {
      repository.applyBatch = async (batch) => {
        ids.push(batch.id);
        return applyBatch.call(repository, batch);
      };
    }
    expect(await rollup.flush()).toEqual({ applied: 0, duplicates: 1, embeds: 0, viewers: 0 });
    repository.applyBatch = applyBatch;
    expect(ids).toHaveLength(2);
    expect(ids[1]).toBe(ids[0]);
    expect((await usageToday()).rows).toEqual({ 'acme/sales-overview': [7, 0, 0, 7] });
    expect(await service.db.query('SELECT count(*)::int AS n FROM usage_batches')).toEqual([{ n: 1 }]);
  });
});

describe('retention', () => {
  beforeEach(clearUsage);

  it('purges the days older than USAGE_RETENTION_DAYS (default 400), and the record of flushes after a day', async () => {
    const [{ id }] = await service.db.query<{ id: string }>(`SELECT id FROM tenants WHERE slug = 'acme'`);
    for (const age of [401, 399]) {
      await service.db.query(`INSERT INTO usage_daily (day, tenant_id, resource_key, guest) VALUES (current_date - $1::int, $2, 'sales-overview', 1)`, [
        age,
        id,
      ]);
      await service.db.query(`INSERT INTO usage_viewers (day, tenant_id, resource_key, user_id) VALUES (current_date - $1::int, $2, 'sales-overview', 'u')`, [
        age,
        id,
      ]);
    }
    await service.db.query(
      `INSERT INTO usage_batches (id, instance, embeds, viewers, flushed_at) VALUES (gen_random_uuid(), 'old', 1, 1, now() - interval '25 hours'), (gen_random_uuid(), 'new', 1, 1, now())`,
    );
    expect(await service.app.get(RetentionService).purgeUsage()).toEqual({ usage_daily: 1, usage_viewers: 1, usage_batches: 1 });
    expect(await service.db.query(`SELECT (current_date - day) AS age FROM usage_daily`)).toEqual([{ age: 399 }]);
    expect(await service.db.query(`SELECT (current_date - day) AS age FROM usage_viewers`)).toEqual([{ age: 399 }]);
    expect(await service.db.query(`SELECT instance FROM usage_batches`)).toEqual([{ instance: 'new' }]);
  });
});

describe('restarts', () => {
  beforeEach(clearUsage);
  const processes: ServiceProcess[] = [];
  afterAll(async () => {
    await Promise.all(processes.filter((p) => p.child.exitCode === null && p.child.signalCode === null).map((p) => p.stop('SIGKILL')));
  });
  const start = async () => {
    // The database is migrated already (a copy of the template): no migration at start.
    const instance = await startServiceProcess({ DATABASE_URL: service.db.url, USAGE_FLUSH_SECONDS: '1', DATABASE_POOL_SIZE: '4', MIGRATE_ON_START: 'false' });
    processes.push(instance);
    return { instance, api: new Api(instance.baseUrl, app.key) };
  };
  const embedMany = async (api: Api, prefix: string, n: number) => {
    const answers = await Promise.all(users(prefix, n).map((user) => api.post('/v1/embeds', embedBody('acme', user))));
    expect(answers.every((a) => a.status === 201)).toBe(true);
  };

  it('a process killed in the middle of its flush leaves nothing half-written and counts nothing twice; the next ones count exactly', async () => {
    const first = await start();
    // Hold the batches table: the process's next flush waits inside its transaction.
    const blocker = new pg.Client({ connectionString: service.db.url });
    await blocker.connect();
    try {
      await blocker.query('BEGIN');
      await blocker.query('LOCK TABLE usage_batches IN ACCESS EXCLUSIVE MODE');
      await embedMany(first.api, 'k', 25);
      let waiting = 0;
      for (let i = 0; i < 100 && !waiting; i++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        [{ n: waiting }] = await service.db.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%INSERT INTO usage_batches%'`,
        );
      }
      expect(waiting).toBe(1);
      expect(await first.instance.stop('SIGKILL')).toBeNull();
      await blocker.query('ROLLBACK');
    } finally {
      await blocker.end();
    }
    // The killed process's transaction is rolled back once its backend notices the connection is gone.
    for (let i = 0; i < 50; i++) {
      const [{ n }] = await service.db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND query LIKE '%INSERT INTO usage_batches%' AND state <> 'idle'`,
      );
      if (n === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(await service.db.query('SELECT * FROM usage_batches')).toEqual([]);
    expect(await service.db.query('SELECT * FROM usage_daily')).toEqual([]);

    // A new process: what it counts is written once, by its schedule or at its graceful stop.
    const second = await start();
    await embedMany(second.api, 'k', 25);
    expect(await second.instance.stop('SIGTERM')).toBe(0);
    expect((await usageToday()).rows).toEqual({ 'acme/sales-overview': [25, 0, 0, 25] });

    const third = await start();
    await embedMany(third.api, 'm', 10);
    let rows: Record<string, number[]> = {};
    for (let i = 0; i < 50; i++) {
      rows = (await usageToday()).rows;
      if (rows['acme/sales-overview']?.[0] === 35) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(rows).toEqual({ 'acme/sales-overview': [35, 0, 0, 35] });
    expect(await third.instance.stop('SIGTERM')).toBe(0);
    expect((await usageToday()).rows).toEqual({ 'acme/sales-overview': [35, 0, 0, 35] });
  }, 240_000);

  it('a flush at shutdown that the database does not answer gives up in 2 s: the process still exits 0, in time, having written nothing', async () => {
    const { instance, api } = await start();
    const blocker = new pg.Client({ connectionString: service.db.url });
    await blocker.connect();
    try {
      await blocker.query('BEGIN');
      await blocker.query('LOCK TABLE usage_batches IN ACCESS EXCLUSIVE MODE');
      await embedMany(api, 's', 5);
      const signalled = Date.now();
      expect(await instance.stop('SIGTERM')).toBe(0);
      expect(Date.now() - signalled).toBeLessThan(9_000);
      expect(instance.output.join('\n')).toMatch(/usage not flushed at shutdown \(5 embeds lost\)/);
    } finally {
      await blocker.query('ROLLBACK');
      await blocker.end();
    }
    expect(await service.db.query('SELECT * FROM usage_batches')).toEqual([]);
  }, 120_000);
});
