import { Injectable } from '@nestjs/common';
import { PrismaService } from '../database/prisma.service.js';
import { clientOf, type Tx } from '../database/transactions.js';
import type { NewSeatEvent } from '../seats/seat.js';
import type { UsageCounts } from '../usage/usage.js';

/** The audit entry written when the demo data are complete: its presence means "seeded". */
export const DEMO_SEEDED_EVENT = 'demo.seeded';

/** A seat event of the demo's history (the ledger's own shape), with the time it happened (in the past). */
export type HistoricSeatEvent = NewSeatEvent & { at: Date };

/** One past day (before today) of a tenant's embeds of a resource, by mode (usage_daily). */
export type HistoricUsageCount = UsageCounts;

/** One viewer of a tenant's resource on a past day (usage_viewers). */
export interface HistoricUsageViewer {
  day: string;
  tenantId: string;
  resourceKey: string;
  userId: string;
}

/**
 * The demo's own reads, and the writes no feature offers: history with past timestamps (the seat
 * ledger stamps every event with now(), the usage roll-up counts today). Used only by the demo seeding
 * (src/demo/seed-demo.ts), which runs only in demo mode.
 */
@Injectable()
export class DemoRepository {
  constructor(private readonly prisma: PrismaService) {}

  /** seeded: the demo data are complete; partial: some data but no completion mark (a seeding was interrupted); empty. */
  async seedState(): Promise<'seeded' | 'partial' | 'empty'> {
    if ((await this.prisma.auditEvent.count({ where: { type: DEMO_SEEDED_EVENT } })) > 0) return 'seeded';
    return (await this.prisma.tenant.count()) > 0 ? 'partial' : 'empty';
  }

  /** The ids of the keys with this role and name (and app) that still work (not revoked, not expired), newest first. */
  async activeKeyIds(filter: { role: 'admin' | 'finance' | 'app'; name: string; appId?: string }): Promise<string[]> {
    const keys = await this.prisma.apiKey.findMany({
      where: { ...filter, revokedAt: null, OR: [{ expiresAt: null }, { expiresAt: { gt: new Date() } }] },
      orderBy: { createdAt: 'desc' },
      select: { id: true },
    });
    return keys.map((key) => key.id);
  }

  /** The id of the app with this name (the oldest, should there be several); null when there is none. */
  async appIdNamed(name: string): Promise<string | null> {
    const app = await this.prisma.app.findFirst({ where: { name }, orderBy: { createdAt: 'asc' }, select: { id: true } });
    return app?.id ?? null;
  }

  /** Appends past seat events (append-only table: inserts only), in the caller's transaction when given one. */
  async appendSeatHistory(events: HistoricSeatEvent[], tx?: Tx): Promise<void> {
    await clientOf(this.prisma, tx).seatEvent.createMany({ data: events });
  }

  /**
   * Writes past days of the usage roll-up (usage_daily, usage_viewers), as its flushes would have:
   * for days before today only, which no flush of this process touches.
   */
  async appendUsageHistory(counts: HistoricUsageCount[], viewers: HistoricUsageViewer[], tx?: Tx): Promise<void> {
    const db = clientOf(this.prisma, tx);
    const date = (day: string) => new Date(`${day}T00:00:00Z`);
    await db.usageDaily.createMany({ data: counts.map((c) => ({ ...c, day: date(c.day) })) });
    await db.usageViewer.createMany({ data: viewers.map((v) => ({ ...v, day: date(v.day) })) });
  }
}
