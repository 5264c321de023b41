import { Injectable } from '@nestjs/common';
import { decodeCursor, toPage, type Page } from '../common/pagination.js';
import { PrismaService, type Db } from '../database/prisma.service.js';
import type { Prisma } from '../generated/prisma/client.js';

export interface AuditEntry {
  type: string;
  actor: string;
  tenantSlug?: string | null;
  data?: Record<string, unknown>;
}

export interface AuditView {
  id: string;
  type: string;
  actor: string;
  tenant: string | null;
  data: unknown;
  at: string;
}

export interface AuditFilter {
  type?: string;
  tenant?: string;
  from?: Date;
  to?: Date;
  limit: number;
  cursor?: string;
}

/**
 * The audit trail: every write records who did what, in the same transaction as the write; but a
 * seat allocation, whose entry follows in a transaction of its own (see SeatLedger.acquire).
 */
@Injectable()
export class AuditService {
  constructor(private readonly prisma: PrismaService) {}

  async record(db: Db, entry: AuditEntry): Promise<void> {
    await db.auditEvent.create({
      data: {
        type: entry.type,
        actor: entry.actor,
        tenantSlug: entry.tenantSlug ?? null,
        data: (entry.data ?? {}) as Prisma.InputJsonValue,
      },
    });
  }

  /**
   * Records an entry in a transaction of its own, synchronously committed: one prepared statement
   * on the pool (the seat ledger uses its flush to make an allocation durable).
   */
  async insert(entry: AuditEntry): Promise<void> {
    await this.prisma.sql(
      'INSERT INTO audit_events (type, actor, tenant_slug, data) VALUES ($1, $2, $3, $4::jsonb)',
      [entry.type, entry.actor, entry.tenantSlug ?? null, JSON.stringify(entry.data ?? {})],
      'audit-insert',
    );
  }

  /** Newest first. */
  async list(filter: AuditFilter): Promise<Page<AuditView>> {
    const cursor = decodeCursor(filter.cursor, (value) => /^\d{1,19}$/.test(value));
    const rows = await this.prisma.auditEvent.findMany({
      where: {
        type: filter.type,
        tenantSlug: filter.tenant,
        at: { gte: filter.from, lte: filter.to },
        id: cursor ? { lt: BigInt(cursor) } : undefined,
      },
      orderBy: { id: 'desc' },
      take: filter.limit + 1,
    });
    return toPage(
      rows,
      filter.limit,
      (row) => row.id.toString(),
      (row) => ({
        id: row.id.toString(),
        type: row.type,
        actor: row.actor,
        tenant: row.tenantSlug,
        data: row.data,
        at: row.at.toISOString(),
      }),
    );
  }
}
