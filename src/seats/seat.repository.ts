import { Injectable } from '@nestjs/common';
import { ADVISORY_LOCK_KEYS } from '../database/advisory-locks.js';
import { PrismaService } from '../database/prisma.service.js';
import { clientOf, type Tx } from '../database/transactions.js';
import type { Prisma } from '../generated/prisma/client.js';
import type { AcquireOutcome, CountersAfterRelease, HeldSeat, NewSeatEvent, ReleasedSeat, Seat, SeatCounts, SeatSelection } from './seat.js';

/** seat_ledger_acquire's OUT parameters the ledger reads (seat_id renamed id). */
type AcquireRow = { outcome: AcquireOutcome['outcome']; id: string | null; held_since: Date | null; last_used_at: Date | null };
type AvailabilityRow = { held: boolean; seats_held: number; seat_cap: number | null; license_held: number; seat_budget: number };
type DeletedRow = { id: string; user_id: string; email: string; held_since: Date; last_used_at: Date };

const toReleasedSeat = (row: DeletedRow): ReleasedSeat => ({
  id: row.id,
  userId: row.user_id,
  email: row.email,
  heldSince: row.held_since,
  lastUsedAt: row.last_used_at,
});

const withTenant = { include: { tenant: { select: { slug: true } } } } as const;
type SeatWithTenantModel = Prisma.SeatGetPayload<typeof withTenant>;
const toSeat = (model: SeatWithTenantModel): Seat => ({
  id: model.id,
  tenantId: model.tenantId,
  tenantSlug: model.tenant.slug,
  userId: model.userId,
  email: model.email,
  heldSince: model.heldSince,
  lastUsedAt: model.lastUsedAt,
});

/**
 * The seat ledger's SQL: seats, the seat counters on tenants and the license, and the seat history.
 * The embed path's statements (acquire, flush, availability) are prepared statements on the pool.
 */
@Injectable()
export class SeatRepository {
  constructor(private readonly prisma: PrismaService) {}

  /** seat_ledger_acquire (its canonical text: prisma/sql/seat_ledger_acquire.sql), in one statement. */
  async acquire(
    tenant: { id: string; slug: string },
    user: { id: string; email: string },
    actor: string,
    bindEmail: boolean,
    touchSeconds: number,
  ): Promise<AcquireOutcome> {
    const [row] = await this.prisma.sql<AcquireRow>(
      `SELECT outcome, seat_id AS id, held_since, last_used_at
       FROM seat_ledger_acquire($1::uuid, $2, $3, $4, $5, $6, $7)`,
      [tenant.id, tenant.slug, user.id, user.email, actor, bindEmail, touchSeconds],
      'seat-acquire',
    );
    if (row.outcome === 'held' || row.outcome === 'allocated') {
      const seat: HeldSeat = { id: row.id!, heldSince: row.held_since!, lastUsedAt: row.last_used_at! };
      return { outcome: row.outcome, seat };
    }
    return { outcome: row.outcome };
  }

  /**
   * A synchronous commit on the pool: the WAL is flushed in order, so an allocation committed
   * without waiting for the disk is durable once this returns.
   */
  async flush(): Promise<void> {
    await this.prisma.sql('SELECT txid_current()', [], 'seat-flush');
  }

  /** Does the user hold a seat in the tenant, and the counters an allocation checks; null without the tenant or license row. */
  async counts(tenantId: string, userId: string): Promise<SeatCounts | null> {
    const [row] = await this.prisma.sql<AvailabilityRow>(
      `SELECT EXISTS (SELECT 1 FROM seats WHERE tenant_id = $1::uuid AND user_id = $2) AS held,
              t.seats_held, t.seat_cap, l.seats_held AS license_held, l.seat_budget
       FROM tenants t, license l WHERE t.id = $1::uuid AND l.id = 1`,
      [tenantId, userId],
      'seat-availability',
    );
    if (!row) return null;
    return { held: row.held, tenantSeatsHeld: row.seats_held, seatCap: row.seat_cap, licenseSeatsHeld: row.license_held, seatBudget: row.seat_budget };
  }

  /** Whether the user holds a seat in the tenant. */
  async isHeld(tenantId: string, userId: string): Promise<boolean> {
    const seat = await this.prisma.seat.findUnique({ where: { tenantId_userId: { tenantId, userId } }, select: { id: true } });
    return seat !== null;
  }

  /** The tenant (id and slug) of a seat held right now; null when no such seat. */
  async tenantOf(seatId: string, tx?: Tx): Promise<{ tenantId: string; tenantSlug: string } | null> {
    const [owner] = await clientOf(this.prisma, tx).$queryRaw<{ tenant_id: string; slug: string }[]>`
      SELECT s.tenant_id, t.slug FROM seats s JOIN tenants t ON t.id = s.tenant_id WHERE s.id = ${seatId}::uuid`;
    return owner ? { tenantId: owner.tenant_id, tenantSlug: owner.slug } : null;
  }

  /** The id of the tenant with this slug; null when there is none. */
  async tenantIdOf(slug: string): Promise<string | null> {
    const tenant = await this.prisma.tenant.findUnique({ where: { slug }, select: { id: true } });
    return tenant?.id ?? null;
  }

  /** Locks the tenant row until the transaction ends: the first lock of every release (then the license row). */
  async lockTenant(tenantId: string, tx: Tx): Promise<void> {
    await clientOf(this.prisma, tx).$queryRaw`SELECT id FROM tenants WHERE id = ${tenantId}::uuid FOR UPDATE`;
  }

  /** Deletes seats of one tenant (one seat, all of them, or those idle since a cutoff); returns them. */
  async deleteSeats(tenantId: string, which: SeatSelection, tx: Tx): Promise<ReleasedSeat[]> {
    const db = clientOf(this.prisma, tx);
    const deleted =
      which === 'all'
        ? await db.$queryRaw<DeletedRow[]>`
            DELETE FROM seats WHERE tenant_id = ${tenantId}::uuid RETURNING id, user_id, email, held_since, last_used_at`
        : 'seatId' in which
          ? await db.$queryRaw<DeletedRow[]>`
              DELETE FROM seats WHERE id = ${which.seatId}::uuid AND tenant_id = ${tenantId}::uuid
              RETURNING id, user_id, email, held_since, last_used_at`
          : await db.$queryRaw<DeletedRow[]>`
              DELETE FROM seats WHERE tenant_id = ${tenantId}::uuid AND last_used_at < ${which.idleSince}
              RETURNING id, user_id, email, held_since, last_used_at`;
    return deleted.map(toReleasedSeat);
  }

  /** Takes `n` released seats off the tenant's counter, then the license's (in that lock order). */
  async decrementCounters(tenantId: string, n: number, tx: Tx): Promise<CountersAfterRelease> {
    const db = clientOf(this.prisma, tx);
    const [tenant] = await db.$queryRaw<{ seats_held: number }[]>`
      UPDATE tenants SET seats_held = seats_held - ${n} WHERE id = ${tenantId}::uuid RETURNING seats_held`;
    const [license] = await db.$queryRaw<{ seats_held: number; seat_budget: number }[]>`
      UPDATE license SET seats_held = seats_held - ${n} WHERE id = 1 RETURNING seats_held, seat_budget`;
    return { tenantSeatsHeld: tenant.seats_held, licenseSeatsHeld: license.seats_held, seatBudget: license.seat_budget };
  }

  /** Appends to the seat history (append-only: a trigger refuses UPDATE and DELETE). */
  async appendEvents(events: NewSeatEvent[], tx: Tx): Promise<void> {
    await clientOf(this.prisma, tx).seatEvent.createMany({ data: events });
  }

  /** Seats not used since the cutoff, by tenant, least recently used first. */
  async findIdle(cutoff: Date): Promise<Seat[]> {
    const seats = await this.prisma.seat.findMany({
      where: { lastUsedAt: { lt: cutoff } },
      orderBy: [{ tenantId: 'asc' }, { lastUsedAt: 'asc' }],
      ...withTenant,
    });
    return seats.map(toSeat);
  }

  /** Every seat held, oldest first. */
  async findAll(): Promise<Seat[]> {
    const seats = await this.prisma.seat.findMany({ ...withTenant, orderBy: { heldSince: 'asc' } });
    return seats.map(toSeat);
  }

  /** Up to `take` seats in (heldSince, id) order, after the given position; of one tenant when given. */
  async list(filter: { tenantId?: string; after?: { heldSince: Date; id: string }; take: number }): Promise<Seat[]> {
    const { after } = filter;
    const seats = await this.prisma.seat.findMany({
      where: {
        tenantId: filter.tenantId,
        ...(after ? { OR: [{ heldSince: { gt: after.heldSince } }, { heldSince: after.heldSince, id: { gt: after.id } }] } : {}),
      },
      orderBy: [{ heldSince: 'asc' }, { id: 'asc' }],
      take: filter.take,
      ...withTenant,
    });
    return seats.map(toSeat);
  }

  /**
   * Takes the reclamation's advisory lock for the rest of the transaction; false when another
   * transaction holds it (one instance at a time runs the scheduled reclamation).
   */
  async tryLockReclaim(tx: Tx): Promise<boolean> {
    const [{ locked }] = await clientOf(this.prisma, tx).$queryRaw<{ locked: boolean }[]>`
      SELECT pg_try_advisory_xact_lock(${ADVISORY_LOCK_KEYS.seatReclaim}) AS locked`;
    return locked;
  }
}
