import { Inject, Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { CONFIG, type Config } from '../config/config.js';
import { MetricsService } from '../metrics/metrics.service.js';
import { CacheEpochRepository } from './cache-epoch.repository.js';
import { EpochCache } from './epoch-cache.js';

/**
 * The embed path's caches (API keys, tenants, resources, app scopes), kept correct across instances
 * by one counter in Postgres, `cache_epoch`, that triggers move on every write to those tables.
 * Each instance reads it every CACHE_TTL_MS / 4. A cached row is used only while the epoch it was
 * loaded under is still the current one and that epoch was read less than CACHE_TTL_MS ago, so:
 * - another instance's write is honoured here within CACHE_TTL_MS (the documented bound);
 * - while nothing is written, nothing is reloaded (one query per interval, not one per row);
 * - when Postgres cannot be read, nothing is served from cache (every lookup goes to the database).
 */
@Injectable()
export class Caches implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('Caches');
  private readonly ttlMs: number;
  private epoch: string | null = null;
  /** When the read that gave `epoch` started (ms since the epoch). */
  private epochReadAt = 0;
  private timer?: NodeJS.Timeout;
  private failing = false;

  constructor(
    private readonly epochs: CacheEpochRepository,
    private readonly metrics: MetricsService,
    @Inject(CONFIG) config: Pick<Config, 'cacheTtlMs'>,
  ) {
    this.ttlMs = config.cacheTtlMs;
  }

  /** A cache of rows of one kind, named for the metrics. */
  create<K, V>(name: string, options: { maxEntries?: number } = {}): EpochCache<K, V> {
    const loads = this.metrics.cacheLoads.labels({ cache: name });
    return new EpochCache<K, V>({ epoch: () => this.current(), onLoad: () => loads.inc(), maxEntries: options.maxEntries });
  }

  /** The current epoch, or null when it was not read within CACHE_TTL_MS (with 0, always null: no caching). */
  current(): string | null {
    return Date.now() - this.epochReadAt < this.ttlMs ? this.epoch : null;
  }

  async refresh(): Promise<void> {
    const startedAt = Date.now();
    const epoch = await this.epochs.current();
    if (epoch === null) throw new Error('the cache_epoch row is missing');
    if (startedAt > this.epochReadAt) {
      this.epoch = epoch;
      this.epochReadAt = startedAt;
    }
  }

  async onModuleInit(): Promise<void> {
    if (this.ttlMs <= 0) return;
    const tick = () =>
      this.refresh().then(
        () => {
          if (this.failing) this.logger.log('cache epoch readable again: caches back in use');
          this.failing = false;
        },
        (error: Error) => {
          if (!this.failing) this.logger.warn(`cannot read the cache epoch (${error.message}): caches unused until it can`);
          this.failing = true;
        },
      );
    this.timer = setInterval(() => void tick(), Math.max(25, Math.floor(this.ttlMs / 4)));
    this.timer.unref();
    await tick();
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
  }
}
