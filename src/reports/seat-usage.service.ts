import { Inject, Injectable } from '@nestjs/common';
import { CONFIG, type Config } from '../config/config.js';
import { LicenseService } from '../license/license.service.js';
import { SeatUsageRepository, type DailySeatHistory } from './seat-usage.repository.js';
import { DAY_MS, isoDay, round2 } from '../common/days.js';

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

/**
 * The finance report, computed from the append-only seat history: per UTC day and tenant, the
 * peak seats held and the seat-days (seats held at any moment of that day); the budget in force each
 * day from the budget's own history (license_budget_changes).
 */
@Injectable()
export class SeatUsageReports {
  constructor(
    private readonly history: SeatUsageRepository,
    private readonly license: LicenseService,
    @Inject(CONFIG) private readonly config: Config,
  ) {}

  async build(from: Date, to: Date): Promise<SeatUsageReport> {
    const end = new Date(to.getTime() + DAY_MS);
    const [tenantStart, tenantDaily, globalStart, globalDaily, tenants, budgets] = await Promise.all([
      this.history.tenantsHeldBefore(from),
      this.history.tenantDaily(from, end),
      this.history.licenseHeldBefore(from),
      this.history.licenseDaily(from, end),
      this.history.tenantSlugs(),
      this.license.budgetHistory(),
    ]);

    const days: string[] = [];
    for (let t = from.getTime(); t < end.getTime(); t += DAY_MS) days.push(isoDay(new Date(t)));
    const price = this.config.seatPrice?.perDay;
    const costOf = (seatDays: number) => (price === undefined ? undefined : round2(seatDays * price));

    /** Walks the days carrying the seats held from one day to the next. */
    const walk = (startHeld: number, daily: DailySeatHistory[]) => {
      const byDay = new Map(daily.map((d) => [d.day, d]));
      let held = startHeld;
      return days.map((date) => {
        const d = byDay.get(date);
        const peakSeats = Math.max(held, d?.maxAfter ?? 0);
        const seatDays = held + (d?.allocations ?? 0);
        if (d) held = d.endHeld;
        return { date, peakSeats, seatDays };
      });
    };

    const slugOf = new Map(tenants.map((t) => [t.id, t.slug]));
    const startByTenant = new Map(tenantStart.map((r) => [r.key, r.held]));
    const dailyByTenant = new Map<string, DailySeatHistory[]>();
    for (const row of tenantDaily) dailyByTenant.set(row.key, [...(dailyByTenant.get(row.key) ?? []), row]);
    const tenantIds = [...new Set([...startByTenant.keys(), ...dailyByTenant.keys()])].sort((a, b) => (slugOf.get(a) ?? a).localeCompare(slugOf.get(b) ?? b));

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

    // The budget in force at the end of each day, from the budget's history; before its first entry,
    // the budget that entry changed (or, for the initial budget, that budget itself).
    const budgetAt = (endOfDay: Date) => {
      let budget: number | undefined;
      for (const change of budgets.changes) {
        if (change.changedAt < endOfDay) budget = change.seatBudget;
        else return budget ?? change.previousBudget ?? change.seatBudget;
      }
      return budget ?? budgets.seatBudget;
    };
    const daily = walk(globalStart, globalDaily).map((day) => ({
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
        budget: budgets.seatBudget,
        peakOverBudgetDays: daily.filter((d) => d.peakSeats > d.budget).length,
        ...(price !== undefined ? { cost: costOf(totalSeatDays) } : {}),
      },
    };
  }
}
