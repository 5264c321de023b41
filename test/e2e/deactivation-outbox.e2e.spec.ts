import { DeactivationOutbox, type OutboxRun } from '../../src/metabase/deactivation-outbox.service.js';
import { FakeMetabase } from '../support/fake-metabase.js';
import { Api, embedBody, seed, startService, TEST_SECRETS, type RunningService } from '../support/service.js';

const METABASE_API_KEY = 'mb_test_api_key_0123456789';

let metabase: FakeMetabase;

/** Waits until `condition` holds (the state of another process or a request in flight). */
async function until(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** An embedgate instance talking to the fake Metabase; `db` shares another instance's database. */
async function instance(env: Record<string, string>, db?: RunningService['db']) {
  const service = await startService(
    { SEAT_BUDGET: '100', METABASE_API_URL: metabase.url, METABASE_API_KEY, OUTBOX_INTERVAL_SECONDS: '3600', RETENTION_INTERVAL_MINUTES: '0', ...env },
    db,
  );
  if (!db) {
    // With an API key, SSO fails closed until Metabase's check proves a tenant isolated; this file tests
    // the outbox, not isolation (metabase-status.e2e.spec.ts does). Instances sharing the database read it at start.
    const off = await service.admin.put('/v1/metabase/fail-closed', { enabled: false, reason: 'deactivation outbox tests' });
    if (off.status !== 200) throw new Error(`fail-closed off: ${off.status} ${JSON.stringify(off.body)}`);
  }
  return { service, outbox: service.app.get(DeactivationOutbox) };
}

async function seedTenant(service: RunningService, slug: string): Promise<Api> {
  const apps = await seed(service.admin, {
    tenants: [{ slug, name: slug, kind: 'external', tier: 'drill', customerId: `${slug}-1` }],
    resources: [{ key: 'sales-overview', type: 'dashboard', metabaseId: 1, tenantParam: 'customer_id' }],
    apps: { host: { tenants: '*' } },
  });
  return apps.host;
}

/** An SSO embed, and the Metabase login it leads to (which provisions the Metabase user). */
async function ssoEmbed(app: Api, tenant: string, user: string) {
  const answer = await app.post('/v1/embeds', embedBody(tenant, user));
  expect(answer.body.mode).toBe('sso');
  return metabase.ssoLogin(answer.body.jwt);
}

const lookups = (email: string) => metabase.requestsFor('GET', '/api/user').filter((r) => r.includes(`query=${encodeURIComponent(email)}`)).length;

beforeAll(async () => {
  metabase = await new FakeMetabase(METABASE_API_KEY, TEST_SECRETS.METABASE_JWT_SHARED_SECRET).start();
});
afterAll(async () => {
  await metabase.stop();
});

describe('a user back on a seat is not deactivated by a job queued before', () => {
  let service: RunningService;
  let outbox: DeactivationOutbox;
  let app: Api;

  beforeAll(async () => {
    ({ service, outbox } = await instance({ METABASE_API_TIMEOUT_MS: '10000' }));
    app = await seedTenant(service, 'globex');
  });
  afterAll(async () => {
    await service.stop();
  });

  /** Downgrades and upgrades the tenant while Metabase hangs on the job's user lookup. */
  async function downgradeWhileMetabaseHangs(email: string) {
    const recover = metabase.hang();
    const down = await service.admin.put('/v1/tenants/globex/tier', { tier: 'view' });
    expect(down.body.releasedSeats).toBe(1);
    const before = lookups(email);
    const run = outbox.runOnce();
    await until(() => lookups(email) > before, 'the job to look the user up');
    expect((await service.admin.put('/v1/tenants/globex/tier', { tier: 'drill' })).status).toBe(200);
    return { run, recover };
  }

  it('without a seat taken again, the same job deactivates the user once Metabase recovers', async () => {
    const bob = await ssoEmbed(app, 'globex', 'bob');
    const { run, recover } = await downgradeWhileMetabaseHangs(bob.email);
    recover();
    expect(await run).toMatchObject({ claimed: 1, done: 1 });
    expect(metabase.requestsFor('DELETE', `/api/user/${bob.id}`)).toHaveLength(1);
    expect(bob.is_active).toBe(false);
  });

  it('Metabase hangs, the tenant is downgraded then upgraded, the user takes a seat again, Metabase recovers: the user stays active', async () => {
    const ann = await ssoEmbed(app, 'globex', 'ann');
    const { run, recover } = await downgradeWhileMetabaseHangs(ann.email);
    await ssoEmbed(app, 'globex', 'ann'); // a new seat: it cancels the job in flight
    const [job] = await service.db.query<{ status: string; outcome: string }>(`SELECT status::text, outcome FROM metabase_outbox WHERE email = $1`, [
      ann.email,
    ]);
    expect(job).toEqual({ status: 'skipped', outcome: 'cancelled: the user took a seat again' });
    recover();

    expect(await run).toMatchObject({ claimed: 1, cancelled: 1, done: 0 });
    expect(metabase.requestsFor('DELETE', `/api/user/${ann.id}`)).toEqual([]);
    expect(metabase.requests.filter((r) => r.startsWith('PUT'))).toEqual([]);
    expect(ann.is_active).toBe(true);
    expect(await outbox.runOnce()).toMatchObject({ claimed: 0, done: 0 });
    expect(await service.db.query(`SELECT 1 FROM seats WHERE email = $1`, [ann.email])).toHaveLength(1);
  });

  it('a job whose user took a seat before it was claimed is never claimed', async () => {
    const cat = await ssoEmbed(app, 'globex', 'cat');
    const [seat] = await service.db.query<{ id: string }>(`SELECT id FROM seats WHERE user_id = 'cat'`);
    await service.admin.delete(`/v1/seats/${seat.id}`);
    await ssoEmbed(app, 'globex', 'cat');
    expect(await outbox.runOnce()).toMatchObject({ claimed: 0, done: 0 });
    expect(metabase.requestsFor('DELETE', `/api/user/${cat.id}`)).toEqual([]);
    const jobs = await service.db.query<{ status: string }>(`SELECT status::text FROM metabase_outbox WHERE email = $1`, [cat.email]);
    expect(jobs).toEqual([{ status: 'skipped' }]);
  });
});

describe('two instances on one database never work on one job at once', () => {
  const TIMEOUT_MS = 1_500;
  let first: Awaited<ReturnType<typeof instance>>;
  let second: Awaited<ReturnType<typeof instance>>;
  let app: Api;

  beforeAll(async () => {
    first = await instance({ METABASE_API_TIMEOUT_MS: String(TIMEOUT_MS) });
    second = await instance({ METABASE_API_TIMEOUT_MS: String(TIMEOUT_MS) }, first.service.db);
    app = await seedTenant(first.service, 'initech');
  });
  afterAll(async () => {
    metabase.delayMs = 0;
    await second.service.stop();
    await first.service.stop();
  });
  const db = () => first.service.db;

  async function releaseAll(users: string[]) {
    for (const user of users) await ssoEmbed(app, 'initech', user);
    await first.service.admin.put('/v1/tenants/initech/tier', { tier: 'view' });
    await first.service.admin.put('/v1/tenants/initech/tier', { tier: 'drill' });
  }

  it('a worker whose lease ran out, and whose job another instance claimed, sends no DELETE', async () => {
    await releaseAll(['dan']);
    const dan = metabase.byEmail('dan@initech.example')!;
    const recover = metabase.hang();
    const slow = first.outbox.runOnce();
    await until(() => lookups(dan.email) === 1, 'the first instance to look the user up');
    // The first instance's lease runs out (a long pause, say): the job is due again.
    await db().query(`UPDATE metabase_outbox SET next_attempt_at = now() WHERE email = $1`, [dan.email]);
    const fast = second.outbox.runOnce();
    await until(
      async () => (await db().query(`SELECT 1 FROM metabase_outbox WHERE email = $1 AND attempts = 2`, [dan.email])).length === 1,
      'the second claim',
    );
    recover();
    const [slowRun, fastRun] = await Promise.all([slow, fast]);
    expect(slowRun).toMatchObject({ claimed: 1, takenOver: 1, done: 0 });
    expect(fastRun).toMatchObject({ claimed: 1, done: 1 });
    expect(metabase.requestsFor('DELETE', `/api/user/${dan.id}`)).toHaveLength(1);
    expect(dan.is_active).toBe(false);
  });

  it('with a slow Metabase and a run longer than a lease, each job sends one DELETE, never two at once', async () => {
    const users = Array.from({ length: 24 }, (_, i) => `bulk-${i}`);
    await releaseAll(users);
    const ids = users.map((user) => metabase.byEmail(`${user}@initech.example`)!.id);
    metabase.delayMs = 400; // each job takes two answers: ~20 jobs outlast the lease
    const leaseMs = first.outbox.leaseSeconds * 1000;
    expect(leaseMs).toBeLessThan(20 * 2 * metabase.delayMs);

    const drain = async (outbox: DeactivationOutbox) => {
      const runs: OutboxRun[] = [];
      for (;;) {
        const run = await outbox.runOnce();
        runs.push(run);
        const [{ left }] = await db().query<{ left: number }>(`SELECT count(*)::int AS left FROM metabase_outbox WHERE status = 'pending'`);
        if (left === 0) return runs;
        if (run.claimed === 0) await new Promise((resolve) => setTimeout(resolve, 200));
      }
    };
    const started = Date.now();
    const firstRuns = drain(first.outbox);
    // The second instance joins once the first has been at it for longer than a lease.
    await new Promise((resolve) => setTimeout(resolve, leaseMs + 500));
    const secondRuns = drain(second.outbox);
    const all = [...(await firstRuns), ...(await secondRuns)];
    const elapsedMs = Date.now() - started;

    expect(elapsedMs).toBeGreaterThan(leaseMs);
    expect(all.reduce((sum, run) => sum + run.takenOver, 0)).toBe(0);
    for (const id of ids) {
      expect(metabase.requestsFor('DELETE', `/api/user/${id}`)).toHaveLength(1);
      expect(metabase.mostInFlight.get(`DELETE /api/user/${id}`)).toBe(1);
    }
    const jobs = await db().query<{ status: string; attempts: number }>(`SELECT status::text, attempts FROM metabase_outbox WHERE email LIKE 'bulk-%'`);
    expect(jobs).toHaveLength(users.length);
    expect(jobs.every((job) => job.status === 'done' && job.attempts === 1)).toBe(true);
    // Both instances did some of the work.
    expect((await secondRuns).reduce((sum, run) => sum + run.done, 0)).toBeGreaterThan(0);
  }, 120_000);
});
