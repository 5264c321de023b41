import type { ChildProcess } from 'node:child_process';
import pg from 'pg';
import { descendantPids, isRunning, startServiceProcess, type ServiceProcess } from '../support/process.js';
import { Api, embedBody, seed, startService, type RunningService } from '../support/service.js';

/** What the service promises: gone this soon after SIGTERM or SIGINT, whatever holds it. */
const SHUTDOWN_DEADLINE_MS = 10_000;
const SSO_TENANT = 'globex';
const GUEST_TENANT = 'acme';

let seeding: RunningService;
let appKey: string;

beforeAll(async () => {
  // The database, and the tenants, resource and app key, made through the API of an in-process service.
  seeding = await startService({ SEAT_BUDGET: '1000' });
  const apps = await seed(seeding.admin, {
    tenants: [
      { slug: SSO_TENANT, name: 'Globex', kind: 'external', tier: 'drill', customerId: 'globex-002' },
      { slug: GUEST_TENANT, name: 'Acme', kind: 'external', tier: 'view', customerId: 'acme-001' },
    ],
    resources: [{ key: 'sales-overview', type: 'dashboard', metabaseId: 42, tenantParam: 'customer_id', guest: true }],
    apps: { host: { tenants: [SSO_TENANT, GUEST_TENANT] } },
  });
  appKey = apps.host.key!;
}, 60_000);
afterAll(() => seeding.stop());

const startOnTestDatabase = (env: Record<string, string> = {}, launcher: 'node' | 'npm' = 'node') =>
  startServiceProcess({ DATABASE_URL: seeding.db.url, MIGRATE_ON_START: 'false', SEAT_BUDGET: '1000', DATABASE_POOL_SIZE: '10', ...env }, 60_000, { launcher });

/** Sends `signal` and waits for the exit; a process still there long after the deadline is killed and reported. */
async function signalAndTimeExit(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<{ code: number | null; ms: number }> {
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const sentAt = Date.now();
  child.kill(signal);
  return waitForExit(child, exited, sentAt);
}

async function waitForExit(child: ChildProcess, exited: Promise<number | null>, since: number) {
  const killer = setTimeout(() => child.kill('SIGKILL'), SHUTDOWN_DEADLINE_MS + 5_000);
  const code = await exited;
  clearTimeout(killer);
  return { code, ms: Date.now() - since };
}

/** The parent stops reading standard output: what the service logs fills the pipe (8 KiB access lines, ~1.2 MB in all). */
async function fillStdoutPipe(service: ServiceProcess) {
  service.child.stdout!.pause();
  const api = new Api(service.baseUrl);
  for (let batch = 0; batch < 15; batch++) {
    // No such route; the access line keeps the query's names.
    const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => api.get(`/fill?${batch}-${i}-${'x'.repeat(8_000)}=1`)));
    for (const answer of answers) expect(answer.status).toBe(404);
  }
}

type Outcome = { kind: 'sso' | 'guest'; user: string; sentAt: number; doneAt: number; status?: number; code?: string; network?: string };

async function send(api: Api, kind: Outcome['kind'], user: string): Promise<Outcome> {
  const sentAt = Date.now();
  try {
    const answer = await api.post('/v1/embeds', embedBody(kind === 'sso' ? SSO_TENANT : GUEST_TENANT, user));
    return { kind, user, sentAt, doneAt: Date.now(), status: answer.status, code: answer.body?.error?.code };
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause;
    return { kind, user, sentAt, doneAt: Date.now(), network: cause?.code ?? String(error) };
  }
}

const stopsTheStream = (o: Outcome) => o.network !== undefined || o.code === 'shutting_down';

describe('SIGTERM under load, standard output piped to a parent that stopped reading, and went away during the shutdown', () => {
  it('answers every request in flight, refuses the later ones in the contract’s shape, leaves no seat without a 2xx, and exits in time', async () => {
    const service = await startOnTestDatabase();
    const api = new Api(service.baseUrl, appKey);
    const licenseLock = new pg.Client({ connectionString: seeding.db.url });
    await licenseLock.connect();
    try {
      await fillStdoutPipe(service);

      // The stream: workers sending first SSO embeds (a new seat each) and guest embeds, until refused.
      const outcomes: Outcome[] = [];
      let stopped = false;
      const worker = async (name: string, kinds: Outcome['kind'][]) => {
        for (let i = 0; !stopped; i++) {
          const outcome = await send(api, kinds[i % kinds.length], `load-${name}-${i}`);
          outcomes.push(outcome);
          if (stopsTheStream(outcome)) return;
        }
      };
      const workers = [
        ...Array.from({ length: 6 }, (_, w) => worker(`s${w}`, ['guest', 'sso'])),
        ...Array.from({ length: 4 }, (_, w) => worker(`g${w}`, ['guest'])),
      ];
      await new Promise((r) => setTimeout(r, 800));

      // New seats now wait on the license row: their requests are in flight when the signal comes.
      await licenseLock.query('BEGIN');
      await licenseLock.query('SELECT seats_held FROM license WHERE id = 1 FOR UPDATE');
      await new Promise((r) => setTimeout(r, 700));
      const exited = new Promise<number | null>((resolve) => service.child.once('exit', (code) => resolve(code)));
      const signalledAt = Date.now();
      service.child.kill('SIGTERM');
      await new Promise((r) => setTimeout(r, 1_000));
      await licenseLock.query('COMMIT');
      // The parent goes away while the service finishes and writes its last lines.
      await new Promise((r) => setTimeout(r, 300));
      service.child.stdout!.destroy();

      const { code, ms } = await waitForExit(service.child, exited, signalledAt);
      stopped = true;
      await Promise.all(workers);

      // Sent well before the signal (a busy machine may not have read the last ones): answered before it, or in flight at it.
      const sentBefore = outcomes.filter((o) => o.sentAt < signalledAt - 300);
      const inFlightSso = sentBefore.filter((o) => o.kind === 'sso' && o.doneAt > signalledAt);
      const summary = {
        requests: outcomes.length,
        ssoInFlightAtSignal: inFlightSso.length,
        answered201: outcomes.filter((o) => o.status === 201).length,
        shuttingDown503: outcomes.filter((o) => o.code === 'shutting_down').length,
        refused: outcomes.filter((o) => o.network === 'ECONNREFUSED').length,
        shutdownMs: ms,
        exitCode: code,
      };
      process.stderr.write(`shutdown under load: ${JSON.stringify(summary)}\n`);

      expect(code).toBe(0);
      expect(ms).toBeLessThanOrEqual(SHUTDOWN_DEADLINE_MS);
      // Every answer is a normal one, or the 503 shutting_down; every failure to connect a refusal.
      const unexpected = outcomes.filter((o) => !(o.status === 201 || (o.status === 503 && o.code === 'shutting_down') || o.network === 'ECONNREFUSED'));
      expect(unexpected).toEqual([]);
      // Those sent before the signal got their normal answer; among them, the SSO embeds that were
      // waiting on the license row at the signal, finished with the database still open.
      expect(sentBefore.filter((o) => o.status !== 201)).toEqual([]);
      expect(inFlightSso.length).toBeGreaterThanOrEqual(3);
      // Requests came after the signal, and were refused.
      expect(summary.shuttingDown503 + summary.refused).toBeGreaterThan(0);
      // Seats are held by exactly the users whose SSO embed was answered 201.
      const seated = await seeding.db.query<{ user_id: string }>(
        `SELECT s.user_id FROM seats s JOIN tenants t ON t.id = s.tenant_id WHERE t.slug = $1 AND s.user_id LIKE 'load-%'`,
        [SSO_TENANT],
      );
      const answered = outcomes.filter((o) => o.kind === 'sso' && o.status === 201).map((o) => o.user);
      expect(seated.map((r) => r.user_id).sort()).toEqual(answered.sort());
    } finally {
      await licenseLock.end().catch(() => undefined);
      if (service.child.exitCode === null) service.child.kill('SIGKILL');
    }
  }, 90_000);
});

describe('SIGTERM and SIGINT when idle', () => {
  it('node dist/main.js exits 0 at once on SIGTERM, its last log lines written', async () => {
    const service = await startOnTestDatabase();
    const { code, ms } = await signalAndTimeExit(service.child, 'SIGTERM');
    process.stderr.write(`idle shutdown (node dist/main.js, SIGTERM): ${ms} ms\n`);
    expect(code).toBe(0);
    expect(ms).toBeLessThan(SHUTDOWN_DEADLINE_MS);
    // Once: the test harness records each line of the process's output once, whole.
    await service.closed;
    expect(service.output.filter((line) => line.includes('"msg":"shut down"'))).toHaveLength(1);
    expect(service.output.filter((line) => line.includes('embedgate is listening'))).toHaveLength(1);
  }, 60_000);

  it('npm run start:prod forwards SIGINT to the service, which exits 0, leaving no process behind', async () => {
    const service = await startOnTestDatabase({}, 'npm');
    const tree = descendantPids(service.child.pid!);
    expect(tree.length).toBeGreaterThan(0);
    const { code, ms } = await signalAndTimeExit(service.child, 'SIGINT');
    process.stderr.write(`idle shutdown (npm run start:prod, SIGINT): ${ms} ms\n`);
    expect(code).toBe(0);
    expect(ms).toBeLessThan(SHUTDOWN_DEADLINE_MS);
    expect(tree.filter(isRunning)).toEqual([]);
  }, 60_000);

  it('npm run start:prod with standard output stopped and gone: SIGTERM still ends it within the deadline', async () => {
    const service = await startOnTestDatabase({}, 'npm');
    const tree = descendantPids(service.child.pid!);
    await fillStdoutPipe(service);
    service.child.stdout!.destroy();
    const { code, ms } = await signalAndTimeExit(service.child, 'SIGTERM');
    process.stderr.write(`shutdown with a dead stdout (npm run start:prod, SIGTERM): ${ms} ms\n`);
    expect(code).toBe(0);
    expect(ms).toBeLessThan(SHUTDOWN_DEADLINE_MS);
    expect(tree.filter(isRunning)).toEqual([]);
  }, 60_000);
});

describe('a second signal', () => {
  it('exits at once, while the first is still waiting for a request in flight', async () => {
    const service = await startOnTestDatabase();
    const api = new Api(service.baseUrl, appKey);
    const licenseLock = new pg.Client({ connectionString: seeding.db.url });
    await licenseLock.connect();
    try {
      await licenseLock.query('BEGIN');
      await licenseLock.query('SELECT seats_held FROM license WHERE id = 1 FOR UPDATE');
      const inFlight = send(api, 'sso', 'second-signal-user');
      await new Promise((r) => setTimeout(r, 300));
      const exited = new Promise<number | null>((resolve) => service.child.once('exit', (code) => resolve(code)));
      service.child.kill('SIGTERM');
      await new Promise((r) => setTimeout(r, 500));
      expect(service.child.exitCode).toBeNull();
      const { code, ms } = await signalAndTimeExit(service.child, 'SIGTERM');
      await exited;
      process.stderr.write(`second signal to exit: ${ms} ms\n`);
      expect(ms).toBeLessThan(1_000);
      expect(code).toBe(128 + 15);
      expect((await inFlight).status).toBeUndefined();
    } finally {
      await licenseLock.query('ROLLBACK').catch(() => undefined);
      await licenseLock.end().catch(() => undefined);
      if (service.child.exitCode === null) service.child.kill('SIGKILL');
    }
  }, 60_000);
});

describe('the deadline', () => {
  it('a request stuck past it does not hold the process: its connection is closed and the process exits by 10 s, with 1', async () => {
    const service = await startOnTestDatabase();
    const api = new Api(service.baseUrl, appKey);
    const licenseLock = new pg.Client({ connectionString: seeding.db.url });
    await licenseLock.connect();
    try {
      await licenseLock.query('BEGIN');
      await licenseLock.query('SELECT seats_held FROM license WHERE id = 1 FOR UPDATE');
      const stuck = send(api, 'sso', 'stuck-past-deadline');
      await new Promise((r) => setTimeout(r, 300));
      const { code, ms } = await signalAndTimeExit(service.child, 'SIGTERM');
      process.stderr.write(`shutdown with a request stuck past the deadline: ${ms} ms\n`);
      expect(code).toBe(1);
      expect(ms).toBeLessThanOrEqual(SHUTDOWN_DEADLINE_MS);
      expect(ms).toBeGreaterThan(7_000); // the drain's bound, not an early exit
      expect((await stuck).network).toBeDefined();
    } finally {
      await licenseLock.query('ROLLBACK').catch(() => undefined);
      await licenseLock.end().catch(() => undefined);
      if (service.child.exitCode === null) service.child.kill('SIGKILL');
    }
  }, 60_000);
});

describe('DATABASE_STATEMENT_TIMEOUT_MS', () => {
  let service: RunningService;
  let app: Api;
  let blocker: pg.Client;

  beforeAll(async () => {
    service = await startService({ SEAT_BUDGET: '10', DATABASE_STATEMENT_TIMEOUT_MS: '300' });
    const apps = await seed(service.admin, {
      tenants: [{ slug: SSO_TENANT, name: 'Globex', kind: 'external', tier: 'drill', customerId: 'globex-002' }],
      resources: [{ key: 'sales-overview', type: 'dashboard', metabaseId: 42, tenantParam: 'customer_id' }],
      apps: { host: { tenants: [SSO_TENANT] } },
    });
    app = apps.host;
    blocker = new pg.Client({ connectionString: service.db.url });
    await blocker.connect();
  }, 60_000);
  afterAll(async () => {
    await blocker.end();
    await service.stop();
  });

  it('a seat statement stuck behind a lock is cancelled: 503 database_unavailable in bounded time, no seat taken', async () => {
    await blocker.query('BEGIN');
    await blocker.query('SELECT seats_held FROM license WHERE id = 1 FOR UPDATE');
    try {
      const startedAt = Date.now();
      const answer = await app.post('/v1/embeds', embedBody(SSO_TENANT, 'timed-out'));
      const ms = Date.now() - startedAt;
      expect(answer.status).toBe(503);
      expect(answer.body).toEqual({ error: { code: 'database_unavailable', message: expect.any(String) } });
      expect(ms).toBeLessThan(3_000);
      expect(await service.db.query(`SELECT id FROM seats WHERE user_id = 'timed-out'`)).toEqual([]);
      expect(await service.db.query(`SELECT id FROM seat_events WHERE user_id = 'timed-out'`)).toEqual([]);
    } finally {
      await blocker.query('ROLLBACK');
    }
    // The lock gone, the same request takes its seat.
    const retried = await app.post('/v1/embeds', embedBody(SSO_TENANT, 'timed-out'));
    expect(retried.status).toBe(201);
    expect(retried.body.seat.new).toBe(true);
  });

  it('a seat release stuck behind a lock on its tenant (a Prisma transaction) is cancelled too: 503, the seat still held', async () => {
    const taken = await app.post('/v1/embeds', embedBody(SSO_TENANT, 'release-me'));
    expect(taken.status).toBe(201);
    await blocker.query('BEGIN');
    await blocker.query(`SELECT id FROM tenants WHERE slug = $1 FOR UPDATE`, [SSO_TENANT]);
    try {
      const startedAt = Date.now();
      const answer = await service.admin.delete(`/v1/seats/${taken.body.seat.id}`);
      expect(answer.status).toBe(503);
      expect(answer.body.error.code).toBe('database_unavailable');
      expect(Date.now() - startedAt).toBeLessThan(3_000);
    } finally {
      await blocker.query('ROLLBACK');
    }
    expect(await service.db.query(`SELECT id FROM seats WHERE user_id = 'release-me'`)).toHaveLength(1);
    expect((await service.admin.delete(`/v1/seats/${taken.body.seat.id}`)).status).toBe(200);
  });
});
