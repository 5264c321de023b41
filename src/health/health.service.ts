import { Injectable, Logger } from '@nestjs/common';
import { HealthRepository } from './health.repository.js';

export type Readiness =
  | { status: 'ok'; database: 'ok'; migrations: 'ok' }
  | { status: 'unavailable'; database: 'unreachable' }
  | { status: 'unavailable'; database: 'ok'; migrations: 'pending'; pending: number }
  | { status: 'unavailable'; database: 'ok'; migrations: 'unknown' };

@Injectable()
export class HealthService {
  private readonly logger = new Logger('HealthService');
  /** The schema this build needs; null once the database was seen with all of it (it never goes back). */
  private awaited: readonly string[] | null;
  /** Whether the last migration check failed (logged once per run of failures, not at every probe). */
  private checkFailing = false;

  constructor(private readonly database: HealthRepository) {
    this.awaited = database.shipped;
  }

  /**
   * Ready: the database answers, and it has every migration this build ships. The second matters
   * when migrations run apart from the replicas (MIGRATE_ON_START=false, the Kubernetes migration
   * Job): a new replica that starts before the Job finished stays out of the Service's endpoints
   * instead of serving the new code against the old schema. A check that cannot read Prisma's
   * record (a role without SELECT on _prisma_migrations) says so: `migrations: unknown`, logged.
   */
  async readiness(): Promise<Readiness> {
    try {
      await this.database.ping();
    } catch {
      return { status: 'unavailable', database: 'unreachable' };
    }
    if (!this.awaited) return { status: 'ok', database: 'ok', migrations: 'ok' };
    let pending: string[];
    try {
      pending = await this.database.unappliedMigrations(this.awaited);
    } catch (error) {
      if (!this.checkFailing) this.logger.warn(`readiness cannot read the applied migrations (_prisma_migrations): ${(error as Error).message}`);
      this.checkFailing = true;
      return { status: 'unavailable', database: 'ok', migrations: 'unknown' };
    }
    this.checkFailing = false;
    if (pending.length > 0) return { status: 'unavailable', database: 'ok', migrations: 'pending', pending: pending.length };
    this.awaited = null;
    return { status: 'ok', database: 'ok', migrations: 'ok' };
  }
}
