import { Inject, Injectable } from '@nestjs/common';
import { CONFIG, type Config } from '../config/config.js';
import { PrismaService } from '../database/prisma.service.js';

export interface SeatUsageRow {
  date: string;
  tenant: string;
  /** Most seats the tenant held at once that day. */
  peakSeats: number;
  /** Seats held at any moment of the day: what Metabase bills for that day (deactivation day included). */
  seatDays: number;
  cost?: number;
}

export interface SeatUsageReport {
  from: string;
  to: string;
  currency?: string;
  rows: SeatUsageRow[];
  daily: { date: string; peakSeats: number; seatDays: number; budget: number; cost?: number }[];
  tenants: { tenant: string; peakSeats: number; seatDays: number; cost?: number }[];
  totals: { peakSeats: number; seatDays: number; budget: number; peakOverBudgetDays: number; cost?: number };
}

const DAY_MS = 86_400_000;
const isoDay = (date: Date) => date.toISOString().slice(0, 10);
const round2 = (n: number) => Math.round(n * 100) / 100;

type Daily = { key: string; day: string; max_after: number; allocations: number; end_held: number };

/**
 * The finance report, computed from the append-only seat history: per UTC day and tenant, the
 * peak seats held and the seat-days (seats held at any moment of that day). Both queries read
 * seat_events by its (tenant_id, at) and (at) indexes: a year for 10,000 tenants is two range scans.
 */
@Injectable()
export class SeatUsageReports {
  constructor(
    private readonly prisma: PrismaService,
    @Inject(CONFIG) private readonly config: Config,
  ) {}

  async build(from: Date, to: Date): Promise<SeatUsageReport> {
    const end = new Date(to.getTime() + DAY_MS);
    const [tenantStart, tenantDaily, globalStart, globalDaily, tenants, budgets, license] = await Promise.all([
      this.prisma.$queryRaw<{ key: string; held: number }[]>`
        SELECT DISTINCT ON (tenant_id) tenant_id::text AS key, tenant_held_after AS held
        FROM seat_events WHERE at < ${from} ORDER BY tenant_id, at DESC, id DESC`,
      this.prisma.$queryRaw<Daily[]>`
        SELECT tenant_id::text AS key, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day,
               max(tenant_held_after) AS max_after,
               count(*) FILTER (WHERE kind = 'allocated')::int AS allocations,
               (array_agg(tenant_held_after ORDER BY at DESC, id DESC))[1] AS end_held
        FROM seat_events WHERE at >= ${from} AND at < ${end} GROUP BY 1, 2`,
      this.prisma.$queryRaw<{ held: number }[]>`
        SELECT seats_held_after AS held FROM seat_events WHERE at < ${from} ORDER BY at DESC, id DESC LIMIT 1`,
      this.prisma.$queryRaw<Daily[]>`
        SELECT '' AS key, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day,
               max(seats_held_after) AS max_after,
               count(*) FILTER (WHERE kind = 'allocated')::int AS allocations,
               (array_agg(seats_held_after ORDER BY at DESC, id DESC))[1] AS end_held
        FROM seat_events WHERE at >= ${from} AND at < ${end} GROUP BY 1, 2`,
      this.prisma.tenant.findMany({ select: { id: true, slug: true } }),
      this.prisma.auditEvent.findMany({ where: { type: 'license.budget_changed' }, orderBy: { id: 'asc' }, select: { at: true, data: true } }),
      this.prisma.license.findUniqueOrThrow({ where: { id: 1 } }),
    ]);

    const days: string[] = [];
    for (let t = from.getTime(); t < end.getTime(); t += DAY_MS) days.push(isoDay(new Date(t)));
    const price = this.config.seatPrice?.perDay;
    const costOf = (seatDays: number) => (price === undefined ? undefined : round2(seatDays * price));

    /** Walks the days carrying the seats held from one day to the next. */
    const walk = (startHeld: number, daily: Daily[]) => {
      const byDay = new Map(daily.map((d) => [d.day, d]));
      let held = startHeld;
      return days.map((date) => {
        const d = byDay.get(date);
        const peakSeats = Math.max(held, d?.max_after ?? 0);
        const seatDays = held + (d?.allocations ?? 0);
        if (d) held = d.end_held;
        return { date, peakSeats, seatDays };
      });
    };

    const slugOf = new Map(tenants.map((t) => [t.id, t.slug]));
    const startByTenant = new Map(tenantStart.map((r) => [r.key, r.held]));
    const dailyByTenant = new Map<string, Daily[]>();
    for (const row of tenantDaily) dailyByTenant.set(row.key, [...(dailyByTenant.get(row.key) ?? []), row]);
    const tenantIds = [...new Set([...startByTenant.keys(), ...dailyByTenant.keys()])].sort((a, b) =>
      (slugOf.get(a) ?? a).localeCompare(slugOf.get(b) ?? b),
    );

    const rows: SeatUsageRow[] = [];
    const tenantTotals: SeatUsageReport['tenants'] = [];
    for (const id of tenantIds) {
      const series = walk(startByTenant.get(id) ?? 0, dailyByTenant.get(id) ?? []);
      const tenant = slugOf.get(id) ?? id;
      let peak = 0;
      let seatDays = 0;
      for (const day of series) {
        if (day.peakSeats === 0 && day.seatDays === 0) continue;
        rows.push({ date: day.date, tenant, peakSeats: day.peakSeats, seatDays: day.seatDays, ...(price !== undefined ? { cost: costOf(day.seatDays) } : {}) });
        peak = Math.max(peak, day.peakSeats);
        seatDays += day.seatDays;
      }
      if (seatDays > 0) tenantTotals.push({ tenant, peakSeats: peak, seatDays, ...(price !== undefined ? { cost: costOf(seatDays) } : {}) });
    }
    rows.sort((a, b) => a.date.localeCompare(b.date) || a.tenant.localeCompare(b.tenant));

    // The budget in force at the end of each day, from the audited budget changes.
    const budgetAt = (endOfDay: Date) => {
      let budget: number | undefined;
      for (const change of budgets) {
        const data = change.data as { from?: number; to?: number };
        if (change.at < endOfDay) budget = data.to;
        else return budget ?? data.from ?? license.seatBudget;
      }
      return budget ?? license.seatBudget;
    };
    const daily = walk(globalStart[0]?.held ?? 0, globalDaily).map((day) => ({
      ...day,
      budget: budgetAt(new Date(new Date(`${day.date}T00:00:00Z`).getTime() + DAY_MS)),
      ...(price !== undefined ? { cost: costOf(day.seatDays) } : {}),
    }));
    const totalSeatDays = daily.reduce((sum, d) => sum + d.seatDays, 0);
    return {
      from: isoDay(from),
      to: isoDay(to),
      ...(price !== undefined ? { currency: this.config.seatPrice!.currency } : {}),
      rows,
      daily,
      tenants: tenantTotals,
      totals: {
        peakSeats: Math.max(0, ...daily.map((d) => d.peakSeats)),
        seatDays: totalSeatDays,
        budget: license.seatBudget,
        peakOverBudgetDays: daily.filter((d) => d.peakSeats > d.budget).length,
        ...(price !== undefined ? { cost: costOf(totalSeatDays) } : {}),
      },
    };
  }
}
