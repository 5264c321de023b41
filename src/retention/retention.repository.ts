import { Injectable } from '@nestjs/common';
import { ADVISORY_LOCK_KEYS } from '../database/advisory-locks.js';
import { PrismaService } from '../database/prisma.service.js';

/**
 * The tables the purge deletes from. The audit log (audit_events) and seat history (seat_events) are
 * not among them, by design: they are the record, kept for good.
 */
export const PURGEABLE_TABLES = [
  'sso_launches',
  'saml_requests',
  'saml_consumed',
  'console_sessions',
  'metabase_outbox',
  'viewer_sessions',
  'webhook_events',
] as const;
export type PurgeableTable = (typeof PURGEABLE_TABLES)[number];

/** The usage roll-up's tables, purged after USAGE_RETENTION_DAYS (RetentionService.purgeUsage). */
export const USAGE_TABLES = ['usage_daily', 'usage_viewers', 'usage_batches'] as const;
export type UsageTable = (typeof USAGE_TABLES)[number];

/**
 * Every other table, and why the purge leaves it: each table of the schema is in exactly one of
 * PURGEABLE_TABLES, USAGE_TABLES and this list (test/e2e/retention.e2e.spec.ts reads the schema), so a
 * new table cannot grow for ever without someone deciding it should.
 */
export const TABLES_KEPT: Readonly<Record<string, string>> = {
  _prisma_migrations: "the migrations applied (Prisma's own)",
  tenants: 'configuration: deleted by an admin',
  resources: 'configuration: deleted by an admin',
  apps: 'configuration: deleted by an admin',
  app_tenants: 'configuration: goes with its app or tenant',
  api_keys: 'configuration: revoked keys stay, so that what they did stays attributable',
  app_oidc_providers: 'configuration: deleted by an admin',
  webhooks: 'configuration: deleted by an admin',
  alert_thresholds: 'configuration: written at boot from ALERT_THRESHOLDS_PERCENT',
  license: 'one row',
  metabase_fail_closed: 'one row',
  cache_epoch: 'one row',
  license_budget_changes: 'the record: the billing and seat-usage reports read the budget in force on each day',
  seats: 'seats held now: a released seat is deleted by the ledger',
  seat_events: 'the record: seat history, read by the billing report',
  audit_events: 'the record: the audit log',
  sso_identities: 'which tenant an SSO email belongs to: dropping one would let another tenant claim the email',
  webhook_deliveries: 'purged with their event (webhook_events, ON DELETE CASCADE)',
  metabase_user_snapshots: "the record: Metabase's active-user counts beside the billing report's days (about 150 rows a day)",
};

/** The SQL of the purge: who holds the purge, and deleting one bounded batch of rows older than a cutoff. */
@Injectable()
export class RetentionRepository {
  constructor(private readonly prisma: PrismaService) {}

  /**
   * Runs `work` holding the retention advisory lock, on a connection set aside for it (the lock is the
   * session's: it goes with the connection should that break); null when another session holds it.
   */
  async whileLocked<T>(work: () => Promise<T>): Promise<T | null> {
    const connection = await this.prisma.pool.connect();
    let unlocked = false;
    try {
      const { rows } = await connection.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1) AS locked', [ADVISORY_LOCK_KEYS.retention]);
      if (!rows[0].locked) {
        unlocked = true;
        return null;
      }
      try {
        return await work();
      } finally {
        await connection.query('SELECT pg_advisory_unlock($1)', [ADVISORY_LOCK_KEYS.retention]).then(
          () => (unlocked = true),
          () => undefined,
        );
      }
    } finally {
      // A connection that may still hold the lock is closed, not pooled: its session ends, and the lock with it.
      connection.release(!unlocked);
    }
  }

  /**
   * Deletes up to `limit` rows of the usage roll-up (src/usage) from before `cutoff`: the counts and
   * viewers of UTC days before the cutoff's day, the record of flushes applied before the cutoff. One
   * short statement; rows a flush holds are left for the next batch (SKIP LOCKED).
   */
  async deleteUsageBatch(table: UsageTable, cutoff: Date, limit: number): Promise<number> {
    const cutoffDay = cutoff.toISOString().slice(0, 10);
    switch (table) {
      case 'usage_daily':
        return this.prisma.$executeRaw`
          DELETE FROM usage_daily WHERE (day, tenant_id, resource_key) IN (
            SELECT day, tenant_id, resource_key FROM usage_daily WHERE day < ${cutoffDay}::date LIMIT ${limit} FOR UPDATE SKIP LOCKED)`;
      case 'usage_viewers':
        return this.prisma.$executeRaw`
          DELETE FROM usage_viewers WHERE (day, tenant_id, resource_key, user_id) IN (
            SELECT day, tenant_id, resource_key, user_id FROM usage_viewers WHERE day < ${cutoffDay}::date LIMIT ${limit} FOR UPDATE SKIP LOCKED)`;
      case 'usage_batches':
        return this.prisma.$executeRaw`
          DELETE FROM usage_batches WHERE id IN (
            SELECT id FROM usage_batches WHERE flushed_at < ${cutoff} LIMIT ${limit} FOR UPDATE SKIP LOCKED)`;
    }
  }

  /**
   * Deletes up to `limit` rows of `table` that stopped being useful before `cutoff`, in one short
   * statement; rows another transaction holds are left for the next batch (SKIP LOCKED).
   */
  async deleteBatch(table: PurgeableTable, cutoff: Date, limit: number): Promise<number> {
    switch (table) {
      case 'sso_launches':
        return this.prisma.$executeRaw`
          DELETE FROM sso_launches WHERE id_hash IN (
            SELECT id_hash FROM sso_launches WHERE expires_at < ${cutoff} LIMIT ${limit} FOR UPDATE SKIP LOCKED)`;
      case 'saml_requests':
        return this.prisma.$executeRaw`
          DELETE FROM saml_requests WHERE id IN (
            SELECT id FROM saml_requests WHERE created_at < ${cutoff} LIMIT ${limit} FOR UPDATE SKIP LOCKED)`;
      case 'saml_consumed':
        return this.prisma.$executeRaw`
          DELETE FROM saml_consumed WHERE id IN (
            SELECT id FROM saml_consumed WHERE created_at < ${cutoff} LIMIT ${limit} FOR UPDATE SKIP LOCKED)`;
      case 'console_sessions':
        return this.prisma.$executeRaw`
          DELETE FROM console_sessions WHERE sid IN (
            SELECT sid FROM console_sessions WHERE expires_at < ${cutoff} LIMIT ${limit} FOR UPDATE SKIP LOCKED)`;
      case 'metabase_outbox':
        // Finished jobs only: a failed one waits for an operator (reconciliation counts it), a pending one is work.
        return this.prisma.$executeRaw`
          DELETE FROM metabase_outbox WHERE id IN (
            SELECT id FROM metabase_outbox WHERE status IN ('done', 'skipped') AND updated_at < ${cutoff}
            LIMIT ${limit} FOR UPDATE SKIP LOCKED)`;
      case 'viewer_sessions':
        // Ended before the cutoff: past its absolute end, revoked, or never exchanged.
        return this.prisma.$executeRaw`
          DELETE FROM viewer_sessions WHERE id IN (
            SELECT id FROM viewer_sessions
             WHERE expires_at < ${cutoff} OR revoked_at < ${cutoff} OR (secret_hash IS NULL AND exchange_expires_at < ${cutoff})
             LIMIT ${limit} FOR UPDATE SKIP LOCKED)`;
      case 'webhook_events':
        // Webhook events older than the cutoff whose every delivery was delivered before it (their
        // deliveries go with them, ON DELETE CASCADE), and those left with no delivery to a webhook that
        // still exists (it was deleted). Pending deliveries and dead letters keep their event.
        return this.prisma.$executeRaw`
          DELETE FROM webhook_events WHERE id IN (
            SELECT e.id FROM webhook_events e
             WHERE e.at < ${cutoff} AND NOT EXISTS (
               SELECT 1 FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id
                WHERE d.event_id = e.id AND NOT (d.status = 'delivered' AND d.updated_at < ${cutoff}))
             LIMIT ${limit} FOR UPDATE OF e SKIP LOCKED)`;
    }
  }
}
