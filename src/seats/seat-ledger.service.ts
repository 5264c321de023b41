import { Injectable } from '@nestjs/common';
import { AuditService } from '../audit/audit.service.js';
import { ApiError } from '../common/api-error.js';
import { decodeCursor, toPage, type Page } from '../common/pagination.js';
import { Transactions, type Tx } from '../database/transactions.js';
import { DeactivationOutbox } from '../metabase/deactivation-outbox.service.js';
import type { SeatAvailability } from '../policy/decide-embed.js';
import { ATTR, inSpan, SPAN } from '../tracing/spans.js';
import type { HeldSeat, ReleasedSeat, Seat, SeatSelection } from './seat.js';
import { SeatRepository } from './seat.repository.js';

export type { HeldSeat } from './seat.js';

export type AcquireResult =
  | { outcome: 'held'; seat: HeldSeat }
  | { outcome: 'allocated'; seat: HeldSeat }
  /** No seat: the tenant cap or the budget is used up, or the tenant stopped being an active drill tenant. */
  | { outcome: 'cap-exhausted' | 'budget-exhausted' | 'tenant-changed' }
  /** No seat, nothing changed: the SSO email is another tenant's identity, or was being bound concurrently. */
  | { outcome: 'identity-conflict' }
  | { outcome: 'identity-retry' };

export interface SeatView {
  id: string;
  tenant: string;
  userId: string;
  email: string;
  heldSince: string;
  lastUsedAt: string;
}

const toView = (seat: Seat): SeatView => ({
  id: seat.id,
  tenant: seat.tenantSlug,
  userId: seat.userId,
  email: seat.email,
  heldSince: seat.heldSince.toISOString(),
  lastUsedAt: seat.lastUsedAt.toISOString(),
});

/** Seat transactions (releases) wait for their turn on the tenant and license rows rather than fail under load. */
const TX_OPTIONS = { maxWait: 15_000, timeout: 15_000 };
/** lastUsedAt is kept to this precision (seconds). */
export const LAST_USED_GRANULARITY_SECONDS = 60;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The seat ledger: the only writer of seats, and of the seat counters on tenants and the license.
 * Invariant, enforced by Postgres: seats held ≤ seat budget, and ≤ the tenant's seatCap. Each
 * allocation is one transaction whose conditional UPDATEs lock, in this order, the tenant row and
 * the license row; a release takes the same order, so the two never deadlock.
 */
@Injectable()
export class SeatLedger {
  constructor(
    private readonly seats: SeatRepository,
    private readonly transactions: Transactions,
    private readonly audit: AuditService,
    private readonly outbox: DeactivationOutbox,
  ) {}

  /**
   * Binds the user's SSO email to the tenant when `bindEmail` (Metabase matches SSO users by email:
   * one email, one tenant), then reuses the user's seat, or takes a new one if the tenant cap and the
   * budget allow. One statement, the Postgres function seat_ledger_acquire (its canonical text:
   * prisma/sql/seat_ledger_acquire.sql): the binding, the tenant row's counter, the seat, the license
   * row's counter, the seat's event and its audit entry, all or none; a new seat also cancels its
   * user's pending Metabase deactivations (the worker checks a job is still pending right before each
   * Metabase call). A new seat is committed without waiting for the disk; a synchronous commit right
   * after flushes it, and only then is the seat handed out.
   * lastUsedAt moves at most once a minute per seat (idle reclamation counts in days).
   */
  async acquire(
    tenant: { id: string; slug: string },
    user: { id: string; email: string },
    actor: string,
    options: { bindEmail: boolean },
  ): Promise<AcquireResult> {
    return inSpan(
      SPAN.seatAcquire,
      { [ATTR.tenant]: tenant.slug },
      async () => {
        const result = await this.seats.acquire(tenant, user, actor, options.bindEmail, LAST_USED_GRANULARITY_SECONDS);
        // The allocation committed without waiting for the disk: a synchronous commit now flushes it
        // (the WAL is flushed in order) before any token is given for the seat.
        if (result.outcome === 'allocated') await this.seats.flush();
        return result;
      },
      (result) => ({ [ATTR.seatOutcome]: result.outcome }),
    );
  }

  /** What acquire would find, without changing anything (for explain). */
  async availability(tenantId: string, userId: string): Promise<SeatAvailability> {
    const counts = await this.seats.counts(tenantId, userId);
    if (!counts) return 'budget-exhausted';
    if (counts.held) return 'held';
    if (counts.seatCap !== null && counts.tenantSeatsHeld >= counts.seatCap) return 'cap-exhausted';
    if (counts.licenseSeatsHeld >= counts.seatBudget) return 'budget-exhausted';
    return 'available';
  }

  /** Whether the user holds a seat in the tenant right now. */
  holds(tenantId: string, userId: string): Promise<boolean> {
    return this.seats.isHeld(tenantId, userId);
  }

  /** Releases one seat. Releasing an already released seat is a 404; two concurrent releases free it once. */
  async release(seatId: string, reason: string, actor: string): Promise<{ id: string; tenantId: string; userId: string }> {
    if (!UUID.test(seatId)) throw new ApiError(404, 'seat_not_found', 'seat not found');
    return this.transactions.run(async (tx) => {
      const owner = await this.seats.tenantOf(seatId, tx);
      if (!owner) throw new ApiError(404, 'seat_not_found', 'seat not found');
      await this.seats.lockTenant(owner.tenantId, tx);
      const released = await this.deleteSeats(tx, owner.tenantId, reason, actor, { seatId });
      if (released.length === 0) throw new ApiError(404, 'seat_not_found', 'seat not found');
      await this.audit.record(tx, { type: 'seat.released', actor, tenantSlug: owner.tenantSlug, data: { seatId, userId: released[0].userId, reason } });
      return { id: released[0].id, tenantId: owner.tenantId, userId: released[0].userId };
    }, TX_OPTIONS);
  }

  /**
   * Releases every seat of a tenant, inside the caller's transaction, which must already hold the
   * tenant row (it has just updated it). Returns how many seats were released.
   */
  async releaseAllOfTenant(tx: Tx, tenantId: string, reason: string, actor: string): Promise<number> {
    return (await this.deleteSeats(tx, tenantId, reason, actor, 'all')).length;
  }

  /**
   * Deletes seats of one tenant (one seat, all of them, or those idle since a cutoff) inside the
   * caller's transaction, which holds the tenant row; moves the counters, writes one immutable event
   * per seat and queues each user's Metabase deactivation.
   */
  private async deleteSeats(tx: Tx, tenantId: string, reason: string, actor: string, which: SeatSelection): Promise<ReleasedSeat[]> {
    const deleted = await this.seats.deleteSeats(tenantId, which, tx);
    const n = deleted.length;
    if (n === 0) return deleted;
    const after = await this.seats.decrementCounters(tenantId, n, tx);
    // One immutable event per seat; the counters after each are those of the releases applied one by one.
    const events = deleted.map((seat, i) => ({
      seatId: seat.id,
      tenantId,
      userId: seat.userId,
      kind: 'released' as const,
      reason,
      actor,
      seatsHeldAfter: after.licenseSeatsHeld + (n - 1 - i),
      tenantHeldAfter: after.tenantSeatsHeld + (n - 1 - i),
      seatBudget: after.seatBudget,
    }));
    await this.seats.appendEvents(events, tx);
    await this.outbox.enqueue(
      tx,
      deleted.map((seat) => ({ email: seat.email, seatId: seat.id, reason })),
    );
    return deleted;
  }

  /**
   * Releases the seats not used for idleDays (reason "idle"), tenant by tenant, each in its own
   * transaction; a seat used again meanwhile is kept (the cutoff is checked again under the lock).
   * With dryRun, only lists them.
   */
  async reclaim(idleDays: number, dryRun: boolean, actor: string, now = new Date()) {
    const cutoff = new Date(now.getTime() - idleDays * 86_400_000);
    const idle = await this.seats.findIdle(cutoff);
    if (dryRun) return { idleDays, dryRun, cutoff: cutoff.toISOString(), count: idle.length, seats: idle.map(toView) };

    const released: SeatView[] = [];
    for (const [tenantId, slug] of new Map(idle.map((seat) => [seat.tenantId, seat.tenantSlug]))) {
      const seats = await this.transactions.run(async (tx) => {
        await this.seats.lockTenant(tenantId, tx);
        const deleted = await this.deleteSeats(tx, tenantId, 'idle', actor, { idleSince: cutoff });
        if (deleted.length) {
          await this.audit.record(tx, { type: 'seats.reclaimed', actor, tenantSlug: slug, data: { idleDays, released: deleted.length } });
        }
        return deleted;
      }, TX_OPTIONS);
      released.push(...seats.map((seat) => toView({ ...seat, tenantId, tenantSlug: slug })));
    }
    return { idleDays, dryRun, cutoff: cutoff.toISOString(), count: released.length, seats: released };
  }

  /** Every seat held, with its email: what Metabase should have as active users. */
  async allHeld(): Promise<{ id: string; tenant: string; userId: string; email: string }[]> {
    const seats = await this.seats.findAll();
    return seats.map((seat) => ({ id: seat.id, tenant: seat.tenantSlug, userId: seat.userId, email: seat.email }));
  }

  /** Seats held, oldest first, a page at a time; of one tenant (by slug, 404 when unknown) when given. */
  async list(filter: { tenant?: string; limit: number; cursor?: string }): Promise<Page<SeatView>> {
    let tenantId: string | undefined;
    if (filter.tenant) {
      const id = await this.seats.tenantIdOf(filter.tenant);
      if (!id) throw new ApiError(404, 'tenant_not_found', `tenant '${filter.tenant}' not found`);
      tenantId = id;
    }
    const after = decodeCursor(filter.cursor, (value) => {
      const [time, id] = value.split('|');
      return UUID.test(id ?? '') && !Number.isNaN(Date.parse(time));
    });
    const [afterTime, afterId] = after?.split('|') ?? [];
    const rows = await this.seats.list({
      tenantId,
      after: afterTime ? { heldSince: new Date(afterTime), id: afterId } : undefined,
      take: filter.limit + 1,
    });
    return toPage(rows, filter.limit, (row) => `${row.heldSince.toISOString()}|${row.id}`, toView);
  }

  /**
   * Runs `work` if no other instance is running a reclamation (a transaction-scoped advisory lock,
   * held while `work` runs); null when another holds it.
   */
  async whileReclaimLocked<T>(work: () => Promise<T>, options: { maxWait: number; timeout: number }): Promise<T | null> {
    return this.transactions.run(async (tx) => ((await this.seats.tryLockReclaim(tx)) ? work() : null), options);
  }
}
