import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { AuditService } from '../audit/audit.service.js';
import { ApiError } from '../common/api-error.js';
import { CONFIG, type Config } from '../config/config.js';
import { PrismaService } from '../database/prisma.service.js';

export interface LicenseView {
  seatBudget: number;
  seatsHeld: number;
  seatsAvailable: number;
  byTenant: { slug: string; seatsHeld: number; seatCap: number | null }[];
}

@Injectable()
export class LicenseService implements OnModuleInit {
  constructor(
    private readonly prisma: PrismaService,
    private readonly audit: AuditService,
    @Inject(CONFIG) private readonly config: Config,
  ) {}

  /** The license row exists from the first boot on, with SEAT_BUDGET; later boots leave it as admins set it. */
  async onModuleInit(): Promise<void> {
    await this.prisma.$executeRaw`
      INSERT INTO license (id, seat_budget, seats_held) VALUES (1, ${this.config.initialSeatBudget}, 0)
      ON CONFLICT (id) DO NOTHING`;
  }

  async get(): Promise<LicenseView> {
    const [license, tenants] = await Promise.all([
      this.prisma.license.findUniqueOrThrow({ where: { id: 1 } }),
      this.prisma.tenant.findMany({
        where: { OR: [{ seatsHeld: { gt: 0 } }, { tier: 'drill' }] },
        select: { slug: true, seatsHeld: true, seatCap: true },
        orderBy: { slug: 'asc' },
      }),
    ]);
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
    await this.prisma.$transaction(async (tx) => {
      const [license] = await tx.$queryRaw<{ seat_budget: number; seats_held: number }[]>`
        SELECT seat_budget, seats_held FROM license WHERE id = 1 FOR UPDATE`;
      if (seatBudget < license.seats_held && !force) {
        throw new ApiError(
          409,
          'budget_below_seats_held',
          `${license.seats_held} seats are held; a budget of ${seatBudget} needs {"force": true} (it then blocks new seats until usage is under it)`,
        );
      }
      await tx.license.update({ where: { id: 1 }, data: { seatBudget } });
      await this.audit.record(tx, {
        type: 'license.budget_changed',
        actor,
        data: { from: license.seat_budget, to: seatBudget, force, seatsHeld: license.seats_held },
      });
    });
    return this.get();
  }
}
