import { Injectable } from '@nestjs/common';
import { shippedMigrations } from '../database/migrations.js';
import { HealthRepository } from './health.repository.js';

export type Readiness =
  | { status: 'ok'; database: 'ok'; migrations: 'ok' }
  | { status: 'unavailable'; database: 'unreachable' }
  | { status: 'unavailable'; database: 'ok'; migrations: 'pending'; pending: number };

@Injectable()
export class HealthService {
  /** The schema this build needs; null once the database was seen with all of it (it never goes back). */
  private awaited: string[] | null;

  constructor(private readonly database: HealthRepository) {
    this.awaited = shippedMigrations();
  }

  /**
   * Ready: the database answers, and it has every migration this build ships. The second matters
   * when migrations run apart from the replicas (MIGRATE_ON_START=false, the Kubernetes migration
   * Job): a new replica that starts before the Job finished stays out of the Service's endpoints
   * instead of serving the new code against the old schema.
   */
  async readiness(): Promise<Readiness> {
    try {
      await this.database.ping();
      if (this.awaited) {
        const pending = await this.database.unappliedMigrations(this.awaited);
        if (pending.length > 0) return { status: 'unavailable', database: 'ok', migrations: 'pending', pending: pending.length };
        this.awaited = null;
      }
      return { status: 'ok', database: 'ok', migrations: 'ok' };
    } catch {
      return { status: 'unavailable', database: 'unreachable' };
    }
  }
}
