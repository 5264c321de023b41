import { Inject, Injectable } from '@nestjs/common';
import { ApiError } from '../common/api-error.js';
import { CONFIG, type Config } from '../config/config.js';
import { LicenseService } from '../license/license.service.js';
import { UsageReports } from '../usage/usage.service.js';
import type { ForecastRequest } from './forecast.dto.js';
import { forecastSeats, type SeatForecast, type TenantForecast } from './forecast.js';
import { ForecastRepository } from './forecast.repository.js';
import { DAY_MS, isoDay, round2 } from '../common/days.js';

/** A month, for the forecast's cost: Metabase prorates per day. */
const DAYS_PER_MONTH = 30;

export interface ForecastReport {
  /** The usage the viewers are counted over: the last windowDays UTC days, today included. */
  window: { days: number; from: string; to: string; firstUsageDay: string | null };
  seatBudget: number;
  currentSeatBudget: number;
  tenants: TenantForecast[];
  billable: number;
  unusedSeats: number;
  fallsBackToGuest: string[];
  denied: string[];
  currency?: string;
  /** billable × 30 days × SEAT_PRICE_PER_DAY, when set. */
  costPerMonth?: number;
  /** The same forecast with no change and the budget now, to compare with. */
  current: { billable: number; costPerMonth?: number; fallsBackToGuest: string[]; denied: string[] };
}

/** POST /v1/reports/forecast and the console's forecast page: changes are tried, never applied. */
@Injectable()
export class SeatForecasts {
  constructor(
    private readonly tenants: ForecastRepository,
    private readonly usage: UsageReports,
    private readonly license: LicenseService,
    @Inject(CONFIG) private readonly config: Config,
  ) {}

  async forecast(request: ForecastRequest, now = new Date()): Promise<ForecastReport> {
    const to = new Date(`${isoDay(now)}T00:00:00Z`);
    const from = new Date(to.getTime() - (request.windowDays - 1) * DAY_MS);
    const [tenants, viewers, license, firstUsageDay] = await Promise.all([
      this.tenants.tenants(),
      this.usage.viewersByTenant(from, to),
      this.license.get(),
      this.usage.firstDay(),
    ]);
    const known = new Set(tenants.map((t) => t.slug));
    request.changes.forEach((change, i) => {
      if (!known.has(change.tenant)) throw new ApiError(400, 'validation_error', `changes.${i}.tenant: there is no tenant '${change.tenant}'`);
    });
    const viewersOf = new Map(viewers.map((v) => [v.tenant, v.viewers]));
    const withViewers = tenants.map((t) => ({ ...t, viewers: viewersOf.get(t.slug) ?? 0 }));
    const seatBudget = request.seatBudget ?? license.seatBudget;
    const proposed = forecastSeats({ tenants: withViewers, changes: request.changes, seatBudget });
    const current = forecastSeats({ tenants: withViewers, changes: [], seatBudget: license.seatBudget });
    const price = this.config.seatPrice?.perDay;
    const monthly = (f: SeatForecast) => (price === undefined ? {} : { costPerMonth: round2(f.billable * DAYS_PER_MONTH * price) });
    return {
      window: { days: request.windowDays, from: isoDay(from), to: isoDay(to), firstUsageDay },
      seatBudget,
      currentSeatBudget: license.seatBudget,
      tenants: proposed.tenants,
      billable: proposed.billable,
      unusedSeats: proposed.unusedSeats,
      fallsBackToGuest: proposed.fallsBackToGuest,
      denied: proposed.denied,
      ...(price !== undefined ? { currency: this.config.seatPrice!.currency } : {}),
      ...monthly(proposed),
      current: { billable: current.billable, ...monthly(current), fallsBackToGuest: current.fallsBackToGuest, denied: current.denied },
    };
  }
}
