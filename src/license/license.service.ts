import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { AuditService } from '../audit/audit.service.js';
import { ApiError } from '../common/api-error.js';
import { CONFIG, type Config } from '../config/config.js';
import { Transactions } from '../database/transactions.js';
import type { BudgetChange } from './license.js';
import { LicenseRepository } from './license.repository.js';

/** The seat budget now, and its changes oldest first (the first: the initial budget). */
export interface BudgetHistory {
  seatBudget: number;
  changes: BudgetChange[];
}

export interface LicenseView {
  seatBudget: number;
  seatsHeld: number;
  seatsAvailable: number;
  byTenant: { slug: string; seatsHeld: number; seatCap: number | null }[];
}

@Injectable()
export class LicenseService implements OnModuleInit {
  constructor(
    private readonly license: LicenseRepository,
    private readonly transactions: Transactions,
    private readonly audit: AuditService,
    @Inject(CONFIG) private readonly config: Config,
  ) {}

  /** The license row exists from the first boot on, with SEAT_BUDGET; later boots leave it as admins set it. */
  async onModuleInit(): Promise<void> {
    await this.license.seed(this.config.initialSeatBudget);
  }

  async get(): Promise<LicenseView> {
    const [license, tenants] = await Promise.all([this.license.get(), this.license.tenantUsage()]);
    return {
      seatBudget: license.seatBudget,
      seatsHeld: license.seatsHeld,
      seatsAvailable: Math.max(0, license.seatBudget - license.seatsHeld),
      byTenant: tenants,
    };
  }

  /**
   * Sets the seat budget. Below the seats held it is refused unless forced; forced, it takes no
   * seat away but blocks new ones until usage is under it (the ledger's conditional UPDATE does that).
   */
  async setBudget(seatBudget: number, force: boolean, actor: string): Promise<LicenseView> {
    await this.transactions.run(async (tx) => {
      const license = await this.license.getForUpdate(tx);
      if (seatBudget < license.seatsHeld && !force) {
        throw new ApiError(
          409,
          'budget_below_seats_held',
          `${license.seatsHeld} seats are held; a budget of ${seatBudget} needs {"force": true} (it then blocks new seats until usage is under it)`,
        );
      }
      // The budget's history (what the seat-usage report reads) is written with the change itself.
      await this.license.setBudget({ seatBudget, previousBudget: license.seatBudget, actor }, tx);
      await this.audit.record(tx, {
        type: 'license.budget_changed',
        actor,
        data: { from: license.seatBudget, to: seatBudget, force, seatsHeld: license.seatsHeld },
      });
    });
    return this.get();
  }

  /** The seat budget now and every change of it, oldest first. */
  async budgetHistory(): Promise<BudgetHistory> {
    const [license, changes] = await Promise.all([this.license.get(), this.license.budgetChanges()]);
    return { seatBudget: license.seatBudget, changes };
  }
}
