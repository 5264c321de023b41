import { Injectable } from '@nestjs/common';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { MetricsRepository } from './metrics.repository.js';

/** How long a scrape waits for each of its Postgres reads: well under a scrape timeout (10 s by default). */
export const SCRAPE_DATABASE_DEADLINE_MS = 2_000;

/** `read`, or a rejection once SCRAPE_DATABASE_DEADLINE_MS have passed (the read itself is left to finish). */
function withinDeadline<T>(read: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${SCRAPE_DATABASE_DEADLINE_MS} ms`)), SCRAPE_DATABASE_DEADLINE_MS);
    timer.unref();
  });
  return Promise.race([read, deadline]).finally(() => clearTimeout(timer));
}

/** Prometheus metrics (prom-client), served at GET /metrics. */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();

  readonly embedsIssued = new Counter({
    name: 'embedgate_embeds_issued_total',
    help: 'Embeds issued, by mode (guest, sso) and the rule that fired',
    labelNames: ['mode', 'rule'] as const,
    registers: [this.registry],
  });

  readonly embedsDenied = new Counter({
    name: 'embedgate_embeds_denied_total',
    help: 'Embed requests denied by the policy, by rule',
    labelNames: ['rule'] as const,
    registers: [this.registry],
  });

  readonly requestSeconds = new Histogram({
    name: 'embedgate_http_request_duration_seconds',
    help: 'HTTP request latency, by method, route and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.02, 0.03, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });

  readonly cacheLoads = new Counter({
    name: 'embedgate_cache_loads_total',
    help: 'Embed-path cache misses that read Postgres, by cache (api-keys, tenants, resources, app-scopes)',
    labelNames: ['cache'] as const,
    registers: [this.registry],
  });

  readonly rowsPurged = new Counter({
    name: 'embedgate_retention_purged_rows_total',
    help: 'Rows deleted by the retention purge, by table',
    labelNames: ['table'] as const,
    registers: [this.registry],
  });

  /** Set by each Metabase configuration check (src/metabase-status): its findings, by severity. */
  readonly metabaseFindings = new Gauge({
    name: 'embedgate_metabase_findings',
    help: 'Findings of the last Metabase configuration check, by severity (blocking, warning, info)',
    labelNames: ['severity'] as const,
    registers: [this.registry],
  });

  constructor(database: MetricsRepository) {
    collectDefaultMetrics({ register: this.registry, prefix: 'embedgate_' });
    // The gauges below read Postgres at each scrape. When it does not answer, or not within
    // SCRAPE_DATABASE_DEADLINE_MS (a Postgres that hangs rather than refuses), they are left empty and
    // embedgate_database_up says 0: the scrape itself still succeeds well inside Prometheus's scrape
    // timeout, so the alert can tell a database outage from an instance that is down.
    // The deadline bounds the read only: a late answer is dropped, never written after the gauge was
    // reset (it would show stale values at the next, overlapping scrape).
    // The two outbox gauges share one read per scrape: prom-client collects them side by side, so the
    // second finds the first's read in flight.
    let outboxRead: ReturnType<MetricsRepository['outboxCounts']> | null = null;
    const outboxCounts = () => (outboxRead ??= database.outboxCounts().finally(() => (outboxRead = null)));
    const fromDatabase = async <T>(gauge: { reset(): void }, read: () => Promise<T>, write: (value: T) => void) => {
      gauge.reset();
      const answered = await withinDeadline(read()).then(
        (value) => ({ value }),
        () => null,
      );
      if (answered) write(answered.value);
    };
    new Gauge({
      name: 'embedgate_database_up',
      help: `Whether Postgres answered a query during this scrape, within ${SCRAPE_DATABASE_DEADLINE_MS} ms (1), or not (0)`,
      registers: [this.registry],
      async collect() {
        this.set(
          await withinDeadline(database.ping()).then(
            () => 1,
            () => 0,
          ),
        );
      },
    });
    new Gauge({
      name: 'embedgate_seats_held',
      help: 'Seats held, by tenant (tenants holding none are left out)',
      labelNames: ['tenant'] as const,
      registers: [this.registry],
      async collect() {
        await fromDatabase(
          this,
          () => database.seatsHeldByTenant(),
          (rows) => rows.forEach(({ tenant, value }) => this.set({ tenant }, value)),
        );
      },
    });
    new Gauge({
      name: 'embedgate_seat_cap',
      help: 'Seat cap, by tenant (tenants with a cap)',
      labelNames: ['tenant'] as const,
      registers: [this.registry],
      async collect() {
        await fromDatabase(
          this,
          () => database.seatCapsByTenant(),
          (rows) => rows.forEach(({ tenant, value }) => this.set({ tenant }, value)),
        );
      },
    });
    new Gauge({
      name: 'embedgate_license_seats',
      help: 'The license: seat budget and seats held',
      labelNames: ['kind'] as const,
      registers: [this.registry],
      async collect() {
        await fromDatabase(
          this,
          () => database.licenseSeats(),
          (license) => {
            this.set({ kind: 'budget' }, license.budget);
            this.set({ kind: 'held' }, license.held);
          },
        );
      },
    });
    new Gauge({
      name: 'embedgate_outbox_jobs',
      help: 'Metabase deactivation jobs waiting (pending) or given up (failed)',
      labelNames: ['status'] as const,
      registers: [this.registry],
      async collect() {
        await fromDatabase(this, outboxCounts, (outbox) => {
          this.set({ status: 'pending' }, outbox.pending);
          this.set({ status: 'failed' }, outbox.failed);
        });
      },
    });
    new Gauge({
      name: 'embedgate_outbox_oldest_pending_seconds',
      help: 'Age of the oldest pending Metabase deactivation job (0 when none is pending)',
      registers: [this.registry],
      async collect() {
        await fromDatabase(this, outboxCounts, (outbox) => this.set(outbox.oldestPendingSeconds));
      },
    });
    new Gauge({
      name: 'embedgate_db_pool_connections',
      help: 'Postgres pool connections: total, idle, and requests waiting for one',
      labelNames: ['state'] as const,
      registers: [this.registry],
      collect() {
        const pool = database.poolCounts();
        this.set({ state: 'total' }, pool.total);
        this.set({ state: 'idle' }, pool.idle);
        this.set({ state: 'waiting' }, pool.waiting);
      },
    });
  }
}
