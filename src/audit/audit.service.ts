import { Injectable } from '@nestjs/common';
import { decodeCursor, toPage, type Page } from '../common/pagination.js';
import type { Tx } from '../database/transactions.js';
import type { AuditEntry, AuditFilter } from './audit-event.js';
import { AuditRepository } from './audit.repository.js';

export type { AuditEntry, AuditFilter } from './audit-event.js';

export interface AuditView {
  id: string;
  type: string;
  actor: string;
  tenant: string | null;
  data: unknown;
  at: string;
}

/**
 * The audit trail: every write records who did what, in the same transaction as the write; but a
 * seat allocation, whose entry follows in a transaction of its own (see SeatLedger.acquire).
 */
@Injectable()
export class AuditService {
  constructor(private readonly events: AuditRepository) {}

  /** Records an entry in the caller's transaction (`tx` from Transactions.run), or on its own without one. */
  async record(tx: Tx | undefined, entry: AuditEntry): Promise<void> {
    await this.events.create(entry, tx);
  }

  /**
   * Records an entry in a transaction of its own, synchronously committed: one prepared statement
   * on the pool (the seat ledger uses its flush to make an allocation durable).
   */
  async insert(entry: AuditEntry): Promise<void> {
    await this.events.insert(entry);
  }

  /** Newest first. */
  async list(filter: AuditFilter): Promise<Page<AuditView>> {
    const cursor = decodeCursor(filter.cursor, (value) => /^\d{1,19}$/.test(value));
    const rows = await this.events.list({
      type: filter.type,
      tenantSlug: filter.tenant,
      from: filter.from,
      to: filter.to,
      beforeId: cursor ? BigInt(cursor) : undefined,
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
