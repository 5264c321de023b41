import { Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { CONFIG, type Config } from '../config/config.js';
import { PrismaService, type Db } from '../database/prisma.service.js';
import { MetabaseApiClient, MetabaseApiError } from './metabase-api.client.js';

/** A claimed job is leased for this long; a worker that dies mid-job leaves it due again after. */
const LEASE_SECONDS = 120;
const MAX_ATTEMPTS = 50;
const BATCH = 20;

type Job = { id: bigint; email: string; attempts: number };

/** What the outbox reads of the configuration (the CLI builds just this). */
export interface OutboxConfig {
  metabase: { api?: Config['metabase']['api'] };
  outbox: Config['outbox'];
}

export interface OutboxRun {
  claimed: number;
  done: number;
  skipped: number;
  retrying: number;
  failed: number;
}

/** Backoff before attempt n+1: 5 s, 10 s, 20 s, … capped at one hour. */
export const backoffSeconds = (attempts: number) => Math.min(3_600, 5 * 2 ** Math.max(0, attempts - 1));

/**
 * The durable outbox of Metabase deactivations. A released seat enqueues one in the same transaction
 * as the release, so a Metabase outage or a crash never loses it; workers on any instance claim due
 * jobs with FOR UPDATE SKIP LOCKED and retry failures with backoff.
 */
@Injectable()
export class DeactivationOutbox implements OnApplicationBootstrap {
  private readonly logger = new Logger('DeactivationOutbox');
  private readonly client?: MetabaseApiClient;
  private running = false;

  constructor(
    private readonly prisma: PrismaService,
    private readonly scheduler: SchedulerRegistry,
    @Inject(CONFIG) private readonly config: OutboxConfig,
  ) {
    this.client = config.metabase.api ? new MetabaseApiClient(config.metabase.api) : undefined;
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
  async enqueue(tx: Db, jobs: { email: string; seatId: string; reason: string }[]): Promise<void> {
    if (jobs.length === 0) return;
    await tx.metabaseOutbox.createMany({ data: jobs.map((job) => ({ action: 'deactivate-user', ...job })) });
  }

  /** Processes the due jobs once (the scheduled worker calls this; so can tests and the CLI). */
  async runOnce(): Promise<OutboxRun> {
    const run: OutboxRun = { claimed: 0, done: 0, skipped: 0, retrying: 0, failed: 0 };
    if (!this.client || this.running) return run;
    this.running = true;
    try {
      // A user who holds a seat again (in any tenant) must stay active: those jobs are skipped.
      const skipped = await this.prisma.$executeRaw`
        UPDATE metabase_outbox o SET status = 'skipped', outcome = 'the user holds a seat again', updated_at = now()
        WHERE o.status = 'pending' AND o.next_attempt_at <= now()
          AND EXISTS (SELECT 1 FROM seats s WHERE s.email = o.email)`;
      run.skipped += skipped;
      const jobs = await this.prisma.$queryRaw<Job[]>`
        UPDATE metabase_outbox SET attempts = attempts + 1, next_attempt_at = now() + make_interval(secs => ${LEASE_SECONDS}), updated_at = now()
        WHERE id IN (
          SELECT id FROM metabase_outbox WHERE status = 'pending' AND next_attempt_at <= now()
          ORDER BY id LIMIT ${BATCH} FOR UPDATE SKIP LOCKED)
        RETURNING id, email, attempts`;
      run.claimed = jobs.length;
      for (const job of jobs) await this.process(job, run);
      if (run.claimed || run.skipped) this.logger.log(`outbox run: ${JSON.stringify(run)}`);
      return run;
    } catch (error) {
      this.logger.warn(`outbox run failed: ${(error as Error).message}`);
      return run;
    } finally {
      this.running = false;
    }
  }

  private async process(job: Job, run: OutboxRun): Promise<void> {
    try {
      const user = await this.client!.findActiveUserByEmail(job.email);
      const outcome = user ? `${await this.client!.deactivateUser(user.id)} metabase user ${user.id}` : 'no active metabase user';
      await this.prisma.metabaseOutbox.update({ where: { id: job.id }, data: { status: 'done', outcome, lastError: null } });
      run.done++;
    } catch (error) {
      const message = error instanceof MetabaseApiError ? error.message : `unexpected: ${(error as Error).message}`;
      const giveUp = job.attempts >= MAX_ATTEMPTS;
      await this.prisma.metabaseOutbox.update({
        where: { id: job.id },
        data: {
          status: giveUp ? 'failed' : 'pending',
          lastError: message.slice(0, 1000),
          nextAttemptAt: new Date(Date.now() + backoffSeconds(job.attempts) * 1000),
        },
      });
      if (giveUp) run.failed++;
      else run.retrying++;
    }
  }

  async counts(): Promise<{ pending: number; failed: number }> {
    const rows = await this.prisma.metabaseOutbox.groupBy({ by: ['status'], _count: true, where: { status: { in: ['pending', 'failed'] } } });
    const of = (status: string) => rows.find((r) => r.status === status)?._count ?? 0;
    return { pending: of('pending'), failed: of('failed') };
  }
}
