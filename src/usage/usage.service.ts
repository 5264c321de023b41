import { Injectable } from '@nestjs/common';
import { TenantsService } from '../tenants/tenants.service.js';
import { UsageRepository } from './usage.repository.js';
import type { TenantViewers, UsageReportRow } from './usage.js';
import { isoDay } from '../common/days.js';

export interface UsageReport {
  from: string;
  to: string;
  /** The tenant asked for, if one was. */
  tenant?: string;
  /** The first day with any count (the roll-up started then, or rows before were purged); null before any. */
  firstDay: string | null;
  /** Per day, tenant and resource: embeds by mode and distinct viewers. */
  rows: UsageReportRow[];
  /** Per tenant over the range: embeds by mode, and distinct viewers (a user once, whatever the days and resources). */
  tenants: { tenant: string; guest: number; sso: number; denied: number; viewers: number }[];
  totals: { guest: number; sso: number; denied: number; viewers: number };
}

/** Reads of the usage roll-up: the usage report, and distinct viewers for the forecast. */
@Injectable()
export class UsageReports {
  constructor(
    private readonly usage: UsageRepository,
    private readonly tenants: TenantsService,
  ) {}

  /** From and to are UTC days (midnight), inclusive. An unknown tenant: 404 tenant_not_found. */
  async build(from: Date, to: Date, tenant?: string): Promise<UsageReport> {
    if (tenant !== undefined) await this.tenants.get(tenant);
    const [rows, viewers, firstDay] = await Promise.all([
      this.usage.report(isoDay(from), isoDay(to), tenant),
      this.usage.viewersByTenant(isoDay(from), isoDay(to), tenant),
      this.usage.firstDay(),
    ]);
    const byTenant = new Map<string, UsageReport['tenants'][number]>();
    for (const row of rows) {
      const t = byTenant.get(row.tenant) ?? { tenant: row.tenant, guest: 0, sso: 0, denied: 0, viewers: 0 };
      t.guest += row.guest;
      t.sso += row.sso;
      t.denied += row.denied;
      byTenant.set(row.tenant, t);
    }
    for (const v of viewers) {
      const t = byTenant.get(v.tenant);
      if (t) t.viewers = v.viewers;
    }
    const tenants = [...byTenant.values()].sort((a, b) => a.tenant.localeCompare(b.tenant));
    const sum = (pick: (t: UsageReport['tenants'][number]) => number) => tenants.reduce((total, t) => total + pick(t), 0);
    return {
      from: isoDay(from),
      to: isoDay(to),
      ...(tenant !== undefined ? { tenant } : {}),
      firstDay,
      rows,
      tenants,
      totals: { guest: sum((t) => t.guest), sso: sum((t) => t.sso), denied: sum((t) => t.denied), viewers: sum((t) => t.viewers) },
    };
  }

  /** Each tenant's distinct viewers (guest or SSO) over [from, to] (UTC days), by slug. */
  async viewersByTenant(from: Date, to: Date): Promise<TenantViewers[]> {
    return this.usage.viewersByTenant(isoDay(from), isoDay(to));
  }

  /** The first day with any count; null before any. */
  firstDay(): Promise<string | null> {
    return this.usage.firstDay();
  }
}
