import { Injectable } from '@nestjs/common';
import { PrismaService } from '../database/prisma.service.js';
import { clientOf, type Tx } from '../database/transactions.js';
import type { LicenseBudgetChange } from '../generated/prisma/client.js';
import type { BudgetChange, License, TenantSeatUsage } from './license.js';

/** The actor of the initial budget: the configuration that set it. */
export const INITIAL_BUDGET_ACTOR = 'SEAT_BUDGET';

const toBudgetChange = (model: LicenseBudgetChange): BudgetChange => ({
  seatBudget: model.seatBudget,
  previousBudget: model.previousBudget,
  actor: model.actor,
  changedAt: model.changedAt,
});

/** The license row (id 1) and the seat budget's history (license_budget_changes). */
@Injectable()
export class LicenseRepository {
  constructor(private readonly prisma: PrismaService) {}

  /**
   * Creates the license row with the initial budget if there is none, and records that budget as
   * the first of its history, in one statement; an existing row is left as it is.
   */
  async seed(initialBudget: number): Promise<void> {
    await this.prisma.$executeRaw`
      WITH seeded AS (
        INSERT INTO license (id, seat_budget, seats_held) VALUES (1, ${initialBudget}, 0)
        ON CONFLICT (id) DO NOTHING
        RETURNING seat_budget)
      INSERT INTO license_budget_changes (seat_budget, actor)
      SELECT seat_budget, ${INITIAL_BUDGET_ACTOR}::text FROM seeded`;
  }

  async get(): Promise<License> {
    const license = await this.prisma.license.findUniqueOrThrow({ where: { id: 1 } });
    return { seatBudget: license.seatBudget, seatsHeld: license.seatsHeld };
  }

  /** Tenants holding seats or able to (drill tier), by slug. */
  async tenantUsage(): Promise<TenantSeatUsage[]> {
    return this.prisma.tenant.findMany({
      where: { OR: [{ seatsHeld: { gt: 0 } }, { tier: 'drill' }] },
      select: { slug: true, seatsHeld: true, seatCap: true },
      orderBy: { slug: 'asc' },
    });
  }

  /** Reads the license row and locks it until the transaction ends (seat allocations wait meanwhile). */
  async getForUpdate(tx: Tx): Promise<License> {
    const [license] = await clientOf(this.prisma, tx).$queryRaw<{ seat_budget: number; seats_held: number }[]>`
      SELECT seat_budget, seats_held FROM license WHERE id = 1 FOR UPDATE`;
    return { seatBudget: license.seat_budget, seatsHeld: license.seats_held };
  }

  /** Sets the budget and appends the change to its history, in the caller's transaction. */
  async setBudget(change: { seatBudget: number; previousBudget: number; actor: string }, tx: Tx): Promise<void> {
    const db = clientOf(this.prisma, tx);
    await db.license.update({ where: { id: 1 }, data: { seatBudget: change.seatBudget } });
    await db.licenseBudgetChange.create({ data: change });
  }

  /** The budget's history, oldest first. */
  async budgetChanges(): Promise<BudgetChange[]> {
    const changes = await this.prisma.licenseBudgetChange.findMany({ orderBy: { id: 'asc' } });
    return changes.map(toBudgetChange);
  }
}
