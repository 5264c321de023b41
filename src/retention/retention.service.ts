import { Inject, Injectable, Logger, Optional, type OnApplicationBootstrap } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { CONFIG, type Config } from '../config/config.js';
import { MetricsService } from '../metrics/metrics.service.js';
import { ATTR, inWorkerSpan, WORKER } from '../tracing/spans.js';
import { PURGEABLE_TABLES, RetentionRepository, USAGE_TABLES, type PurgeableTable, type UsageTable } from './retention.repository.js';
import { DAY_MS } from '../common/days.js';

/** Rows per delete statement: each batch is its own short transaction, so no lock is held for long. */
const BATCH_SIZE = 1_000;
const HOUR_MS = 3_600_000;
/** A launch link opened up to an hour after it expired is still told "expired" (410), not "unknown" (404). */
const LAUNCH_GRACE_MS = HOUR_MS;
/** node-saml takes an answer to a request for 10 minutes, an assertion up to 10 minutes old: a day is ample. */
const SAML_ID_KEPT_MS = DAY_MS;

export type PurgeCounts = Record<PurgeableTable, number>;
export type UsagePurgeCounts = Record<UsageTable, number>;
/** What one whole purge deleted, per table: every table the purge looks after. */
export type AllPurgeCounts = PurgeCounts & UsagePurgeCounts;

/** What the purge reads of the configuration (the CLI builds just this). */
export interface RetentionConfig {
  retention: Config['retention'];
  /** The usage roll-up's retention (USAGE_RETENTION_DAYS). */
  usage: Pick<Config['usage'], 'retentionDays'>;
}

/**
 * Purges rows that outlived their use, so that no table grows for ever: SSO launch links an hour
 * after they expired, SAML request and assertion ids after a day, console sessions once expired, and
 * finished outbox jobs (done or skipped) RETENTION_DAYS after they finished. Failed outbox jobs, the
 * audit log and seat history are never purged. Every instance ticks (RETENTION_INTERVAL_MINUTES), but
 * an advisory lock lets one of them purge at a time.
 */
@Injectable()
export class RetentionService implements OnApplicationBootstrap {
  private readonly logger = new Logger('RetentionService');

  constructor(
    private readonly repository: RetentionRepository,
    private readonly scheduler: SchedulerRegistry,
    @Inject(CONFIG) private readonly config: RetentionConfig,
    @Optional() private readonly metrics?: MetricsService,
  ) {}

  onApplicationBootstrap(): void {
    const { intervalMinutes, days } = this.config.retention;
    if (intervalMinutes === 0) return;
    this.logger.log(`purging expired rows every ${intervalMinutes} minutes (finished outbox jobs after ${days} days)`);
    this.scheduler.addInterval(
      'retention-purge',
      setInterval(() => void this.runOnce(), intervalMinutes * 60_000),
    );
  }

  /** The scheduled purge, in a trace of its own: never throws; null when another instance is purging or it failed. */
  runOnce(): Promise<AllPurgeCounts | null> {
    return inWorkerSpan(WORKER.retention, async (span) => {
      try {
        const purged = await this.purgeAll();
        const total = purged ? Object.values(purged).reduce((sum, n) => sum + n, 0) : 0;
        span.set({ [ATTR.outcome]: purged ? 'purged' : 'locked', [ATTR.rows]: total });
        if (purged && total) this.logger.log(`purged ${total} rows: ${JSON.stringify(purged)}`);
        return purged;
      } catch (error) {
        span.fail(error);
        this.logger.warn(`retention purge failed: ${(error as Error).message}`);
        return null;
      }
    });
  }

  /**
   * One whole purge, what the schedule and the CLI's `retention purge` both run: the expired rows
   * (purge) and the usage roll-up (purgeUsage). Null when another session holds the advisory lock.
   */
  purgeAll(now = new Date()): Promise<AllPurgeCounts | null> {
    // One hold of the lock for both: another instance cannot slip in between and make a purge that
    // already deleted rows report "someone else is purging".
    return this.repository.whileLocked(async () => ({ ...(await this.purgeExpiredRows(now)), ...(await this.purgeUsageRows(now)) }));
  }

  /**
   * Purges the usage roll-up: counts and viewers of days older than USAGE_RETENTION_DAYS, and the record
   * of flushes after a day (it only has to outlive a retried flush). Batch by batch, under the advisory
   * lock; null when another session holds it.
   */
  purgeUsage(now = new Date()): Promise<UsagePurgeCounts | null> {
    return this.repository.whileLocked(() => this.purgeUsageRows(now));
  }

  /** Purges every table, batch by batch, under the advisory lock; null when another session holds it. */
  purge(now = new Date()): Promise<PurgeCounts | null> {
    return this.repository.whileLocked(() => this.purgeExpiredRows(now));
  }

  /** purgeUsage's work, for a caller holding the lock. */
  private async purgeUsageRows(now: Date): Promise<UsagePurgeCounts> {
    const days = this.config.usage.retentionDays;
    const cutoffs: Record<UsageTable, Date> = {
      usage_daily: new Date(now.getTime() - days * DAY_MS),
      usage_viewers: new Date(now.getTime() - days * DAY_MS),
      usage_batches: new Date(now.getTime() - DAY_MS),
    };
    return this.drain(USAGE_TABLES, (table) => this.repository.deleteUsageBatch(table, cutoffs[table], BATCH_SIZE));
  }

  /** purge's work, for a caller holding the lock. */
  private async purgeExpiredRows(now: Date): Promise<PurgeCounts> {
    const cutoffs: Record<PurgeableTable, Date> = {
      sso_launches: new Date(now.getTime() - LAUNCH_GRACE_MS),
      saml_requests: new Date(now.getTime() - SAML_ID_KEPT_MS),
      saml_consumed: new Date(now.getTime() - SAML_ID_KEPT_MS),
      console_sessions: now,
      metabase_outbox: new Date(now.getTime() - this.config.retention.days * DAY_MS),
      // Ended viewer sessions are kept a day (what ended them can be looked up), then go.
      viewer_sessions: new Date(now.getTime() - DAY_MS),
      // Delivered webhook events (and those of deleted webhooks), like finished outbox jobs; dead letters stay.
      webhook_events: new Date(now.getTime() - this.config.retention.days * DAY_MS),
    };
    return this.drain(PURGEABLE_TABLES, (table) => this.repository.deleteBatch(table, cutoffs[table], BATCH_SIZE));
  }

  /** Deletes batch after batch from each table, until a batch comes back short; counts by table. */
  private async drain<T extends string>(tables: readonly T[], deleteBatch: (table: T) => Promise<number>): Promise<Record<T, number>> {
    const purged = Object.fromEntries(tables.map((table) => [table, 0])) as Record<T, number>;
    for (const table of tables) {
      let deleted: number;
      do {
        deleted = await deleteBatch(table);
        purged[table] += deleted;
        if (deleted) this.metrics?.rowsPurged.inc({ table }, deleted);
      } while (deleted === BATCH_SIZE);
    }
    return purged;
  }
}
