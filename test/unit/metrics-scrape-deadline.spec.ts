import { MetricsService, SCRAPE_DATABASE_DEADLINE_MS } from '../../src/metrics/metrics.service.js';

/** A Postgres that hangs: every read waits for ever (no refusal, no error). */
const hanging = () => new Promise<never>(() => undefined);
const hangingDatabase = {
  seatsHeldByTenant: hanging,
  seatCapsByTenant: hanging,
  licenseSeats: hanging,
  outboxCounts: hanging,
  ping: hanging,
  poolCounts: () => ({ total: 4, idle: 0, waiting: 12 }),
};

describe('a scrape while Postgres hangs', () => {
  it('still answers, within the deadline, with embedgate_database_up 0 and the database gauges empty', async () => {
    const metrics = new MetricsService(hangingDatabase as never);
    const started = performance.now();
    const text = await metrics.registry.metrics();
    const ms = performance.now() - started;
    expect(ms).toBeGreaterThanOrEqual(SCRAPE_DATABASE_DEADLINE_MS - 50);
    // Prometheus's default scrape timeout is 10 s; the reads run side by side, so one deadline bounds them all.
    expect(ms).toBeLessThan(SCRAPE_DATABASE_DEADLINE_MS + 2_000);
    expect(text).toMatch(/^embedgate_database_up 0$/m);
    expect(text).not.toMatch(/^embedgate_license_seats\{/m);
    expect(text).not.toMatch(/^embedgate_outbox_jobs\{/m);
    // What needs no query is still there: the pool says why requests wait.
    expect(text).toMatch(/^embedgate_db_pool_connections\{state="waiting"\} 12$/m);
  }, 15_000);
});

describe('an answer that comes after the deadline', () => {
  it('is dropped, never written into the next, overlapping scrape', async () => {
    const later = <T>(ms: number, value: T) => new Promise<T>((resolve) => setTimeout(() => resolve(value), ms));
    let calls = 0;
    const slowThenQuick = {
      ...hangingDatabase,
      ping: async () => undefined,
      licenseSeats: async () => ({ budget: 10, held: 1 }),
      outboxCounts: async () => ({ pending: 0, failed: 0, oldestPendingSeconds: 0 }),
      seatCapsByTenant: async () => [],
      // The first scrape's read answers late, with a tenant that is gone by the second scrape's read.
      seatsHeldByTenant: () =>
        ++calls === 1 ? later(SCRAPE_DATABASE_DEADLINE_MS + 400, [{ tenant: 'gone', value: 5 }]) : later(600, [{ tenant: 'acme', value: 1 }]),
    };
    const metrics = new MetricsService(slowThenQuick as never);
    const first = await metrics.registry.metrics();
    expect(first).not.toMatch(/embedgate_seats_held\{/);
    await later(100, null);
    const second = await metrics.registry.metrics(); // its reset comes before the first read's late answer
    expect(second).toMatch(/^embedgate_seats_held\{tenant="acme"\} 1$/m);
    expect(second).not.toMatch(/tenant="gone"/);
  }, 15_000);
});

describe('a scrape', () => {
  it('reads the outbox counts once for both outbox gauges', async () => {
    let reads = 0;
    const metrics = new MetricsService({
      ...hangingDatabase,
      ping: async () => undefined,
      licenseSeats: async () => ({ budget: 10, held: 1 }),
      seatsHeldByTenant: async () => [],
      seatCapsByTenant: async () => [],
      outboxCounts: async () => {
        reads++;
        return { pending: 3, failed: 1, oldestPendingSeconds: 42 };
      },
    } as never);
    const text = await metrics.registry.metrics();
    expect(text).toMatch(/^embedgate_outbox_jobs\{status="pending"\} 3$/m);
    expect(text).toMatch(/^embedgate_outbox_oldest_pending_seconds 42$/m);
    expect(reads).toBe(1);
    await metrics.registry.metrics();
    expect(reads).toBe(2);
  });
});
