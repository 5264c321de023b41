import { Injectable } from '@nestjs/common';
import { PrismaService } from '../database/prisma.service.js';
import { clientOf, type Tx } from '../database/transactions.js';

/** A job as its worker claimed it: `attempts` after the claim identifies the claim. */
export interface OutboxJob {
  id: bigint;
  email: string;
  attempts: number;
}

/** A job's state right before a call, as renewLease found it (null: no such job). */
export interface OutboxJobState {
  status: string;
  attempts: number;
  /** Its user holds a seat (in any tenant). */
  seated: boolean;
  /** The lease was extended: still this claim, still pending, user unseated. */
  renewed: boolean;
}

export type OutboxResult = { status: 'done' | 'skipped' | 'pending' | 'failed'; outcome?: string; lastError?: string | null; nextAttemptAt?: Date };

type JobRow = { id: bigint; email: string; attempts: number };
const toJob = (row: JobRow): OutboxJob => ({ id: row.id, email: row.email, attempts: row.attempts });

type JobStateRow = { status: string; attempts: number; seated: boolean; renewed: boolean };
const toJobState = (row: JobStateRow): OutboxJobState => ({ status: row.status, attempts: row.attempts, seated: row.seated, renewed: row.renewed });

/** The SQL of the Metabase deactivation outbox (metabase_outbox). */
@Injectable()
export class OutboxRepository {
  constructor(private readonly prisma: PrismaService) {}

  /** Queues deactivations inside the caller's transaction (a seat release's). */
  async enqueue(jobs: { email: string; seatId: string; reason: string }[], tx?: Tx): Promise<void> {
    await clientOf(this.prisma, tx).metabaseOutbox.createMany({ data: jobs.map((job) => ({ action: 'deactivate-user', ...job })) });
  }

  /** Marks skipped the due pending jobs whose user holds a seat again (in any tenant); returns how many. */
  async skipSeated(): Promise<number> {
    return this.prisma.$executeRaw`
      UPDATE metabase_outbox o SET status = 'skipped', outcome = 'the user holds a seat again', updated_at = now()
      WHERE o.status = 'pending' AND o.next_attempt_at <= now()
        AND EXISTS (SELECT 1 FROM seats s WHERE s.email = o.email)`;
  }

  /** Claims the next due job whose user holds no seat, leased for `leaseSeconds`. */
  async claimNext(leaseSeconds: number): Promise<OutboxJob | null> {
    const [job] = await this.prisma.$queryRaw<JobRow[]>`
      UPDATE metabase_outbox o
      SET attempts = o.attempts + 1, next_attempt_at = now() + make_interval(secs => ${leaseSeconds}), updated_at = now()
      WHERE o.id = (
        SELECT c.id FROM metabase_outbox c
        WHERE c.status = 'pending' AND c.next_attempt_at <= now() AND NOT EXISTS (SELECT 1 FROM seats s WHERE s.email = c.email)
        ORDER BY c.id LIMIT 1 FOR UPDATE SKIP LOCKED)
      RETURNING o.id, o.email, o.attempts`;
    return job ? toJob(job) : null;
  }

  /**
   * Extends the job's lease by `leaseSeconds` if it is still this claim (`attempts`), still pending,
   * and its user holds no seat; in one statement, returning what it found.
   */
  async renewLease(job: OutboxJob, leaseSeconds: number): Promise<OutboxJobState | null> {
    // FOR UPDATE waits for a seat being taken (it cancels this job in the same transaction) and then reads the job as it left it.
    const [state] = await this.prisma.$queryRaw<JobStateRow[]>`
      WITH job AS (
        SELECT o.id, o.status, o.attempts, EXISTS (SELECT 1 FROM seats s WHERE s.email = o.email) AS seated
        FROM metabase_outbox o WHERE o.id = ${job.id} FOR UPDATE),
      renewed AS (
        UPDATE metabase_outbox o SET next_attempt_at = now() + make_interval(secs => ${leaseSeconds}), updated_at = now()
        FROM job WHERE o.id = job.id AND job.status = 'pending' AND job.attempts = ${job.attempts} AND NOT job.seated
        RETURNING o.id)
      SELECT job.status::text AS status, job.attempts, job.seated, EXISTS (SELECT 1 FROM renewed) AS renewed FROM job`;
    return state ? toJobState(state) : null;
  }

  /** Writes the job's result if it is still this claim and still pending; false when it is not. */
  async finish(job: OutboxJob, data: OutboxResult): Promise<boolean> {
    const { count } = await this.prisma.metabaseOutbox.updateMany({ where: { id: job.id, status: 'pending', attempts: job.attempts }, data });
    return count === 1;
  }

  /** The job's attempts now (null: no such job). */
  async attemptsOf(id: bigint): Promise<number | null> {
    const current = await this.prisma.metabaseOutbox.findUnique({ where: { id }, select: { attempts: true } });
    return current?.attempts ?? null;
  }

  async counts(): Promise<{ pending: number; failed: number }> {
    const rows = await this.prisma.metabaseOutbox.groupBy({ by: ['status'], _count: true, where: { status: { in: ['pending', 'failed'] } } });
    const of = (status: string) => rows.find((r) => r.status === status)?._count ?? 0;
    return { pending: of('pending'), failed: of('failed') };
  }
}
