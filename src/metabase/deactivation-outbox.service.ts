import { Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { CONFIG, type Config } from '../config/config.js';
import type { Tx } from '../database/transactions.js';
import { ATTR, inWorkerSpan, WORKER, type WorkerSpan } from '../tracing/spans.js';
import { longestReadMs, MetabaseApiClient, MetabaseApiError } from './metabase-api.client.js';
import { OutboxRepository, type OutboxJob, type OutboxResult } from './outbox.repository.js';

/** Room in a lease beyond its call's deadline, for the database round trips before and after the call. */
const LEASE_MARGIN_MS = 5_000;
const MAX_ATTEMPTS = 50;
/** Jobs one run takes on, one after another; the next run carries on. */
const MAX_JOBS_PER_RUN = 20;

type Job = OutboxJob;

/** What the outbox reads of the configuration (the CLI builds just this). */
export interface OutboxConfig {
  metabase: { api?: Config['metabase']['api'] };
  outbox: Config['outbox'];
}

export interface OutboxRun {
  claimed: number;
  done: number;
  /** The user holds a seat again: nothing sent to Metabase. */
  skipped: number;
  /** Cancelled while this worker held it (the user took a seat again): not finished by this worker. */
  cancelled: number;
  /** Claimed by another worker once this one's lease had run out: left to that worker. */
  takenOver: number;
  retrying: number;
  failed: number;
}

/** How one claimed job ended: the count of the run it adds to. */
type JobOutcome = Exclude<keyof OutboxRun, 'claimed'>;

/** Backoff before attempt n+1: 5 s, 10 s, 20 s, … capped at one hour. */
export const backoffSeconds = (attempts: number) => Math.min(3_600, 5 * 2 ** Math.max(0, attempts - 1));

/**
 * The durable outbox of Metabase deactivations. A released seat enqueues one in the same transaction
 * as the release, so a Metabase outage or a crash never loses it; workers on any instance claim due
 * jobs with FOR UPDATE SKIP LOCKED and retry failures with backoff.
 *
 * A job is leased for one Metabase call at a time: right before each call (the user lookup, then the
 * deactivation) the worker checks in one statement that the job is still its claim, still pending and
 * that the user holds no seat, and extends the lease to the call's deadline plus a margin; the call is
 * aborted at its deadline. So a lease always outlives the call made under it, and a job never has two
 * workers calling Metabase at once. A new seat cancels its user's pending jobs (seat_ledger_acquire).
 */
@Injectable()
export class DeactivationOutbox implements OnApplicationBootstrap {
  private readonly logger = new Logger('DeactivationOutbox');
  private readonly client?: MetabaseApiClient;
  /** The longest one Metabase call of a job may take (a lookup with its retries; a DELETE takes less). */
  private readonly callDeadlineMs: number;
  /** How long a claim or renewal leases a job: the call's deadline plus LEASE_MARGIN_MS. */
  readonly leaseSeconds: number;
  private running = false;

  constructor(
    private readonly jobs: OutboxRepository,
    private readonly scheduler: SchedulerRegistry,
    @Inject(CONFIG) private readonly config: OutboxConfig,
  ) {
    this.client = config.metabase.api ? new MetabaseApiClient(config.metabase.api) : undefined;
    this.callDeadlineMs = longestReadMs(config.metabase.api?.timeoutMs ?? 0);
    this.leaseSeconds = Math.ceil((this.callDeadlineMs + LEASE_MARGIN_MS) / 1000);
  }

  onApplicationBootstrap(): void {
    if (!this.client) {
      this.logger.log('no METABASE_API_KEY: released seats are queued, and Metabase users are not deactivated');
      return;
    }
    const timer = setInterval(() => void this.runOnce(), this.config.outbox.intervalSeconds * 1000);
    this.scheduler.addInterval('metabase-deactivation-outbox', timer);
  }

  /** Queues the deactivation of a released seat's Metabase user, inside the release's transaction. */
  async enqueue(tx: Tx | undefined, jobs: { email: string; seatId: string; reason: string }[]): Promise<void> {
    if (jobs.length === 0) return;
    await this.jobs.enqueue(jobs, tx);
  }

  /** Processes the due jobs once (the scheduled worker calls this; so can tests and the CLI). */
  async runOnce(): Promise<OutboxRun> {
    const run: OutboxRun = { claimed: 0, done: 0, skipped: 0, cancelled: 0, takenOver: 0, retrying: 0, failed: 0 };
    if (!this.client || this.running) return run;
    this.running = true;
    try {
      // A user who holds a seat again (in any tenant) must stay active: those jobs are skipped.
      const skipped = await this.jobs.skipSeated();
      run.skipped += skipped;
      // One job claimed at a time: no job waits out its lease behind the others of a batch.
      while (run.claimed < MAX_JOBS_PER_RUN) {
        const job = await this.claimNext();
        if (!job) break;
        run.claimed++;
        run[await this.processTraced(job)]++;
      }
      if (run.claimed || run.skipped) this.logger.log(`outbox run: ${JSON.stringify(run)}`);
      return run;
    } catch (error) {
      this.logger.warn(`outbox run failed: ${(error as Error).message}`);
      return run;
    } finally {
      this.running = false;
    }
  }

  /** Claims the next due job whose user holds no seat, leased for its first call (the lookup). */
  private claimNext(): Promise<Job | null> {
    return this.jobs.claimNext(this.leaseSeconds);
  }

  /**
   * Right before a call: renews the lease if the job is still this claim, still pending, and its user
   * holds no seat; otherwise says why not (a seated user's job is marked skipped here).
   */
  private async renewLease(job: Job): Promise<'renewed' | 'skipped' | 'cancelled' | 'takenOver'> {
    const state = await this.jobs.renewLease(job, this.leaseSeconds);
    if (state?.renewed) return 'renewed';
    if (state && state.attempts !== job.attempts) return 'takenOver';
    if (!state || state.status !== 'pending') return 'cancelled';
    return (await this.finish(job, { status: 'skipped', outcome: 'the user holds a seat again' })) ? 'skipped' : this.whyNotOurs(job);
  }

  /** Writes the job's result if it is still this claim and still pending; false when it is not. */
  private finish(job: Job, data: OutboxResult): Promise<boolean> {
    return this.jobs.finish(job, data);
  }

  /** Why a job is no longer this claim's to finish: another worker claimed it, or it was cancelled. */
  private async whyNotOurs(job: Job): Promise<'cancelled' | 'takenOver'> {
    const attempts = await this.jobs.attemptsOf(job.id);
    return attempts !== null && attempts !== job.attempts ? 'takenOver' : 'cancelled';
  }

  /** One claimed job in a trace of its own: its Metabase calls, its lease and its result (the claim, a poll, makes none). */
  private processTraced(job: Job): Promise<JobOutcome> {
    return inWorkerSpan(WORKER.outbox, async (span) => {
      span.set({ [ATTR.attempt]: job.attempts });
      const outcome = await this.process(job, span);
      span.set({ [ATTR.outcome]: outcome });
      return outcome;
    });
  }

  private async process(job: Job, span: WorkerSpan): Promise<JobOutcome> {
    const client = this.client!;
    let sent = false;
    try {
      // The claim was this call's check and lease.
      const user = await client.findActiveUserByEmail(job.email, { signal: AbortSignal.timeout(this.callDeadlineMs) });
      let outcome = 'no active metabase user';
      if (user) {
        const renewal = await this.renewLease(job);
        if (renewal !== 'renewed') return renewal;
        sent = true;
        outcome = `${await client.deactivateUser(user.id, { signal: AbortSignal.timeout(this.callDeadlineMs) })} metabase user ${user.id}`;
      }
      if (await this.finish(job, { status: 'done', outcome, lastError: null })) return 'done';
      const why = await this.whyNotOurs(job);
      // The seat was taken while the DELETE was on its way: reconciliation lists that seat's Metabase user as inactive.
      if (sent && why === 'cancelled') this.logger.warn(`outbox job ${job.id}: ${outcome} just as the user took a seat again`);
      return why;
    } catch (error) {
      span.fail(error);
      const message = error instanceof MetabaseApiError ? error.message : `unexpected: ${(error as Error).message}`;
      const giveUp = job.attempts >= MAX_ATTEMPTS;
      const recorded = await this.finish(job, {
        status: giveUp ? 'failed' : 'pending',
        lastError: message.slice(0, 1000),
        nextAttemptAt: new Date(Date.now() + backoffSeconds(job.attempts) * 1000),
      });
      if (!recorded) return await this.whyNotOurs(job);
      return giveUp ? 'failed' : 'retrying';
    }
  }

  counts(): Promise<{ pending: number; failed: number }> {
    return this.jobs.counts();
  }
}
