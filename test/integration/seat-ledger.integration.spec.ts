import { ApiError } from '../../src/common/api-error.js';
import { Transactions } from '../../src/database/transactions.js';
import { SeatLedger } from '../../src/seats/seat-ledger.service.js';
import { SeatReclaimScheduler } from '../../src/seats/seat-reclaim.scheduler.js';
import { servicesOn, type ServicesContext } from './ledger-context.js';

/** Each test opens its own database and services and closes them. */
async function withLedger(env: Record<string, string>, test: (context: ServicesContext, ledger: SeatLedger) => Promise<void>) {
  const context = await servicesOn(env);
  try {
    await test(context, context.app.get(SeatLedger));
  } finally {
    await context.close();
  }
}

const user = (id: string, tenant: { slug: string }) => ({ id, email: `${id}@${tenant.slug}.example` });
const counters = async (context: ServicesContext, tenantId: string) => {
  const [row] = await context.db.query<{ tenant: number; license: number }>(
    'SELECT t.seats_held AS tenant, l.seats_held AS license FROM tenants t, license l WHERE t.id = $1 AND l.id = 1',
    [tenantId],
  );
  return row;
};

describe('SeatLedger.acquire', () => {
  it('allocates a new seat with its counters, its event and its audit entry, then reuses it', () =>
    withLedger({}, async (context, ledger) => {
      const tenant = await context.tenant();
      const first = await ledger.acquire(tenant, user('ana', tenant), 'app:test', { bindEmail: true });
      expect(first).toMatchObject({ outcome: 'allocated', seat: { id: expect.any(String) } });
      expect(await counters(context, tenant.id)).toEqual({ tenant: 1, license: 1 });

      const again = await ledger.acquire(tenant, user('ana', tenant), 'app:test', { bindEmail: false });
      expect(again.outcome).toBe('held');
      expect('seat' in again && 'seat' in first && again.seat.id === first.seat.id).toBe(true);
      expect(await counters(context, tenant.id)).toEqual({ tenant: 1, license: 1 });

      expect(await context.db.query('SELECT kind, reason, seats_held_after, tenant_held_after, seat_budget FROM seat_events')).toEqual([
        { kind: 'allocated', reason: 'first-embed', seats_held_after: 1, tenant_held_after: 1, seat_budget: 10 },
      ]);
      expect(await context.db.query(`SELECT type, tenant_slug FROM audit_events WHERE type = 'seat.allocated'`)).toEqual([
        { type: 'seat.allocated', tenant_slug: tenant.slug },
      ]);
    }));

  it('refuses a seat past the budget, and says so beforehand (availability)', () =>
    withLedger({ SEAT_BUDGET: '1' }, async (context, ledger) => {
      const tenant = await context.tenant();
      expect(await ledger.availability(tenant.id, 'ana')).toBe('available');
      expect((await ledger.acquire(tenant, user('ana', tenant), 'app:test', { bindEmail: true })).outcome).toBe('allocated');
      expect(await ledger.availability(tenant.id, 'ana')).toBe('held');
      expect(await ledger.availability(tenant.id, 'bob')).toBe('budget-exhausted');
      expect((await ledger.acquire(tenant, user('bob', tenant), 'app:test', { bindEmail: true })).outcome).toBe('budget-exhausted');
      expect(await counters(context, tenant.id)).toEqual({ tenant: 1, license: 1 });
    }));

  it("refuses a seat past the tenant's cap", () =>
    withLedger({}, async (context, ledger) => {
      const tenant = await context.tenant({ seatCap: 1 });
      expect((await ledger.acquire(tenant, user('ana', tenant), 'app:test', { bindEmail: true })).outcome).toBe('allocated');
      expect(await ledger.availability(tenant.id, 'bob')).toBe('cap-exhausted');
      expect((await ledger.acquire(tenant, user('bob', tenant), 'app:test', { bindEmail: true })).outcome).toBe('cap-exhausted');
    }));

  it("refuses an email that is another tenant's SSO identity, changing nothing", () =>
    withLedger({}, async (context, ledger) => {
      const [acme, globex] = [await context.tenant(), await context.tenant()];
      const shared = { id: 'ana', email: 'ana@shared.example' };
      expect((await ledger.acquire(acme, shared, 'app:test', { bindEmail: true })).outcome).toBe('allocated');
      expect((await ledger.acquire(globex, shared, 'app:test', { bindEmail: true })).outcome).toBe('identity-conflict');
      expect(await counters(context, globex.id)).toEqual({ tenant: 0, license: 1 });
    }));

  it('gives no seat in a tenant that is not an active drill tenant', () =>
    withLedger({}, async (context, ledger) => {
      const viewOnly = await context.tenant({ tier: 'view' });
      expect((await ledger.acquire(viewOnly, user('ana', viewOnly), 'app:test', { bindEmail: true })).outcome).toBe('tenant-changed');
    }));
});

describe('SeatLedger.release', () => {
  it('frees the seat, appends its event, queues the deactivation and audits it; a second release is a 404', () =>
    withLedger({}, async (context, ledger) => {
      const tenant = await context.tenant();
      const acquired = await ledger.acquire(tenant, user('ana', tenant), 'app:test', { bindEmail: true });
      if (acquired.outcome !== 'allocated') throw new Error(acquired.outcome);

      expect(await ledger.release(acquired.seat.id, 'admin', 'key:admin')).toEqual({ id: acquired.seat.id, tenantId: tenant.id, userId: 'ana' });
      expect(await counters(context, tenant.id)).toEqual({ tenant: 0, license: 0 });
      expect(await ledger.holds(tenant.id, 'ana')).toBe(false);
      expect(await context.db.query(`SELECT kind, reason, actor, seats_held_after, tenant_held_after FROM seat_events WHERE kind = 'released'`)).toEqual([
        { kind: 'released', reason: 'admin', actor: 'key:admin', seats_held_after: 0, tenant_held_after: 0 },
      ]);
      expect(await context.db.query('SELECT email, seat_id, reason, status FROM metabase_outbox')).toEqual([
        { email: `ana@${tenant.slug}.example`, seat_id: acquired.seat.id, reason: 'admin', status: 'pending' },
      ]);
      expect(await context.db.query(`SELECT actor, data FROM audit_events WHERE type = 'seat.released'`)).toEqual([
        { actor: 'key:admin', data: { seatId: acquired.seat.id, userId: 'ana', reason: 'admin' } },
      ]);

      await expect(ledger.release(acquired.seat.id, 'admin', 'key:admin')).rejects.toMatchObject({ status: 404, code: 'seat_not_found' });
      await expect(ledger.release('not-a-uuid', 'admin', 'key:admin')).rejects.toBeInstanceOf(ApiError);
    }));

  it("releases all of a tenant's seats inside the caller's transaction, and none when it rolls back", () =>
    withLedger({}, async (context, ledger) => {
      const tenant = await context.tenant();
      for (const id of ['ana', 'bob', 'cy']) await ledger.acquire(tenant, user(id, tenant), 'app:test', { bindEmail: true });
      const transactions = context.app.get(Transactions);

      await expect(
        transactions.run(async (tx) => {
          expect(await ledger.releaseAllOfTenant(tx, tenant.id, 'tier-downgrade', 'key:admin')).toBe(3);
          throw new Error('the caller changed its mind');
        }),
      ).rejects.toThrow('changed its mind');
      expect(await counters(context, tenant.id)).toEqual({ tenant: 3, license: 3 });
      expect(await context.db.query('SELECT id FROM metabase_outbox')).toEqual([]);

      expect(await transactions.run((tx) => ledger.releaseAllOfTenant(tx, tenant.id, 'tier-downgrade', 'key:admin'))).toBe(3);
      expect(await counters(context, tenant.id)).toEqual({ tenant: 0, license: 0 });
      // The counters after each release are those of the releases applied one by one.
      const events = await context.db.query<{ seats_held_after: number }>(`SELECT seats_held_after FROM seat_events WHERE kind = 'released' ORDER BY id`);
      expect(events.map((e) => e.seats_held_after)).toEqual([2, 1, 0]);
    }));
});

describe('SeatLedger.reclaim', () => {
  it('lists the idle seats on a dry run, then releases only those', () =>
    withLedger({}, async (context, ledger) => {
      const tenant = await context.tenant();
      for (const id of ['idle', 'busy']) await ledger.acquire(tenant, user(id, tenant), 'app:test', { bindEmail: true });
      await context.db.query(`UPDATE seats SET last_used_at = now() - interval '40 days' WHERE user_id = 'idle'`);

      const dry = await ledger.reclaim(30, true, 'cli');
      expect(dry).toMatchObject({ idleDays: 30, dryRun: true, count: 1, seats: [{ tenant: tenant.slug, userId: 'idle' }] });
      expect(await counters(context, tenant.id)).toEqual({ tenant: 2, license: 2 });

      const done = await ledger.reclaim(30, false, 'cli');
      expect(done).toMatchObject({ dryRun: false, count: 1, seats: [{ tenant: tenant.slug, userId: 'idle', email: `idle@${tenant.slug}.example` }] });
      expect(await ledger.holds(tenant.id, 'idle')).toBe(false);
      expect(await ledger.holds(tenant.id, 'busy')).toBe(true);
      expect(await context.db.query(`SELECT actor, data FROM audit_events WHERE type = 'seats.reclaimed'`)).toEqual([
        { actor: 'cli', data: { idleDays: 30, released: 1 } },
      ]);
    }));

  it('runs the scheduled reclamation on one instance at a time', () =>
    withLedger({}, async (context, ledger) => {
      const scheduler = context.app.get(SeatReclaimScheduler);
      let inside!: () => void;
      const entered = new Promise<void>((resolve) => (inside = resolve));
      let leave!: () => void;
      const held = ledger.whileReclaimLocked(
        async () => {
          inside();
          await new Promise<void>((resolve) => (leave = resolve));
          return 'first';
        },
        { maxWait: 5_000, timeout: 10_000 },
      );
      await entered;
      expect(await scheduler.runOnce()).toBeNull();
      leave();
      expect(await held).toBe('first');
      expect(await scheduler.runOnce()).toEqual({ count: 0 });
    }));
});

describe('SeatLedger.list', () => {
  it('pages through the seats, oldest first, of one tenant when asked; an unknown tenant is a 404', () =>
    withLedger({}, async (context, ledger) => {
      const [acme, globex] = [await context.tenant(), await context.tenant()];
      for (const id of ['a1', 'a2', 'a3']) await ledger.acquire(acme, user(id, acme), 'app:test', { bindEmail: true });
      await ledger.acquire(globex, user('g1', globex), 'app:test', { bindEmail: true });

      const first = await ledger.list({ tenant: acme.slug, limit: 2 });
      expect(first.items.map((seat) => seat.userId)).toEqual(['a1', 'a2']);
      expect(first.items[0]).toMatchObject({ tenant: acme.slug, email: `a1@${acme.slug}.example` });
      const second = await ledger.list({ tenant: acme.slug, limit: 2, cursor: first.nextCursor! });
      expect(second).toMatchObject({ items: [{ userId: 'a3' }], nextCursor: null });
      expect((await ledger.list({ limit: 10 })).items).toHaveLength(4);
      expect((await ledger.allHeld()).map((seat) => seat.userId)).toEqual(['a1', 'a2', 'a3', 'g1']);

      await expect(ledger.list({ tenant: 'nobody', limit: 10 })).rejects.toMatchObject({ status: 404, code: 'tenant_not_found' });
      await expect(ledger.list({ limit: 10, cursor: 'bm90LWEtY3Vyc29y' })).rejects.toMatchObject({ status: 400 });
    }));
});
