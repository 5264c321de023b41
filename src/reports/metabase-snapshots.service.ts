import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { CONFIG, type Config } from '../config/config.js';
import { LicenseReconciliation } from '../license/license-reconciliation.service.js';
import { inWorkerSpan, WORKER } from '../tracing/spans.js';
import { MetabaseSnapshotRepository } from './metabase-snapshots.repository.js';

/**
 * Takes Metabase's count of active users on a schedule (METABASE_SNAPSHOT_INTERVAL_MINUTES), through
 * the reconciliation's Metabase API client, so that the billing report shows what Metabase counts
 * beside the ledger. Only with METABASE_API_KEY. Every instance ticks; one that finds a snapshot
 * younger than most of an interval leaves it at that (two taken at once are harmless: the report
 * takes the highest).
 */
@Injectable()
export class MetabaseSnapshots implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('MetabaseSnapshots');
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly reconciliation: LicenseReconciliation,
    private readonly snapshots: MetabaseSnapshotRepository,
    @Inject(CONFIG) private readonly config: Pick<Config, 'metabaseSnapshotIntervalMinutes'> & { metabase: Pick<Config['metabase'], 'api'> },
  ) {}

  /** Whether snapshots are taken: the Metabase API is configured and the interval is not 0. */
  get enabled(): boolean {
    return !!this.config.metabase.api && this.config.metabaseSnapshotIntervalMinutes > 0;
  }

  onApplicationBootstrap(): void {
    if (!this.enabled) return;
    const intervalMs = this.config.metabaseSnapshotIntervalMinutes * 60_000;
    this.logger.log(`taking Metabase's active-user count every ${this.config.metabaseSnapshotIntervalMinutes} minutes`);
    void this.runOnce();
    this.timer = setInterval(() => void this.runOnce(), intervalMs);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** The scheduled snapshot: never throws; true when one was taken. */
  async runOnce(): Promise<boolean> {
    try {
      const latest = await this.snapshots.latestAt();
      if (latest && Date.now() - latest.getTime() < 0.9 * this.config.metabaseSnapshotIntervalMinutes * 60_000) return false;
    } catch (error) {
      this.warnFailed(error);
      return false;
    }
    // A snapshot to take: a trace of its own (the look above, every instance at every tick, makes none).
    return inWorkerSpan(WORKER.metabaseSnapshot, async (span) => {
      try {
        await this.take();
        return true;
      } catch (error) {
        span.fail(error);
        this.warnFailed(error);
        return false;
      }
    });
  }

  private warnFailed(error: unknown): void {
    this.logger.warn(`Metabase active-user snapshot failed: ${(error as Error).message}`);
  }

  /** Reads Metabase's active users now and records them with the seats held. */
  async take(): Promise<{ activeUsers: number; seatsHeld: number }> {
    const reconciliation = await this.reconciliation.reconcile();
    const snapshot = { activeUsers: reconciliation.metabaseActiveUsers, seatsHeld: reconciliation.seatsHeld };
    await this.snapshots.record(snapshot);
    return snapshot;
  }
}
