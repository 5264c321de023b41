import { Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { CONFIG, type Config } from '../config/config.js';
import { ATTR, inWorkerSpan, WORKER } from '../tracing/spans.js';
import { SeatLedger } from './seat-ledger.service.js';

/**
 * Idle-seat reclamation on a schedule (RECLAIM_INTERVAL_MINUTES; off by default). Every instance
 * ticks, but a transaction-scoped Postgres advisory lock lets only one of them run it at a time.
 */
@Injectable()
export class SeatReclaimScheduler implements OnApplicationBootstrap {
  private readonly logger = new Logger('SeatReclaimScheduler');

  constructor(
    private readonly ledger: SeatLedger,
    private readonly scheduler: SchedulerRegistry,
    @Inject(CONFIG) private readonly config: Config,
  ) {}

  onApplicationBootstrap(): void {
    const { intervalMinutes, idleDays } = this.config.reclaim;
    if (intervalMinutes === 0) return;
    this.logger.log(`reclaiming seats idle for ${idleDays} days every ${intervalMinutes} minutes`);
    this.scheduler.addInterval(
      'seat-reclaim',
      setInterval(() => void this.runOnce(), intervalMinutes * 60_000),
    );
  }

  /** Runs one reclamation, in a trace of its own, if no other instance is running one; null when another held the lock. */
  runOnce(): Promise<{ count: number } | null> {
    return inWorkerSpan(WORKER.seatReclaim, async (span) => {
      try {
        const reclaimed = await this.ledger.whileReclaimLocked(
          async () => {
            const result = await this.ledger.reclaim(this.config.reclaim.idleDays, false, 'scheduler');
            if (result.count) this.logger.log(`released ${result.count} seats idle for ${result.idleDays} days`);
            return { count: result.count };
          },
          { maxWait: 10_000, timeout: 30 * 60_000 },
        );
        span.set({ [ATTR.outcome]: reclaimed ? 'reclaimed' : 'locked', [ATTR.seats]: reclaimed?.count });
        return reclaimed;
      } catch (error) {
        span.fail(error);
        this.logger.warn(`scheduled reclamation failed: ${(error as Error).message}`);
        return null;
      }
    });
  }
}
