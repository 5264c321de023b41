import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { CONFIG, type Config } from '../config/config.js';
import { ATTR, inWorkerSpan, WORKER, type WorkerSpan } from '../tracing/spans.js';
import { WebhookDeliveryRepository } from './webhook-delivery.repository.js';
import { SendError, sendWebhook } from './webhook-sender.js';
import { signWebhook } from './webhook-signing.js';
import type { ClaimedDelivery, DeliveryOutcome } from './webhook.js';

/** Deliveries claimed at once and sent side by side. */
const BATCH_SIZE = 20;
/** Batches one run works through before it lets the next tick start (a burst drains over a few ticks). */
const MAX_BATCHES_PER_RUN = 10;
/** Room in a lease beyond the attempt's timeout, for the database round trips around it. */
const LEASE_MARGIN_MS = 5_000;

export interface DeliveryRun {
  claimed: number;
  delivered: number;
  retrying: number;
  /** Dead-lettered: the last attempt failed. */
  failed: number;
  /** Claimed by another worker once this one's lease ran out, or changed by an admin meanwhile: not recorded here. */
  lost: number;
}

/** How one attempt ended: the count of the run it adds to, or `released` (given back at shutdown, counted nowhere). */
type AttemptOutcome = Exclude<keyof DeliveryRun, 'claimed'> | 'released';

/**
 * The delay before attempt n+1: exponential from WEBHOOK_BACKOFF_BASE_MS (doubling per attempt, capped
 * at WEBHOOK_BACKOFF_MAX_MS), with jitter (between half and all of it) so that the deliveries of one
 * outage do not all come back at once.
 */
export function backoffMs(attempts: number, config: { backoffBaseMs: number; backoffMaxMs: number }, random = Math.random): number {
  const ceiling = Math.min(config.backoffMaxMs, config.backoffBaseMs * 2 ** Math.min(Math.max(0, attempts - 1), 40));
  return Math.round(ceiling * (0.5 + random() * 0.5));
}

/**
 * The webhook delivery worker, on every instance: every WEBHOOK_POLL_INTERVAL_MS it claims due
 * deliveries (FOR UPDATE SKIP LOCKED, leased for one attempt: two workers never send one delivery at
 * once, and a worker that dies leaves its claims due again when their lease ends), signs each
 * (Standard Webhooks, with the event's id as `webhook-id` on every attempt) and POSTs it. A 2xx is
 * delivered; anything else (a status, a timeout, a refused target) is retried with backoff, and after
 * WEBHOOK_MAX_ATTEMPTS attempts the delivery is failed: a dead letter, kept until an admin retries it.
 */
@Injectable()
export class WebhookDeliveryWorker implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('WebhookDeliveryWorker');
  private readonly leaseSeconds: number;
  private readonly stopping = new AbortController();
  private running: Promise<DeliveryRun> | null = null;

  constructor(
    private readonly deliveries: WebhookDeliveryRepository,
    private readonly scheduler: SchedulerRegistry,
    @Inject(CONFIG) private readonly config: Pick<Config, 'webhooks'>,
  ) {
    this.leaseSeconds = Math.ceil((config.webhooks.timeoutMs + LEASE_MARGIN_MS) / 1000);
  }

  onApplicationBootstrap(): void {
    const timer = setInterval(() => void this.runOnce(), this.config.webhooks.pollIntervalMs);
    this.scheduler.addInterval('webhook-deliveries', timer);
  }

  /** Stops with the database still open: attempts in flight are aborted and their claims given back, due at once. */
  async onModuleDestroy(): Promise<void> {
    this.stopping.abort();
    await this.running;
  }

  /** Works through the due deliveries once (the scheduled tick calls this; so can tests). A run in progress is joined. */
  runOnce(): Promise<DeliveryRun> {
    if (this.stopping.signal.aborted) return Promise.resolve({ claimed: 0, delivered: 0, retrying: 0, failed: 0, lost: 0 });
    this.running ??= this.run().finally(() => (this.running = null));
    return this.running;
  }

  private async run(): Promise<DeliveryRun> {
    const run: DeliveryRun = { claimed: 0, delivered: 0, retrying: 0, failed: 0, lost: 0 };
    try {
      for (let batch = 0; batch < MAX_BATCHES_PER_RUN && !this.stopping.signal.aborted; batch++) {
        const claims = await this.deliveries.claimDue(BATCH_SIZE, this.leaseSeconds);
        run.claimed += claims.length;
        await Promise.all(claims.map((claim) => this.attemptTraced(claim, run)));
        if (claims.length < BATCH_SIZE) break;
      }
    } catch (error) {
      this.logger.warn(`webhook delivery run failed: ${(error as Error).message}`);
    }
    if (run.claimed) this.logger.log(`webhook deliveries: ${JSON.stringify(run)}`);
    return run;
  }

  /** One attempt in a trace of its own: the POST and the recording of its outcome (the claim, a poll, makes none). */
  private attemptTraced(claim: ClaimedDelivery, run: DeliveryRun): Promise<void> {
    return inWorkerSpan(WORKER.webhooks, async (span) => {
      span.set({ [ATTR.attempt]: claim.attempts });
      const outcome = await this.attempt(claim, span);
      span.set({ [ATTR.outcome]: outcome });
      if (outcome !== 'released') run[outcome]++;
    });
  }

  private async attempt(claim: ClaimedDelivery, span: WorkerSpan): Promise<AttemptOutcome> {
    const { webhooks } = this.config;
    let outcome: DeliveryOutcome;
    let thrown: unknown;
    try {
      const request = signWebhook({ id: claim.eventId, type: claim.type, at: claim.at, data: claim.data }, claim.secrets, new Date());
      const answer = await sendWebhook(claim.url, request, { timeoutMs: webhooks.timeoutMs, policy: webhooks, signal: this.stopping.signal });
      outcome =
        answer.status >= 200 && answer.status < 300
          ? { status: 'delivered', httpStatus: answer.status }
          : this.failure(claim, answer.status, `HTTP ${answer.status}${answer.excerpt ? `: ${answer.excerpt}` : ''}`);
    } catch (error) {
      if (this.stopping.signal.aborted) {
        await this.deliveries.release(claim).catch(() => undefined);
        return 'released';
      }
      thrown = error;
      outcome = this.failure(claim, null, error instanceof SendError ? error.message : `unexpected: ${(error as Error).message}`);
    }
    if (outcome.status !== 'delivered') span.fail(thrown);
    try {
      if (!(await this.deliveries.finish(claim, outcome))) return 'lost';
    } catch (error) {
      span.fail(error);
      // The lease runs out and another attempt follows: a delivered event may come twice (same webhook-id).
      this.logger.warn(`webhook delivery ${claim.id}: the outcome could not be recorded: ${(error as Error).message}`);
      return 'lost';
    }
    if (outcome.status === 'failed') {
      this.logger.warn(`webhook delivery ${claim.id} (event ${claim.eventId}, ${claim.type}) failed after ${claim.attempts} attempts: ${outcome.error}`);
    }
    return outcome.status === 'pending' ? 'retrying' : outcome.status;
  }

  private failure(claim: ClaimedDelivery, httpStatus: number | null, error: string): DeliveryOutcome {
    const { webhooks } = this.config;
    const message = error.slice(0, 1_000);
    if (claim.attempts >= webhooks.maxAttempts) return { status: 'failed', httpStatus, error: message };
    return { status: 'pending', httpStatus, error: message, nextAttemptAt: new Date(Date.now() + backoffMs(claim.attempts, webhooks)) };
  }
}
