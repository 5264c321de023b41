import type { TestDatabase } from './database.js';

/** One seat event: [at, tenant slug, kind, the tenant's seats held after it, the license's seats held after it]. */
export type SeatHistoryEvent = [string, string, 'allocated' | 'released', number, number];

/** Writes seat history at given times, as the ledger would have (the table is append-only; budget 10). */
export async function writeSeatHistory(db: TestDatabase, events: SeatHistoryEvent[]): Promise<void> {
  const tenants = Object.fromEntries((await db.query<{ id: string; slug: string }>('SELECT id, slug FROM tenants')).map((t) => [t.slug, t.id]));
  for (const [at, tenant, kind, tenantHeldAfter, seatsHeldAfter] of events) {
    await db.query(
      `INSERT INTO seat_events (seat_id, tenant_id, user_id, kind, reason, actor, seats_held_after, tenant_held_after, seat_budget, at)
       VALUES (gen_random_uuid(), $1, 'u', $2, 'test', 'test', $3, $4, 10, $5)`,
      [tenants[tenant], kind, seatsHeldAfter, tenantHeldAfter, at],
    );
  }
}
