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

/** The audit trail: every write records who did what, in the same transaction as the write. */
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
