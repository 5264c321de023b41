import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { SchedulerRegistry } from '@nestjs/schedule';
import { ADVISORY_LOCK_KEYS } from '../../src/database/advisory-locks.js';
import { PURGEABLE_TABLES, RetentionRepository, TABLES_KEPT, USAGE_TABLES } from '../../src/retention/retention.repository.js';
import { RetentionService } from '../../src/retention/retention.service.js';
import { runCli } from '../support/process.js';
import { embedBody, seed, startService, type RunningService } from '../support/service.js';

let service: RunningService;
let retention: RetentionService;

/** Every row of the tables the purge must never touch: the audit log and seat history. */
const records = async () => ({
  audit: (await service.db.query<{ id: string }>(`SELECT id::text FROM audit_events ORDER BY id`)).map((row) => row.id),
  seatEvents: (await service.db.query<{ id: string }>(`SELECT id::text FROM seat_events ORDER BY id`)).map((row) => row.id),
});

const launch = (name: string, expiresAt: string, usedAt: string | null = null) =>
  service.db.query(
    `INSERT INTO sso_launches (id_hash, tenant_id, user_id, email, role, return_to, expires_at, used_at)
     VALUES ($1, gen_random_uuid(), $2, $3, 'viewer', '/', ${expiresAt}, ${usedAt ?? 'NULL'})`,
    [randomBytes(32), name, `${name}@example.com`],
  );
const samlIds = async (id: string, createdAt: string) => {
  await service.db.query(`INSERT INTO saml_requests (id, created_at) VALUES ($1, ${createdAt})`, [id]);
  await service.db.query(`INSERT INTO saml_consumed (id, created_at) VALUES ($1, ${createdAt})`, [`assertion:${id}`]);
};
const session = (sid: string, expiresAt: string) =>
  service.db.query(`INSERT INTO console_sessions (sid, data, expires_at) VALUES ($1, '{}', ${expiresAt})`, [sid]);
const viewerSession = (userId: string, columns: { expiresAt?: string; revokedAt?: string; exchanged?: boolean; exchangeExpiresAt?: string }) =>
  service.db.query(
    `INSERT INTO viewer_sessions (app_id, tenant_id, user_id, role, origin, exchange_expires_at, secret_hash, expires_at, revoked_at)
     SELECT a.id, t.id, $1, 'viewer', 'https://host.example', ${columns.exchangeExpiresAt ?? 'now()'}, ${columns.exchanged === false ? 'NULL' : 'sha256(random()::text::bytea)'},
            ${columns.expiresAt ?? "now() + interval '1 hour'"}, ${columns.revokedAt ?? 'NULL'}
       FROM apps a, tenants t LIMIT 1`,
    [userId],
  );
const job = (email: string, status: string, finishedAt: string) =>
  service.db.query(
    `INSERT INTO metabase_outbox (action, email, reason, status, created_at, updated_at)
     VALUES ('deactivate-user', $1, 'test', $2::"OutboxStatus", ${finishedAt}, ${finishedAt})`,
    [email, status],
  );

/** Launch links made here (the embeds above make their own, live ones, for @globex.example users). */
const MINE = `email NOT LIKE '%@globex.example'`;
const column = async (sql: string) => (await service.db.query<{ v: string }>(sql)).map((row) => row.v).sort();

beforeAll(async () => {
  service = await startService({ RETENTION_DAYS: '7', RETENTION_INTERVAL_MINUTES: '60' });
  retention = service.app.get(RetentionService);
  const apps = await seed(service.admin, {
    tenants: [{ slug: 'globex', name: 'Globex', kind: 'external', tier: 'drill', customerId: 'g-1' }],
    resources: [{ key: 'sales-overview', type: 'dashboard', metabaseId: 1, tenantParam: 'customer_id' }],
    apps: { host: { tenants: '*' } },
  });
  // Seats, their history and audit entries, some of them a year old.
  for (const user of ['ann', 'bob']) await apps.host.post('/v1/embeds', embedBody('globex', user));
  await service.db.query(`INSERT INTO audit_events (type, actor, at) VALUES ('test.old', 'test', now() - interval '365 days')`);
  await service.db.query(
    `INSERT INTO seat_events (seat_id, tenant_id, user_id, kind, reason, actor, seats_held_after, tenant_held_after, seat_budget, at)
     VALUES (gen_random_uuid(), gen_random_uuid(), 'old', 'allocated', 'first-embed', 'test', 1, 1, 1, now() - interval '365 days')`,
  );

  await launch('expired-2h', `now() - interval '2 hours'`);
  await launch('used-expired-2h', `now() - interval '2 hours'`, `now() - interval '2 hours 1 minute'`);
  await launch('expired-10min', `now() - interval '10 minutes'`); // still told "expired" if opened
  await launch('live', `now() + interval '1 minute'`);
  await samlIds('saml-2d', `now() - interval '2 days'`);
  await samlIds('saml-now', 'now()');
  await session('session-expired', `now() - interval '1 minute'`);
  await session('session-live', `now() + interval '30 minutes'`);
  await job('done-8d@example.com', 'done', `now() - interval '8 days'`);
  await job('skipped-8d@example.com', 'skipped', `now() - interval '8 days'`);
  await job('done-1d@example.com', 'done', `now() - interval '1 day'`);
  await job('failed-30d@example.com', 'failed', `now() - interval '30 days'`);
  await job('pending-30d@example.com', 'pending', `now() - interval '30 days'`);
  await viewerSession('vs-expired-2d', { expiresAt: `now() - interval '2 days'` });
  await viewerSession('vs-revoked-2d', { revokedAt: `now() - interval '2 days'` });
  await viewerSession('vs-never-exchanged-2d', { exchanged: false, exchangeExpiresAt: `now() - interval '2 days'` });
  await viewerSession('vs-revoked-1h', { revokedAt: `now() - interval '1 hour'` });
  await viewerSession('vs-live', {});
});
afterAll(async () => {
  await service.stop();
});

describe('the retention purge', () => {
  it('runs on a schedule (RETENTION_INTERVAL_MINUTES)', () => {
    expect(service.app.get(SchedulerRegistry).getIntervals()).toContain('retention-purge');
  });

  it('waits its turn: while another instance holds the advisory lock it purges nothing', async () => {
    const other = new pg.Client({ connectionString: service.db.url });
    await other.connect();
    try {
      await other.query('SELECT pg_advisory_lock($1)', [ADVISORY_LOCK_KEYS.retention]);
      expect(await retention.purge()).toBeNull();
      expect(await retention.runOnce()).toBeNull();
      expect(await column(`SELECT user_id AS v FROM sso_launches WHERE ${MINE}`)).toHaveLength(4);
    } finally {
      await other.end();
    }
  });

  it('deletes the expired rows, keeps the live ones, and never touches the audit log or seat history', async () => {
    const before = await records();
    expect(before.audit.length).toBeGreaterThan(2);
    expect(before.seatEvents.length).toBe(3);

    expect(await retention.purge()).toEqual({
      sso_launches: 2,
      saml_requests: 1,
      saml_consumed: 1,
      console_sessions: 1,
      metabase_outbox: 2,
      viewer_sessions: 3,
      webhook_events: 0,
    });
    expect(await column(`SELECT user_id AS v FROM viewer_sessions`)).toEqual(['vs-live', 'vs-revoked-1h']);

    expect(await column(`SELECT user_id AS v FROM sso_launches WHERE ${MINE}`)).toEqual(['expired-10min', 'live']);
    expect(await column(`SELECT id AS v FROM saml_requests`)).toEqual(['saml-now']);
    expect(await column(`SELECT id AS v FROM saml_consumed`)).toEqual(['assertion:saml-now']);
    expect(await column(`SELECT sid AS v FROM console_sessions`)).toEqual(['session-live']);
    expect(await column(`SELECT email AS v FROM metabase_outbox`)).toEqual(['done-1d@example.com', 'failed-30d@example.com', 'pending-30d@example.com']);
    expect(await records()).toEqual(before);
    expect(await service.db.query(`SELECT 1 FROM seats`)).toHaveLength(2);
  });

  it('deletes in batches of 1000 and counts what it purged by table (GET /metrics)', async () => {
    await service.db.query(
      `INSERT INTO sso_launches (id_hash, tenant_id, user_id, email, role, return_to, expires_at)
       SELECT sha256(('bulk-' || n)::bytea), gen_random_uuid(), 'bulk-' || n, 'bulk@example.com', 'viewer', '/', now() - interval '1 day'
       FROM generate_series(1, 2500) AS n`,
    );
    const repository = service.app.get(RetentionRepository);
    const deleteBatch = repository.deleteBatch;
    const batches: number[] = [];
    repository.deleteBatch = async (table, cutoff, limit) => {
      const deleted = await deleteBatch.call(repository, table, cutoff, limit);
      if (table === 'sso_launches') batches.push(deleted);
      return deleted;
    };
    try {
      expect(await retention.purge()).toMatchObject({ sso_launches: 2500 });
    } finally {
      repository.deleteBatch = deleteBatch;
    }
    expect(batches).toEqual([1000, 1000, 500]);
    expect(await column(`SELECT user_id AS v FROM sso_launches WHERE ${MINE}`)).toEqual(['expired-10min', 'live']);
    const metrics = await service.anonymous.get('/metrics');
    expect(metrics.body).toMatch(/embedgate_retention_purged_rows_total\{table="sso_launches"\} 2502/);
    expect(metrics.body).toMatch(/embedgate_retention_purged_rows_total\{table="metabase_outbox"\} 2/);
  });

  it('the CLI does the same: `retention purge --days n --usage-days n` prints what it purged as JSON', async () => {
    await job('done-3d@example.com', 'done', `now() - interval '3 days'`);
    const [{ id: tenantId }] = await service.db.query<{ id: string }>(`SELECT id FROM tenants WHERE slug = 'globex'`);
    for (const age of [40, 20]) {
      await service.db.query(`INSERT INTO usage_daily (day, tenant_id, resource_key, guest) VALUES (current_date - $1::int, $2, 'sales-overview', 1)`, [
        age,
        tenantId,
      ]);
      await service.db.query(`INSERT INTO usage_viewers (day, tenant_id, resource_key, user_id) VALUES (current_date - $1::int, $2, 'sales-overview', 'u')`, [
        age,
        tenantId,
      ]);
    }
    const kept = await runCli(['retention', 'purge'], { DATABASE_URL: service.db.url, RETENTION_DAYS: '7' });
    expect(kept.status).toBe(0);
    expect(JSON.parse(kept.stdout)).toMatchObject({ metabase_outbox: 0, usage_daily: 0, usage_viewers: 0 });
    const purged = await runCli(['retention', 'purge', '--days', '2'], { DATABASE_URL: service.db.url, USAGE_RETENTION_DAYS: '30' });
    expect(purged.status).toBe(0);
    expect(JSON.parse(purged.stdout)).toEqual({
      sso_launches: 0,
      saml_requests: 0,
      saml_consumed: 0,
      console_sessions: 0,
      metabase_outbox: 1,
      viewer_sessions: 0,
      webhook_events: 0,
      usage_daily: 1,
      usage_viewers: 1,
      usage_batches: 0,
    });
    expect(await column(`SELECT email AS v FROM metabase_outbox`)).toEqual(['done-1d@example.com', 'failed-30d@example.com', 'pending-30d@example.com']);
    const byFlag = await runCli(['retention', 'purge', '--usage-days', '10'], { DATABASE_URL: service.db.url });
    expect(JSON.parse(byFlag.stdout)).toMatchObject({ usage_daily: 1, usage_viewers: 1 });
    expect(await service.db.query(`SELECT 1 FROM usage_daily UNION ALL SELECT 1 FROM usage_viewers`)).toEqual([]);
    for (const bad of [
      ['--days', '0'],
      ['--usage-days', '0'],
      ['--usage-days', 'soon'],
    ]) {
      const refused = await runCli(['retention', 'purge', ...bad], { DATABASE_URL: service.db.url });
      expect(refused.status).toBe(2);
      expect(refused.stderr).toMatch(/must be a positive whole number/);
    }
  });
});

describe('what the purge looks after (generated from the schema)', () => {
  const purged = [...PURGEABLE_TABLES, ...USAGE_TABLES];

  it('every table of the schema is purged, or kept for a reason written down (TABLES_KEPT), never both', async () => {
    const tables = (
      await service.db.query<{ name: string }>(
        `SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'`,
      )
    ).map((row) => row.name);
    const declared = [...purged, ...Object.keys(TABLES_KEPT)];
    expect(new Set(declared).size).toBe(declared.length);
    expect([...tables].sort()).toEqual([...declared].sort());
    for (const reason of Object.values(TABLES_KEPT)) expect(reason.length).toBeGreaterThan(5);
  });

  it('the schedule and the CLI run the same whole purge, under one hold of the lock: both report every purged table', async () => {
    const repository = service.app.get(RetentionRepository);
    const whileLocked = repository.whileLocked;
    const held = whileLocked.bind(repository);
    let holds = 0;
    repository.whileLocked = <T>(work: () => Promise<T>) => {
      holds++;
      return held(work);
    };
    let scheduled;
    try {
      scheduled = await retention.runOnce();
    } finally {
      repository.whileLocked = whileLocked;
    }
    expect(holds).toBe(1);
    expect(Object.keys(scheduled ?? {}).sort()).toEqual([...purged].sort());
    const cli = await runCli(['retention', 'purge'], { DATABASE_URL: service.db.url });
    expect(cli.status).toBe(0);
    expect(Object.keys(JSON.parse(cli.stdout)).sort()).toEqual([...purged].sort());
  });
});
