import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { CONFIG, type Config } from '../config/config.js';
import { ATTR, inWorkerSpan, WORKER, type WorkerSpan } from '../tracing/spans.js';
import { UsageBuffer } from './usage-buffer.js';
import { UsageRepository } from './usage.repository.js';
import type { UsageBatch, UsageMode } from './usage.js';
import { DAY_MS } from '../common/days.js';

/** How long the flush at shutdown may take: the process must be gone within 10 s of the signal. */
const SHUTDOWN_FLUSH_MS = 2_000;

/** What one flush did. */
export interface FlushResult {
  /** Batches applied now (a batch left by a failed flush, then the buffer's). */
  applied: number;
  /** Batches found already applied: a retry whose first attempt had committed. */
  duplicates: number;
  embeds: number;
  viewers: number;
}

/**
 * The embed usage roll-up, per instance: `record` (on the embed path, synchronous: a map and a set in
 * memory) and `flush` (every USAGE_FLUSH_SECONDS, early when USAGE_BUFFER_LIMIT viewers are buffered,
 * and at shutdown), which writes what was recorded as one batch in one transaction.
 *
 * Exactly once: a batch gets its id when it leaves the buffer, and its transaction records the id.
 * A flush that fails keeps that batch, with the same id, and the next flush retries it before taking
 * anything new: rolled back, it is applied then; committed (only the answer was lost), its id is
 * found and it is not applied again. A process that dies mid-flush loses its uncommitted batch and the
 * buffer (at most a flush interval of counts) and never counts anything twice; a graceful stop flushes.
 */
@Injectable()
export class UsageRollup implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('UsageRollup');
  /** Names this instance in usage_batches. */
  readonly instance = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  private readonly enabled: boolean;
  private readonly buffer: UsageBuffer;
  /** A batch taken from the buffer and not known to be applied: retried, with its id, before anything else. */
  private pending: UsageBatch | null = null;
  private running: Promise<FlushResult> | null = null;
  private timer?: NodeJS.Timeout;
  private day = '';
  private dayEnds = 0;
  /** After a failed flush, no early flush before this (epoch ms): a database that is down is not asked at the request rate. */
  private earlyFlushAfter = 0;
  /** Fired at shutdown when the last flush did not finish in time: flushes in flight close their connections. */
  private readonly shutdown = new AbortController();

  constructor(
    private readonly repository: UsageRepository,
    @Inject(CONFIG) private readonly config: Pick<Config, 'usage'>,
  ) {
    this.enabled = config.usage.flushSeconds > 0;
    this.buffer = new UsageBuffer(config.usage.bufferLimit);
  }

  onApplicationBootstrap(): void {
    if (!this.enabled) return;
    this.timer = setInterval(() => void this.flushQuietly(), this.config.usage.flushSeconds * 1000);
    this.timer.unref();
  }

  /**
   * Counts one decided embed request of a tenant (none for an unknown tenant or one outside the app's
   * scope). Never waits and never throws: it is on the embed path.
   */
  record(tenantId: string | null | undefined, resourceKey: string, mode: UsageMode, userId: string): void {
    if (!this.enabled || !tenantId) return;
    const now = Date.now();
    if (now >= this.dayEnds) {
      this.day = new Date(now).toISOString().slice(0, 10);
      this.dayEnds = Date.parse(`${this.day}T00:00:00Z`) + DAY_MS;
    }
    if (this.buffer.record(this.day, tenantId, resourceKey, mode, userId) && !this.running && now >= this.earlyFlushAfter) void this.flushQuietly();
  }

  /** Embeds and viewers waiting in memory (the buffer and a batch to retry). */
  buffered(): { embeds: number; viewers: number } {
    const size = this.buffer.size;
    const pending = this.pending;
    return { embeds: size.embeds + (pending?.embeds ?? 0), viewers: size.viewers + (pending?.viewers ?? 0) };
  }

  /**
   * Writes what was recorded: a batch left by a failed flush first (same id), then the buffer. One
   * flush at a time; a call during one waits for it and then flushes what came since. Throws when the
   * database refuses (what was recorded stays, for the next flush).
   */
  async flush(): Promise<FlushResult> {
    while (this.running) await this.running.catch(() => undefined);
    const run = this.flushNow();
    this.running = run;
    try {
      return await run;
    } finally {
      if (this.running === run) this.running = null;
    }
  }

  private async flushNow(): Promise<FlushResult> {
    const result: FlushResult = { applied: 0, duplicates: 0, embeds: 0, viewers: 0 };
    for (;;) {
      if (this.shutdown.signal.aborted) throw new Error('the usage roll-up was shut down');
      if (!this.pending) {
        const drained = this.buffer.drain();
        if (!drained) return result;
        if (drained.droppedViewers) {
          this.logger.warn(`usage buffer was full: ${drained.droppedViewers} viewers were not recorded (the database could not be written)`);
        }
        this.pending = { id: randomUUID(), instance: this.instance, entries: drained.entries, embeds: drained.embeds, viewers: drained.viewers };
      }
      const batch = this.pending;
      const outcome = await this.repository.applyBatch(batch, this.shutdown.signal);
      this.pending = null;
      if (outcome === 'duplicate') {
        result.duplicates++;
        continue;
      }
      result.applied++;
      result.embeds += batch.embeds;
      result.viewers += batch.viewers;
    }
  }

  /**
   * The scheduled and early flushes, each with something to write in a trace of its own (a tick with
   * nothing recorded writes nothing, and makes no trace): a failure is logged, and the counts wait for the next one.
   */
  private async flushQuietly(): Promise<void> {
    if (this.buffered().embeds === 0) return;
    await inWorkerSpan(WORKER.usage, async (span) => {
      try {
        const flushed = await this.flush();
        span.set({ [ATTR.batches]: flushed.applied, [ATTR.embeds]: flushed.embeds, [ATTR.viewers]: flushed.viewers });
      } catch (error) {
        span.fail(error);
        this.earlyFlushAfter = Date.now() + this.config.usage.flushSeconds * 1000;
        const waiting = this.buffered();
        this.logger.warn(`usage flush failed (${waiting.embeds} embeds wait for the next): ${(error as Error).message}`);
      }
    });
  }

  /**
   * At shutdown, after the requests in flight finished and before the database pool closes (Nest's
   * destroy hooks run the global DatabaseModule's last): the last flush, bounded in time.
   */
  async onModuleDestroy(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    if (!this.enabled) return;
    // Something left to write: a trace of its own; nothing (a flush in flight has its own): none.
    await (this.buffered().embeds > 0 ? inWorkerSpan(WORKER.usage, (span) => this.lastFlush(span)) : this.lastFlush());
  }

  private async lastFlush(span?: WorkerSpan): Promise<void> {
    let timeout: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      this.flush().then(
        () => 'flushed' as const,
        (error: unknown) => {
          span?.fail(error);
          return (error as Error).message;
        },
      ),
      new Promise<string>((resolve) => (timeout = setTimeout(() => resolve(`no answer in ${SHUTDOWN_FLUSH_MS} ms`), SHUTDOWN_FLUSH_MS))),
    ]);
    clearTimeout(timeout);
    if (outcome === 'flushed') return;
    span?.fail();
    // A flush still waiting for the database gives its connection up: the pool closes next.
    this.shutdown.abort();
    this.logger.warn(`usage not flushed at shutdown (${this.buffered().embeds} embeds lost): ${outcome}`);
  }
}
