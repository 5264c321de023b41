import { Injectable } from '@nestjs/common';
import { PrismaService } from '../database/prisma.service.js';
import type { BatchOutcome, TenantViewers, UsageBatch, UsageReportRow } from './usage.js';

type ReportRow = { date: string; tenant: string; resource: string; guest: number; sso: number; denied: number; viewers: number };
type TenantViewersRow = { tenant: string; viewers: number };

const toReportRow = (row: ReportRow): UsageReportRow => ({
  date: row.date,
  tenant: row.tenant,
  resource: row.resource,
  guest: row.guest,
  sso: row.sso,
  denied: row.denied,
  viewers: row.viewers,
});
const toTenantViewers = (row: TenantViewersRow): TenantViewers => ({ tenant: row.tenant, viewers: row.viewers });

/**
 * The usage roll-up's tables: usage_daily (embeds by day, tenant, resource and mode), usage_viewers
 * (distinct user ids) and usage_batches (the flushes applied). A flush is set-based SQL (unnest of
 * arrays: one statement per table, whatever the batch's size), on a connection of its own.
 */
@Injectable()
export class UsageRepository {
  constructor(private readonly prisma: PrismaService) {}

  /**
   * Applies one batch in one transaction: its id first (a batch already applied stops there: a retry
   * whose first attempt committed), then the counts added to the day's rows and the viewers inserted
   * once. Any failure rolls all of it back.
   *
   * Flushes of all instances take turns (the table lock below, which reads do not wait for): two
   * flushes inserting the same rows in different orders could otherwise deadlock. The batch travels
   * as one JSON parameter: serializing it is native and cheap, where a text array escapes each value.
   *
   * When `abandon` fires (shutdown, once its last flush had its time), the connection is closed, so that
   * the pool can close behind it: a database that does not answer must not hold the process. A batch
   * abandoned so is not counted twice either: its transaction never committed, or its id says it did.
   */
  async applyBatch(batch: UsageBatch, abandon?: AbortSignal): Promise<BatchOutcome> {
    const client = await this.prisma.pool.connect();
    let released = false;
    // A connection given back with an error is closed rather than pooled (its state is unknown).
    const release = (error?: Error) => {
      if (released) return;
      released = true;
      client.release(error);
    };
    const onAbandon = () => release(new Error('the usage flush was abandoned at shutdown'));
    if (abandon?.aborted) onAbandon();
    else abandon?.addEventListener('abort', onAbandon, { once: true });
    try {
      await client.query('BEGIN');
      await client.query('LOCK TABLE usage_daily IN SHARE ROW EXCLUSIVE MODE');
      const entries = JSON.stringify(batch.entries.map((e) => ({ d: e.day, t: e.tenantId, r: e.resourceKey, g: e.guest, s: e.sso, x: e.denied, u: e.users })));
      const { rows } = await client.query<{ applied: boolean }>(
        `WITH batch AS (
           INSERT INTO usage_batches (id, instance, embeds, viewers) VALUES ($1::uuid, $2, $3, $4) ON CONFLICT (id) DO NOTHING RETURNING id),
         entries AS (
           SELECT e.* FROM json_to_recordset($5::json) AS e(d date, t uuid, r varchar, g int, s int, x int, u text[])
           WHERE EXISTS (SELECT 1 FROM batch)),
         counted AS (
           INSERT INTO usage_daily (day, tenant_id, resource_key, guest, sso, denied)
           SELECT d, t, r, g, s, x FROM entries
           ON CONFLICT (day, tenant_id, resource_key) DO UPDATE
             SET guest = usage_daily.guest + excluded.guest, sso = usage_daily.sso + excluded.sso, denied = usage_daily.denied + excluded.denied),
         seen AS (
           INSERT INTO usage_viewers (day, tenant_id, resource_key, user_id)
           SELECT e.d, e.t, e.r, v.user_id FROM entries e CROSS JOIN LATERAL unnest(e.u) AS v(user_id)
           ON CONFLICT DO NOTHING)
         SELECT EXISTS (SELECT 1 FROM batch) AS applied`,
        [batch.id, batch.instance, batch.embeds, batch.viewers, entries],
      );
      await client.query('COMMIT');
      return rows[0].applied ? 'applied' : 'duplicate';
    } catch (error) {
      if (!released) await client.query('ROLLBACK').catch(() => undefined);
      release(error as Error);
      throw error;
    } finally {
      abandon?.removeEventListener('abort', onAbandon);
      release();
    }
  }

  /** Per day, tenant and resource in [from, to] (UTC days), optionally one tenant's (by slug). */
  async report(from: string, to: string, tenantSlug?: string): Promise<UsageReportRow[]> {
    const rows = await this.prisma.sql<ReportRow>(
      `SELECT to_char(d.day, 'YYYY-MM-DD') AS date, t.slug AS tenant, d.resource_key AS resource, d.guest, d.sso, d.denied,
              (SELECT count(*) FROM usage_viewers v
                WHERE v.day = d.day AND v.tenant_id = d.tenant_id AND v.resource_key = d.resource_key)::int AS viewers
       FROM usage_daily d JOIN tenants t ON t.id = d.tenant_id
       WHERE d.day BETWEEN $1::date AND $2::date AND ($3::text IS NULL OR t.slug = $3)
       ORDER BY 1, 2, 3`,
      [from, to, tenantSlug ?? null],
    );
    return rows.map(toReportRow);
  }

  /** Each tenant's distinct viewers over [from, to] (UTC days): a user once, whatever the days and resources. */
  async viewersByTenant(from: string, to: string, tenantSlug?: string): Promise<TenantViewers[]> {
    const rows = await this.prisma.sql<TenantViewersRow>(
      `SELECT t.slug AS tenant, count(DISTINCT v.user_id)::int AS viewers
       FROM usage_viewers v JOIN tenants t ON t.id = v.tenant_id
       WHERE v.day BETWEEN $1::date AND $2::date AND ($3::text IS NULL OR t.slug = $3)
       GROUP BY t.slug ORDER BY t.slug`,
      [from, to, tenantSlug ?? null],
    );
    return rows.map(toTenantViewers);
  }

  /** The first day the roll-up has any count for (null before any flush). */
  async firstDay(): Promise<string | null> {
    const [row] = await this.prisma.sql<{ day: string | null }>(`SELECT to_char(min(day), 'YYYY-MM-DD') AS day FROM usage_daily`);
    return row?.day ?? null;
  }
}
