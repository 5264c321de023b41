import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LicenseService } from '../../src/license/license.service.js';
import { SeatUsageReports } from '../../src/reports/seat-usage.service.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { ROOT } from '../support/process.js';
import { servicesOn, type ServicesContext } from './ledger-context.js';

/** Each test opens its own database and services and closes them. */
async function withLicense(env: Record<string, string>, test: (context: ServicesContext, license: LicenseService) => Promise<void>, db?: TestDatabase) {
  const context = await servicesOn(env, db);
  try {
    await test(context, context.app.get(LicenseService));
  } finally {
    await context.close();
  }
}

const history = (context: ServicesContext) =>
  context.db.query<{ seat_budget: number; previous_budget: number | null; actor: string }>(
    'SELECT seat_budget, previous_budget, actor FROM license_budget_changes ORDER BY id',
  );
const budgetsOf = async (context: ServicesContext, from: string, to: string) =>
  (await context.app.get(SeatUsageReports).build(new Date(`${from}T00:00:00Z`), new Date(`${to}T00:00:00Z`))).daily.map((day) => day.budget);

describe('the license at boot', () => {
  it('is created at the first boot with SEAT_BUDGET, which starts the budget history; later boots leave both as they are', async () => {
    const db = await createTestDatabase();
    try {
      await withLicense(
        { SEAT_BUDGET: '25' },
        async (context, license) => {
          expect(await license.get()).toMatchObject({ seatBudget: 25, seatsHeld: 0, seatsAvailable: 25 });
          expect(await history(context)).toEqual([{ seat_budget: 25, previous_budget: null, actor: 'SEAT_BUDGET' }]);
        },
        db,
      );
      await withLicense(
        { SEAT_BUDGET: '99' },
        async (context, license) => {
          expect((await license.get()).seatBudget).toBe(25);
          expect(await history(context)).toHaveLength(1);
        },
        db,
      );
    } finally {
      await db.drop();
    }
  });
});

describe('LicenseService.setBudget', () => {
  it('changes the budget, its history and the audit log together', () =>
    withLicense({ SEAT_BUDGET: '10' }, async (context, license) => {
      expect(await license.setBudget(40, false, 'key:admin')).toMatchObject({ seatBudget: 40, seatsAvailable: 40 });
      expect(await history(context)).toEqual([
        { seat_budget: 10, previous_budget: null, actor: 'SEAT_BUDGET' },
        { seat_budget: 40, previous_budget: 10, actor: 'key:admin' },
      ]);
      expect(await context.db.query(`SELECT actor, data FROM audit_events WHERE type = 'license.budget_changed'`)).toEqual([
        { actor: 'key:admin', data: { from: 10, to: 40, force: false, seatsHeld: 0 } },
      ]);
      const [{ budget }] = await context.db.query<{ budget: number }>('SELECT seat_budget AS budget FROM license');
      expect(budget).toBe(40);
    }));

  it('refuses a budget below the seats held unless forced, changing nothing', () =>
    withLicense({ SEAT_BUDGET: '10' }, async (context, license) => {
      await context.db.query('UPDATE license SET seats_held = 5');
      await expect(license.setBudget(3, false, 'key:admin')).rejects.toMatchObject({ status: 409, code: 'budget_below_seats_held' });
      expect(await history(context)).toHaveLength(1);
      expect(await context.db.query(`SELECT id FROM audit_events WHERE type = 'license.budget_changed'`)).toEqual([]);

      expect(await license.setBudget(3, true, 'key:admin')).toMatchObject({ seatBudget: 3, seatsHeld: 5, seatsAvailable: 0 });
      expect((await history(context)).at(-1)).toEqual({ seat_budget: 3, previous_budget: 10, actor: 'key:admin' });
    }));
});

describe('the seat-usage report reads the budget history, not the audit log', () => {
  it('gives the budget in force at the end of each day', () =>
    withLicense({ SEAT_BUDGET: '10' }, async (context, license) => {
      await license.setBudget(20, false, 'key:admin');
      await license.setBudget(30, false, 'key:admin');
      // Date the history: the initial budget on 1 March, 20 from 3 March, 30 from 5 March.
      await context.db.query(`UPDATE license_budget_changes SET changed_at = '2026-03-01T08:00:00Z' WHERE seat_budget = 10`);
      await context.db.query(`UPDATE license_budget_changes SET changed_at = '2026-03-03T12:00:00Z' WHERE seat_budget = 20`);
      await context.db.query(`UPDATE license_budget_changes SET changed_at = '2026-03-05T23:59:59Z' WHERE seat_budget = 30`);
      expect(await budgetsOf(context, '2026-02-27', '2026-03-06')).toEqual([10, 10, 10, 10, 20, 20, 30, 30]);
    }));

  it('is unchanged when the audit entries of budget changes change or disappear', () =>
    withLicense({ SEAT_BUDGET: '10' }, async (context, license) => {
      await license.setBudget(20, false, 'key:admin');
      await license.setBudget(5, false, 'key:admin');
      const today = new Date(`${new Date().toISOString().slice(0, 10)}T00:00:00Z`);
      const report = () => context.app.get(SeatUsageReports).build(new Date(today.getTime() - 2 * 86_400_000), today);
      const before = await report();
      expect(before.daily.map((day) => day.budget)).toEqual([10, 10, 5]);

      await context.db.query(`UPDATE audit_events SET data = '{"from": 1, "to": 999}' WHERE type = 'license.budget_changed'`);
      await context.db.query(`INSERT INTO audit_events (type, actor, data) VALUES ('license.budget_changed', 'forged', '{"from": 7, "to": 70}')`);
      expect(await report()).toEqual(before);

      await context.db.query(`DELETE FROM audit_events WHERE type = 'license.budget_changed'`);
      expect(await report()).toEqual(before);
    }));
});

describe('the migration that adds the budget history', () => {
  /** The backfill statements of the migration (after its CREATE TABLE), run again on a database set up for it. */
  const backfill = () => {
    const sql = readFileSync(join(ROOT, 'prisma', 'migrations', '20261129090000_license_budget_changes', 'migration.sql'), 'utf8');
    return sql.slice(sql.indexOf('-- Backfill'));
  };

  it('fills the history from the audited budget changes, after the initial budget', async () => {
    const db = await createTestDatabase();
    try {
      await db.query(`INSERT INTO license (id, seat_budget, seats_held, updated_at) VALUES (1, 30, 0, '2026-03-05T10:00:00Z')`);
      await db.query(`INSERT INTO audit_events (type, actor, data, at) VALUES
        ('tenant.created', 'key:admin', '{}', '2026-02-20T09:00:00Z'),
        ('license.budget_changed', 'key:one', '{"from": 10, "to": 20, "force": false, "seatsHeld": 0}', '2026-03-03T12:00:00Z'),
        ('license.budget_changed', 'key:two', '{"from": 20, "to": 30, "force": false, "seatsHeld": 0}', '2026-03-05T10:00:00Z')`);
      await db.query(backfill());
      const rows = await db.query<{ seat_budget: number; previous_budget: number | null; actor: string; changed_at: Date }>(
        'SELECT seat_budget, previous_budget, actor, changed_at FROM license_budget_changes ORDER BY id',
      );
      expect(rows).toEqual([
        { seat_budget: 10, previous_budget: null, actor: 'SEAT_BUDGET', changed_at: new Date('2026-02-20T09:00:00Z') },
        { seat_budget: 20, previous_budget: 10, actor: 'key:one', changed_at: new Date('2026-03-03T12:00:00Z') },
        { seat_budget: 30, previous_budget: 20, actor: 'key:two', changed_at: new Date('2026-03-05T10:00:00Z') },
      ]);
      // The report over the backfilled history: what it computed from the audit log before.
      await withLicense(
        { SEAT_BUDGET: '99' },
        async (context) => {
          expect(await budgetsOf(context, '2026-02-18', '2026-03-06')).toEqual([
            ...Array(13).fill(10), // 18 Feb to 2 March
            20,
            20,
            30,
            30,
          ]);
        },
        db,
      );
    } finally {
      await db.drop();
    }
  });

  it('records the budget now as the initial one when no change was audited, and nothing without a license row', async () => {
    const db = await createTestDatabase();
    try {
      await db.query(backfill());
      expect(await db.query('SELECT id FROM license_budget_changes')).toEqual([]);
      await db.query(`INSERT INTO license (id, seat_budget, seats_held) VALUES (1, 12, 3)`);
      await db.query(backfill());
      expect(await db.query('SELECT seat_budget, previous_budget, actor FROM license_budget_changes')).toEqual([
        { seat_budget: 12, previous_budget: null, actor: 'SEAT_BUDGET' },
      ]);
    } finally {
      await db.drop();
    }
  });
});
