import { DeactivationOutbox } from '../../src/metabase/deactivation-outbox.service.js';
import { SeatReclaimScheduler } from '../../src/seats/seat-reclaim.scheduler.js';
import { FakeMetabase } from '../support/fake-metabase.js';
import { runCli } from '../support/process.js';
import { Api, embedBody, seed, startService, TEST_SECRETS, type RunningService } from '../support/service.js';

const METABASE_API_KEY = 'mb_test_api_key_0123456789';

let metabase: FakeMetabase;
let service: RunningService;
let app: Api;
let outbox: DeactivationOutbox;

async function ssoEmbed(tenant: string, user: string) {
  const answer = await app.post('/v1/embeds', embedBody(tenant, user));
  expect(answer.body.mode).toBe('sso');
  metabase.ssoLogin(answer.body.jwt);
  return answer.body;
}

const age = (userId: string, days: number) =>
  service.db.query(`UPDATE seats SET last_used_at = now() - make_interval(days => $2) WHERE user_id = $1`, [userId, days]);

beforeAll(async () => {
  metabase = await new FakeMetabase(METABASE_API_KEY, TEST_SECRETS.METABASE_JWT_SHARED_SECRET).start();
  service = await startService({
    SEAT_BUDGET: '20',
    METABASE_API_URL: metabase.url,
    METABASE_API_KEY,
    OUTBOX_INTERVAL_SECONDS: '3600',
  });
  outbox = service.app.get(DeactivationOutbox);
  const apps = await seed(service.admin, {
    tenants: [
      { slug: 'globex', name: 'Globex', kind: 'external', tier: 'drill', customerId: 'g-1' },
      { slug: 'umbrella', name: 'Umbrella', kind: 'external', tier: 'drill', customerId: 'u-1' },
    ],
    resources: [{ key: 'sales-overview', type: 'dashboard', metabaseId: 1, tenantParam: 'customer_id' }],
    apps: { host: { tenants: '*' } },
  });
  app = apps.host;
  // With an API key, SSO fails closed until Metabase's check proves a tenant isolated; seats, not
  // isolation, are what this file tests (identity-safety.e2e.spec.ts tests fail-closed routing).
  const off = await service.admin.put('/v1/metabase/fail-closed', { enabled: false, reason: 'seat lifecycle tests' });
  if (off.status !== 200) throw new Error(`fail-closed off: ${off.status} ${JSON.stringify(off.body)}`);
});
afterAll(async () => {
  await service.stop();
  await metabase.stop();
});

describe('releasing a seat deactivates the Metabase user', () => {
  it('DELETE /v1/seats/{id}: the seat is free at once, and the outbox deactivates the user', async () => {
    const embed = await ssoEmbed('globex', 'ann');
    expect(metabase.byEmail('ann@globex.example')?.is_active).toBe(true);
    expect((await service.admin.delete(`/v1/seats/${embed.seat.id}`)).status).toBe(200);
    const run = await outbox.runOnce();
    expect(run).toMatchObject({ claimed: 1, done: 1 });
    expect(metabase.byEmail('ann@globex.example')?.is_active).toBe(false);
    expect(metabase.requests).toContain(`DELETE /api/user/${metabase.byEmail('ann@globex.example')!.id}`);
    const [job] = await service.db.query<{ status: string; outcome: string; reason: string }>(
      `SELECT status::text, outcome, reason FROM metabase_outbox WHERE email = 'ann@globex.example'`,
    );
    expect(job).toMatchObject({ status: 'done', reason: 'admin' });
    expect(job.outcome).toMatch(/deactivated metabase user/);
  });

  it('a Metabase outage loses nothing: the job waits, retries with backoff, and completes once Metabase is back', async () => {
    const embed = await ssoEmbed('globex', 'bob');
    metabase.down = true;
    await service.admin.delete(`/v1/seats/${embed.seat.id}`);
    expect(await outbox.runOnce()).toMatchObject({ claimed: 1, retrying: 1, done: 0 });
    const [waiting] = await service.db.query<{ status: string; attempts: number; last_error: string; due_in: number }>(
      `SELECT status::text, attempts, last_error, extract(epoch FROM next_attempt_at - now())::int AS due_in FROM metabase_outbox WHERE email = 'bob@globex.example'`,
    );
    expect(waiting).toMatchObject({ status: 'pending', attempts: 1 });
    expect(waiting.last_error).toMatch(/503/);
    expect(waiting.due_in).toBeGreaterThan(0);
    expect(await outbox.runOnce()).toMatchObject({ claimed: 0 }); // not due yet
    metabase.down = false;
    await service.db.query(`UPDATE metabase_outbox SET next_attempt_at = now() WHERE email = 'bob@globex.example'`);
    expect(await outbox.runOnce()).toMatchObject({ claimed: 1, done: 1 });
    expect(metabase.byEmail('bob@globex.example')?.is_active).toBe(false);
  });

  it('a user who takes a seat again before the job runs stays active', async () => {
    const embed = await ssoEmbed('globex', 'cat');
    await service.admin.delete(`/v1/seats/${embed.seat.id}`);
    await ssoEmbed('globex', 'cat');
    // Taking the seat skipped the job (seat_ledger_acquire): the run finds nothing to do.
    const [job] = await service.db.query<{ status: string }>(`SELECT status::text FROM metabase_outbox WHERE email = 'cat@globex.example'`);
    expect(job).toEqual({ status: 'skipped' });
    expect(await outbox.runOnce()).toMatchObject({ claimed: 0, skipped: 0, done: 0 });
    expect(metabase.byEmail('cat@globex.example')?.is_active).toBe(true);
  });

  it('a tier downgrade releases every seat and queues every deactivation', async () => {
    for (const user of ['u1', 'u2', 'u3']) await ssoEmbed('umbrella', user);
    const down = await service.admin.put('/v1/tenants/umbrella/tier', { tier: 'view' });
    expect(down.body.releasedSeats).toBe(3);
    expect(await outbox.runOnce()).toMatchObject({ done: 3 });
    for (const user of ['u1', 'u2', 'u3']) expect(metabase.byEmail(`${user}@umbrella.example`)?.is_active).toBe(false);
    await service.admin.put('/v1/tenants/umbrella/tier', { tier: 'drill' });
  });

  it('suspending a tenant releases its seats with reason tenant-suspended', async () => {
    await ssoEmbed('umbrella', 'u4');
    await service.admin.patch('/v1/tenants/umbrella', { status: 'suspended' });
    const events = await service.db.query<{ reason: string }>(`SELECT reason FROM seat_events WHERE user_id = 'u4' AND kind = 'released'`);
    expect(events).toEqual([{ reason: 'tenant-suspended' }]);
    expect((await service.admin.get('/v1/tenants/umbrella')).body.seatsHeld).toBe(0);
    expect(await outbox.runOnce()).toMatchObject({ done: 1 });
    await service.admin.patch('/v1/tenants/umbrella', { status: 'active' });
  });
});

describe('POST /v1/seats/reclaim', () => {
  it('a dry run lists the idle seats and changes nothing', async () => {
    await ssoEmbed('globex', 'idle-1');
    await ssoEmbed('globex', 'idle-2');
    await ssoEmbed('globex', 'busy-1');
    await age('idle-1', 40);
    await age('idle-2', 31);
    await age('busy-1', 10);
    const before = (await service.admin.get('/v1/license')).body.seatsHeld;
    const dry = await service.admin.post('/v1/seats/reclaim', { idleDays: 30, dryRun: true });
    expect(dry.status).toBe(200);
    expect(dry.body).toMatchObject({ idleDays: 30, dryRun: true, count: 2 });
    expect(dry.body.seats.map((s: { userId: string }) => s.userId).sort()).toEqual(['idle-1', 'idle-2']);
    expect((await service.admin.get('/v1/license')).body.seatsHeld).toBe(before);
  });

  it('releases the seats idle for idleDays, with reason idle, and keeps the others', async () => {
    const before = (await service.admin.get('/v1/license')).body.seatsHeld;
    const run = await service.admin.post('/v1/seats/reclaim', { idleDays: 30 });
    expect(run.body).toMatchObject({ dryRun: false, count: 2 });
    expect((await service.admin.get('/v1/license')).body.seatsHeld).toBe(before - 2);
    const events = await service.db.query<{ user_id: string }>(`SELECT user_id FROM seat_events WHERE kind = 'released' AND reason = 'idle' ORDER BY user_id`);
    expect(events.map((e) => e.user_id)).toEqual(['idle-1', 'idle-2']);
    expect(await service.db.query(`SELECT 1 FROM seats WHERE user_id = 'busy-1'`)).toHaveLength(1);
    expect(await outbox.runOnce()).toMatchObject({ done: 2 });
  });

  it.each([
    [{ idleDays: 0 }],
    [{ idleDays: -5 }],
    [{ idleDays: 1.5 }],
    [{ idleDays: 'thirty' }],
    [{}],
    [{ idleDays: 30, dryRun: 'yes' }],
    [{ idleDays: 30, force: true }],
  ])('refuses %j with 400', async (body) => {
    const answer = await service.admin.post('/v1/seats/reclaim', body);
    expect(answer.status).toBe(400);
    expect(answer.body.error.code).toBe('validation_error');
  });

  it('is for admins only', async () => {
    const finance = app.as(await service.createKey('finance'));
    expect((await finance.post('/v1/seats/reclaim', { idleDays: 30 })).status).toBe(403);
    expect((await app.post('/v1/seats/reclaim', { idleDays: 30 })).status).toBe(403);
  });

  it('the CLI does the same: a dry run prints JSON on stdout', async () => {
    await age('busy-1', 60);
    const result = await runCli(['seats', 'reclaim', '--idle-days', '30', '--dry-run'], { DATABASE_URL: service.db.url });
    expect(result.status).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ dryRun: true, count: 1, seats: [expect.objectContaining({ userId: 'busy-1' })] });
    expect((await runCli(['seats', 'reclaim', '--idle-days', '0'], { DATABASE_URL: service.db.url })).status).toBe(2);
  });

  it('the scheduled job runs on one instance at a time (Postgres advisory lock)', async () => {
    const scheduler = service.app.get(SeatReclaimScheduler);
    const { Client } = (await import('pg')).default;
    const other = new Client({ connectionString: service.db.url });
    await other.connect();
    try {
      await other.query('SELECT pg_advisory_lock($1)', [0x7265636c]);
      expect(await scheduler.runOnce()).toBeNull(); // another instance holds it
      expect(await service.db.query(`SELECT 1 FROM seats WHERE user_id = 'busy-1'`)).toHaveLength(1);
      await other.query('SELECT pg_advisory_unlock($1)', [0x7265636c]);
      expect(await scheduler.runOnce()).toEqual({ count: 1 });
      expect(await service.db.query(`SELECT 1 FROM seats WHERE user_id = 'busy-1'`)).toHaveLength(0);
    } finally {
      await other.end();
    }
  });
});

describe('GET /v1/license/reconciliation', () => {
  it('lists Metabase users billed without a seat, and seats whose Metabase user is missing or inactive', async () => {
    await outbox.runOnce(); // the scheduled reclamation above queued one deactivation
    const held = await ssoEmbed('globex', 'dan');
    metabase.addUser('builder@corp.example', { is_superuser: true });
    metabase.addUser('leaked@globex.example');
    const noLogin = await app.post('/v1/embeds', embedBody('globex', 'eve')); // seat, but never logged in to Metabase
    const inactive = await ssoEmbed('globex', 'fay');
    metabase.byEmail('fay@globex.example')!.is_active = false;

    const finance = app.as(await service.createKey('finance'));
    const report = await finance.get('/v1/license/reconciliation');
    expect(report.status).toBe(200);
    const billed = report.body.billedWithoutSeat.map((u: { email: string }) => u.email);
    expect(billed).toEqual(expect.arrayContaining(['builder@corp.example', 'leaked@globex.example']));
    expect(billed).not.toContain('dan@globex.example');
    expect(report.body.billedWithoutSeat.find((u: { email: string }) => u.email === 'builder@corp.example').isSuperuser).toBe(true);
    const problems = Object.fromEntries(report.body.seatsWithoutActiveUser.map((s: { userId: string; problem: string }) => [s.userId, s.problem]));
    expect(problems).toMatchObject({ eve: 'missing', fay: 'inactive' });
    expect(problems.dan).toBeUndefined();
    expect(report.body.seatsHeld).toBe((await service.admin.get('/v1/license')).body.seatsHeld);
    expect(report.body.deactivations).toEqual({ pending: 0, failed: 0 });
    expect(held.seat.id && noLogin.body.seat.id && inactive.seat.id).toBeTruthy();
  });

  it('the CLI prints the same report as JSON', async () => {
    const result = await runCli(['license', 'reconcile'], { DATABASE_URL: service.db.url, METABASE_API_URL: metabase.url, METABASE_API_KEY });
    expect(result.status).toBe(0);
    const report = JSON.parse(result.stdout);
    expect(report.billedWithoutSeat.map((u: { email: string }) => u.email)).toContain('leaked@globex.example');
  });

  it('answers 502 when Metabase refuses the key, and the CLI says so', async () => {
    const wrong = await startService({ METABASE_API_URL: metabase.url, METABASE_API_KEY: 'wrong_key_123456' }, service.db);
    try {
      const answer = await wrong.admin.get('/v1/license/reconciliation');
      expect(answer.status).toBe(502);
      expect(answer.body.error).toEqual({ code: 'metabase_unavailable', message: expect.stringMatching(/refused the API key \(401\)/) });
    } finally {
      await wrong.app.close();
    }
  });

  it('is off without a Metabase API key: 409 with a clear code', async () => {
    const off = await startService({}, service.db);
    try {
      const answer = await off.admin.get('/v1/license/reconciliation');
      expect(answer.status).toBe(409);
      expect(answer.body.error.code).toBe('metabase_api_not_configured');
    } finally {
      await off.app.close();
    }
    expect((await runCli(['license', 'reconcile'], { DATABASE_URL: service.db.url })).status).toBe(1);
  });
});
