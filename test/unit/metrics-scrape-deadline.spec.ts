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
