import { Injectable } from '@nestjs/common';
import { AuditService } from '../audit/audit.service.js';
import { ApiError } from '../common/api-error.js';
import { decodeCursor, toPage, type Page } from '../common/pagination.js';
import { PrismaService, type Db } from '../database/prisma.service.js';
import { DeactivationOutbox } from '../metabase/deactivation-outbox.service.js';
import type { SeatAvailability } from '../policy/decide-embed.js';

export interface HeldSeat {
  id: string;
  heldSince: Date;
  lastUsedAt: Date;
}

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

type SeatRow = { id: string; held_since: Date; last_used_at: Date };
const toHeldSeat = (row: SeatRow): HeldSeat => ({ id: row.id, heldSince: row.held_since, lastUsedAt: row.last_used_at });

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
    private readonly prisma: PrismaService,
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
    type Acquired = SeatRow & { outcome: AcquireResult['outcome'] };
    const [result] = await this.prisma.sql<Acquired>(
      `SELECT outcome, seat_id AS id, held_since, last_used_at
       FROM seat_ledger_acquire($1::uuid, $2, $3, $4, $5, $6, $7)`,
      [tenant.id, tenant.slug, user.id, user.email, actor, options.bindEmail, LAST_USED_GRANULARITY_SECONDS],
      'seat-acquire',
    );
    switch (result.outcome) {
      case 'held':
        return { outcome: 'held', seat: toHeldSeat(result) };
      case 'allocated':
        // The allocation committed without waiting for the disk: a synchronous commit now flushes it
        // (the WAL is flushed in order) before any token is given for the seat.
        await this.prisma.sql('SELECT txid_current()', [], 'seat-flush');
        return { outcome: 'allocated', seat: toHeldSeat(result) };
      default:
        return { outcome: result.outcome };
    }
  }

  /** What acquire would find, without changing anything (for explain). */
  async availability(tenantId: string, userId: string): Promise<SeatAvailability> {
    const [row] = await this.prisma.sql<{ held: boolean; seats_held: number; seat_cap: number | null; license_held: number; seat_budget: number }>(
      `SELECT EXISTS (SELECT 1 FROM seats WHERE tenant_id = $1::uuid AND user_id = $2) AS held,
              t.seats_held, t.seat_cap, l.seats_held AS license_held, l.seat_budget
       FROM tenants t, license l WHERE t.id = $1::uuid AND l.id = 1`,
      [tenantId, userId],
      'seat-availability',
    );
    if (!row) return 'budget-exhausted';
    if (row.held) return 'held';
    if (row.seat_cap !== null && row.seats_held >= row.seat_cap) return 'cap-exhausted';
    if (row.license_held >= row.seat_budget) return 'budget-exhausted';
    return 'available';
  }

  /** Releases one seat. Releasing an already released seat is a 404; two concurrent releases free it once. */
  async release(seatId: string, reason: string, actor: string): Promise<{ id: string; tenantId: string; userId: string }> {
    if (!UUID.test(seatId)) throw new ApiError(404, 'seat_not_found', 'seat not found');
    return this.prisma.$transaction(async (tx) => {
      const [owner] = await tx.$queryRaw<{ tenant_id: string; slug: string }[]>`
        SELECT s.tenant_id, t.slug FROM seats s JOIN tenants t ON t.id = s.tenant_id WHERE s.id = ${seatId}::uuid`;
      if (!owner) throw new ApiError(404, 'seat_not_found', 'seat not found');
      await tx.$queryRaw`SELECT id FROM tenants WHERE id = ${owner.tenant_id}::uuid FOR UPDATE`;
      const released = await this.deleteSeats(tx, owner.tenant_id, reason, actor, { seatId });
      if (released.length === 0) throw new ApiError(404, 'seat_not_found', 'seat not found');
      await this.audit.record(tx, { type: 'seat.released', actor, tenantSlug: owner.slug, data: { seatId, userId: released[0].user_id, reason } });
      return { id: released[0].id, tenantId: owner.tenant_id, userId: released[0].user_id };
    }, TX_OPTIONS);
  }

  /**
   * Releases every seat of a tenant, inside the caller's transaction, which must already hold the
   * tenant row (it has just updated it). Returns how many seats were released.
   */
  async releaseAllOfTenant(tx: Db, tenantId: string, reason: string, actor: string): Promise<number> {
    return (await this.deleteSeats(tx, tenantId, reason, actor, 'all')).length;
  }

  /**
   * Deletes seats of one tenant (one seat, all of them, or those idle since a cutoff) inside the
   * caller's transaction, which holds the tenant row; moves the counters, writes one immutable event
   * per seat and queues each user's Metabase deactivation.
   */
  private async deleteSeats(tx: Db, tenantId: string, reason: string, actor: string, which: { seatId: string } | { idleSince: Date } | 'all') {
    type Deleted = { id: string; user_id: string; email: string; held_since: Date; last_used_at: Date };
    const deleted =
      which === 'all'
        ? await tx.$queryRaw<Deleted[]>`
            DELETE FROM seats WHERE tenant_id = ${tenantId}::uuid RETURNING id, user_id, email, held_since, last_used_at`
        : 'seatId' in which
          ? await tx.$queryRaw<Deleted[]>`
              DELETE FROM seats WHERE id = ${which.seatId}::uuid AND tenant_id = ${tenantId}::uuid
              RETURNING id, user_id, email, held_since, last_used_at`
          : await tx.$queryRaw<Deleted[]>`
              DELETE FROM seats WHERE tenant_id = ${tenantId}::uuid AND last_used_at < ${which.idleSince}
              RETURNING id, user_id, email, held_since, last_used_at`;
    const n = deleted.length;
    if (n === 0) return deleted;
    const [tenant] = await tx.$queryRaw<{ seats_held: number }[]>`
      UPDATE tenants SET seats_held = seats_held - ${n} WHERE id = ${tenantId}::uuid RETURNING seats_held`;
    const [license] = await tx.$queryRaw<{ seats_held: number; seat_budget: number }[]>`
      UPDATE license SET seats_held = seats_held - ${n} WHERE id = 1 RETURNING seats_held, seat_budget`;
    // One immutable event per seat; the counters after each are those of the releases applied one by one.
    const events = deleted.map((seat, i) => ({
      seatId: seat.id,
      tenantId,
      userId: seat.user_id,
      kind: 'released' as const,
      reason,
      actor,
      seatsHeldAfter: license.seats_held + (n - 1 - i),
      tenantHeldAfter: tenant.seats_held + (n - 1 - i),
      seatBudget: license.seat_budget,
    }));
    await tx.seatEvent.createMany({ data: events });
    await this.outbox.enqueue(tx, deleted.map((seat) => ({ email: seat.email, seatId: seat.id, reason })));
    return deleted;
  }

  /**
   * Releases the seats not used for idleDays (reason "idle"), tenant by tenant, each in its own
   * transaction; a seat used again meanwhile is kept (the cutoff is checked again under the lock).
   * With dryRun, only lists them.
   */
  async reclaim(idleDays: number, dryRun: boolean, actor: string, now = new Date()) {
    const cutoff = new Date(now.getTime() - idleDays * 86_400_000);
    const idle = await this.prisma.seat.findMany({
      where: { lastUsedAt: { lt: cutoff } },
      orderBy: [{ tenantId: 'asc' }, { lastUsedAt: 'asc' }],
      include: { tenant: { select: { slug: true } } },
    });
    const view = (seat: (typeof idle)[number]) => ({
      id: seat.id,
      tenant: seat.tenant.slug,
      userId: seat.userId,
      email: seat.email,
      heldSince: seat.heldSince.toISOString(),
      lastUsedAt: seat.lastUsedAt.toISOString(),
    });
    if (dryRun) return { idleDays, dryRun, cutoff: cutoff.toISOString(), count: idle.length, seats: idle.map(view) };

    const released: SeatView[] = [];
    for (const [tenantId, slug] of new Map(idle.map((seat) => [seat.tenantId, seat.tenant.slug]))) {
      const seats = await this.prisma.$transaction(async (tx) => {
        await tx.$queryRaw`SELECT id FROM tenants WHERE id = ${tenantId}::uuid FOR UPDATE`;
        const deleted = await this.deleteSeats(tx, tenantId, 'idle', actor, { idleSince: cutoff });
        if (deleted.length) {
          await this.audit.record(tx, { type: 'seats.reclaimed', actor, tenantSlug: slug, data: { idleDays, released: deleted.length } });
        }
        return deleted;
      }, TX_OPTIONS);
      released.push(
        ...seats.map((seat) => ({
          id: seat.id,
          tenant: slug,
          userId: seat.user_id,
          email: seat.email,
          heldSince: seat.held_since.toISOString(),
          lastUsedAt: seat.last_used_at.toISOString(),
        })),
      );
    }
    return { idleDays, dryRun, cutoff: cutoff.toISOString(), count: released.length, seats: released };
  }

  /** Every seat held, with its email: what Metabase should have as active users. */
  async allHeld(): Promise<{ id: string; tenant: string; userId: string; email: string }[]> {
    const seats = await this.prisma.seat.findMany({ include: { tenant: { select: { slug: true } } }, orderBy: { heldSince: 'asc' } });
    return seats.map((seat) => ({ id: seat.id, tenant: seat.tenant.slug, userId: seat.userId, email: seat.email }));
  }

  async list(filter: { tenantId?: string; limit: number; cursor?: string }): Promise<Page<SeatView>> {
    const after = decodeCursor(filter.cursor, (value) => {
      const [time, id] = value.split('|');
      return UUID.test(id ?? '') && !Number.isNaN(Date.parse(time));
    });
    const [afterTime, afterId] = after?.split('|') ?? [];
    const rows = await this.prisma.seat.findMany({
      where: {
        tenantId: filter.tenantId,
        ...(afterTime
          ? { OR: [{ heldSince: { gt: new Date(afterTime) } }, { heldSince: new Date(afterTime), id: { gt: afterId } }] }
          : {}),
      },
      orderBy: [{ heldSince: 'asc' }, { id: 'asc' }],
      take: filter.limit + 1,
      include: { tenant: { select: { slug: true } } },
    });
    return toPage(
      rows,
      filter.limit,
      (row) => `${row.heldSince.toISOString()}|${row.id}`,
      (row) => ({
        id: row.id,
        tenant: row.tenant.slug,
        userId: row.userId,
        email: row.email,
        heldSince: row.heldSince.toISOString(),
        lastUsedAt: row.lastUsedAt.toISOString(),
      }),
    );
  }
}
