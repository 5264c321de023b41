import { Injectable } from '@nestjs/common';
import { PrismaService } from '../database/prisma.service.js';
import { clientOf, type Tx } from '../database/transactions.js';
import type { AuditEvent as AuditEventRow, Prisma } from '../generated/prisma/client.js';
import type { AuditEntry, AuditEvent } from './audit-event.js';

const toAuditEvent = (row: AuditEventRow): AuditEvent => ({
  id: row.id,
  type: row.type,
  actor: row.actor,
  tenantSlug: row.tenantSlug,
  data: row.data,
  at: row.at,
});

/** The audit trail's SQL (audit_events): append and read, newest first. */
@Injectable()
export class AuditRepository {
  constructor(private readonly prisma: PrismaService) {}

  async create(entry: AuditEntry, tx?: Tx): Promise<void> {
    await clientOf(this.prisma, tx).auditEvent.create({
      data: {
        type: entry.type,
        actor: entry.actor,
        tenantSlug: entry.tenantSlug ?? null,
        data: (entry.data ?? {}) as Prisma.InputJsonValue,
      },
    });
  }

  /** One prepared statement on the pool, in a transaction of its own. */
  async insert(entry: AuditEntry): Promise<void> {
    await this.prisma.sql(
      'INSERT INTO audit_events (type, actor, tenant_slug, data) VALUES ($1, $2, $3, $4::jsonb)',
      [entry.type, entry.actor, entry.tenantSlug ?? null, JSON.stringify(entry.data ?? {})],
      'audit-insert',
    );
  }

  /** Newest first: up to `take` entries matching the filter, with an id below `beforeId`. */
  async list(filter: { type?: string; tenantSlug?: string; from?: Date; to?: Date; beforeId?: bigint; take: number }): Promise<AuditEvent[]> {
    const rows = await this.prisma.auditEvent.findMany({
      where: {
        type: filter.type,
        tenantSlug: filter.tenantSlug,
        at: { gte: filter.from, lte: filter.to },
        id: filter.beforeId !== undefined ? { lt: filter.beforeId } : undefined,
      },
      orderBy: { id: 'desc' },
      take: filter.take,
    });
    return rows.map(toAuditEvent);
  }
}
