import { Injectable } from '@nestjs/common';
import { PrismaService } from '../database/prisma.service.js';
import type { SeatHistoryEvent } from './billing-rule.js';

/** The seats held (by a tenant, or by the whole license) right before a range starts. */
export interface HeldAtStart {
  /** The tenant's id; '' for the whole license. */
  key: string;
  held: number;
}

/** One UTC day of seat history: of one tenant (key: its id), or of the whole license (key ''). */
export interface DailySeatHistory {
  key: string;
  /** YYYY-MM-DD (UTC). */
  day: string;
  /** Most seats held right after any event of the day. */
  maxAfter: number;
  /** Seats allocated that day. */
  allocations: number;
  /** Seats held after the day's last event. */
  endHeld: number;
}

type HeldRow = { key: string; held: number };
type DailyRow = { key: string; day: string; max_after: number; allocations: number; end_held: number };

type EventRow = { tenant: string; held: number; at: Date };
const toEvent = (row: EventRow): SeatHistoryEvent => ({ at: row.at.getTime(), tenant: row.tenant, tenantHeldAfter: row.held });

const toHeld = (row: HeldRow): HeldAtStart => ({ key: row.key, held: row.held });
const toDaily = (row: DailyRow): DailySeatHistory => ({
  key: row.key,
  day: row.day,
  maxAfter: row.max_after,
  allocations: row.allocations,
  endHeld: row.end_held,
});

/**
 * The seat-usage report's reads of the append-only seat history: they use seat_events' (tenant_id, at)
 * and (at) indexes, so a year for 10,000 tenants is a few range scans.
 */
@Injectable()
export class SeatUsageRepository {
  constructor(private readonly prisma: PrismaService) {}

  /** Each tenant's seats held right before `from` (tenants with any history before it). */
  async tenantsHeldBefore(from: Date): Promise<HeldAtStart[]> {
    const rows = await this.prisma.$queryRaw<HeldRow[]>`
      SELECT DISTINCT ON (tenant_id) tenant_id::text AS key, tenant_held_after AS held
      FROM seat_events WHERE at < ${from} ORDER BY tenant_id, at DESC, id DESC`;
    return rows.map(toHeld);
  }

  /** Per tenant and UTC day in [from, end): the day's seat history. */
  async tenantDaily(from: Date, end: Date): Promise<DailySeatHistory[]> {
    const rows = await this.prisma.$queryRaw<DailyRow[]>`
      SELECT tenant_id::text AS key, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day,
             max(tenant_held_after) AS max_after,
             count(*) FILTER (WHERE kind = 'allocated')::int AS allocations,
             (array_agg(tenant_held_after ORDER BY at DESC, id DESC))[1] AS end_held
      FROM seat_events WHERE at >= ${from} AND at < ${end} GROUP BY 1, 2`;
    return rows.map(toDaily);
  }

  /** The license's seats held right before `from` (0 with no history before it). */
  async licenseHeldBefore(from: Date): Promise<number> {
    const [row] = await this.prisma.$queryRaw<{ held: number }[]>`
      SELECT seats_held_after AS held FROM seat_events WHERE at < ${from} ORDER BY at DESC, id DESC LIMIT 1`;
    return row?.held ?? 0;
  }

  /** Per UTC day in [from, end): the whole license's seat history (key ''). */
  async licenseDaily(from: Date, end: Date): Promise<DailySeatHistory[]> {
    const rows = await this.prisma.$queryRaw<DailyRow[]>`
      SELECT '' AS key, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day,
             max(seats_held_after) AS max_after,
             count(*) FILTER (WHERE kind = 'allocated')::int AS allocations,
             (array_agg(seats_held_after ORDER BY at DESC, id DESC))[1] AS end_held
      FROM seat_events WHERE at >= ${from} AND at < ${end} GROUP BY 1, 2`;
    return rows.map(toDaily);
  }

  /** Every seat event in [from, end), in the ledger's order (time, then id): the billing report's history. */
  async seatEvents(from: Date, end: Date): Promise<SeatHistoryEvent[]> {
    const rows = await this.prisma.$queryRaw<EventRow[]>`
      SELECT tenant_id::text AS tenant, tenant_held_after AS held, at
      FROM seat_events WHERE at >= ${from} AND at < ${end} ORDER BY at, id`;
    return rows.map(toEvent);
  }

  /** Every tenant's slug by id (the history keeps ids; the report shows slugs). */
  async tenantSlugs(): Promise<{ id: string; slug: string }[]> {
    return this.prisma.tenant.findMany({ select: { id: true, slug: true } });
  }
}
