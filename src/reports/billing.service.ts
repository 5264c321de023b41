import { Inject, Injectable } from '@nestjs/common';
import { CONFIG, type Config } from '../config/config.js';
import { LicenseService } from '../license/license.service.js';
import { BILLING_WINDOW_MS, billableDays } from './billing-rule.js';
import { MetabaseSnapshotRepository } from './metabase-snapshots.repository.js';
import { MetabaseSnapshots } from './metabase-snapshots.service.js';
import { SeatUsageRepository } from './seat-usage.repository.js';
import { DAY_MS, isoDay, round2 } from '../common/days.js';

/** The rule, as the report states it. */
const BILLING_RULE =
  "billable(D) = the most seats held at any instant of [end of D - 36 h, end of D) (UTC: noon of the day before to the end of D), Metabase's daily count; attributed to tenants by their seats in the state that reached it";

export interface BillingDay {
  date: string;
  /** Metabase's count for the day, by its rule, from the seat history. */
  billable: number;
  /** The ledger's own peak: the most seats held at once within the day. */
  ledgerPeak: number;
  /** The seat budget in force at the end of the day. */
  budget: number;
  overBudget: boolean;
  /** When the state that reached the billable count began (ISO), null when it began before the window. */
  maxAt: string | null;
  /** The highest of Metabase's active-user snapshots in the same 36-hour window; null with none there. */
  metabaseActiveUsers: number | null;
  /** billable × SEAT_PRICE_PER_DAY, when set. */
  cost?: number;
  /** The billable count by tenant (they sum to it). */
  byTenant: { tenant: string; seats: number; cost?: number }[];
}

export interface BillingReport {
  from: string;
  to: string;
  rule: string;
  currency?: string;
  seatPricePerDay?: number;
  /** Whether Metabase's active users are being snapshot (METABASE_API_KEY and METABASE_SNAPSHOT_INTERVAL_MINUTES). */
  metabaseSnapshots: boolean;
  daily: BillingDay[];
  /** Each tenant's billable seat-days over the range (the sum of its daily attribution). */
  tenants: { tenant: string; seatDays: number; cost?: number }[];
  totals: { billableSeatDays: number; billablePeak: number; ledgerPeak: number; overBudgetDays: number; cost?: number };
}

/**
 * The billing-matched report: each day's billable count by Metabase's rule (billing-rule.ts) from the
 * append-only seat history, its attribution to tenants and its cost, beside the ledger's own peak,
 * the budget, and Metabase's own count where snapshots were taken.
 */
@Injectable()
export class BillingReports {
  constructor(
    private readonly history: SeatUsageRepository,
    private readonly snapshots: MetabaseSnapshotRepository,
    private readonly snapshotJob: MetabaseSnapshots,
    private readonly license: LicenseService,
    @Inject(CONFIG) private readonly config: Config,
  ) {}

  /** From and to are UTC days (midnight), inclusive. */
  async build(from: Date, to: Date): Promise<BillingReport> {
    const windowStart = new Date(from.getTime() + DAY_MS - BILLING_WINDOW_MS);
    const end = new Date(to.getTime() + DAY_MS);
    const [heldBefore, events, tenants, budgets, snapshots] = await Promise.all([
      this.history.tenantsHeldBefore(windowStart),
      this.history.seatEvents(windowStart, end),
      this.history.tenantSlugs(),
      this.license.budgetHistory(),
      this.snapshots.between(windowStart, end),
    ]);
    const days: string[] = [];
    for (let t = from.getTime(); t < end.getTime(); t += DAY_MS) days.push(isoDay(new Date(t)));

    const ruled = billableDays({
      days,
      heldBefore: new Map(heldBefore.map((h) => [h.key, h.held])),
      events,
      budget: {
        current: budgets.seatBudget,
        changes: budgets.changes.map((c) => ({ at: c.changedAt.getTime(), seatBudget: c.seatBudget, previousBudget: c.previousBudget })),
      },
    });

    const price = this.config.seatPrice?.perDay;
    const costOf = (seats: number) => (price === undefined ? {} : { cost: round2(seats * price) });
    const slugOf = new Map(tenants.map((t) => [t.id, t.slug]));
    const seatDays = new Map<string, number>();
    const daily: BillingDay[] = ruled.map((day) => {
      const dayEnd = Date.parse(`${day.date}T00:00:00Z`) + DAY_MS;
      const seen = snapshots.filter((s) => s.takenAt.getTime() >= dayEnd - BILLING_WINDOW_MS && s.takenAt.getTime() < dayEnd);
      const byTenant = [...day.byTenant]
        .map(([id, seats]) => ({ tenant: slugOf.get(id) ?? id, seats, ...costOf(seats) }))
        .sort((a, b) => a.tenant.localeCompare(b.tenant));
      for (const t of byTenant) seatDays.set(t.tenant, (seatDays.get(t.tenant) ?? 0) + t.seats);
      return {
        date: day.date,
        billable: day.billable,
        ledgerPeak: day.ledgerPeak,
        budget: day.budget,
        overBudget: day.billable > day.budget,
        maxAt: day.maxAt === null ? null : new Date(day.maxAt).toISOString(),
        metabaseActiveUsers: seen.length ? Math.max(...seen.map((s) => s.activeUsers)) : null,
        ...costOf(day.billable),
        byTenant,
      };
    });
    const billableSeatDays = daily.reduce((sum, d) => sum + d.billable, 0);
    return {
      from: isoDay(from),
      to: isoDay(to),
      rule: BILLING_RULE,
      ...(price !== undefined ? { currency: this.config.seatPrice!.currency, seatPricePerDay: price } : {}),
      metabaseSnapshots: this.snapshotJob.enabled,
      daily,
      tenants: [...seatDays].map(([tenant, n]) => ({ tenant, seatDays: n, ...costOf(n) })).sort((a, b) => a.tenant.localeCompare(b.tenant)),
      totals: {
        billableSeatDays,
        billablePeak: Math.max(0, ...daily.map((d) => d.billable)),
        ledgerPeak: Math.max(0, ...daily.map((d) => d.ledgerPeak)),
        overBudgetDays: daily.filter((d) => d.overBudget).length,
        ...costOf(billableSeatDays),
      },
    };
  }
}
