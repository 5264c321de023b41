import { Injectable } from '@nestjs/common';
import { PrismaService } from '../database/prisma.service.js';

export interface TenantCount {
  tenant: string;
  value: number;
}

export interface PoolCounts {
  total: number;
  idle: number;
  waiting: number;
}

/** What the Prometheus gauges read at each scrape: seat counts and caps, the license, and the connection pool. */
@Injectable()
export class MetricsRepository {
  constructor(private readonly prisma: PrismaService) {}

  /** Seats held by each tenant holding any. */
  async seatsHeldByTenant(): Promise<TenantCount[]> {
    const rows = await this.prisma.tenant.findMany({ where: { seatsHeld: { gt: 0 } }, select: { slug: true, seatsHeld: true } });
    return rows.map((row) => ({ tenant: row.slug, value: row.seatsHeld }));
  }

  /** The seat cap of each tenant with one. */
  async seatCapsByTenant(): Promise<TenantCount[]> {
    const rows = await this.prisma.tenant.findMany({ where: { seatCap: { not: null } }, select: { slug: true, seatCap: true } });
    return rows.map((row) => ({ tenant: row.slug, value: row.seatCap ?? 0 }));
  }

  /** The license's seat budget and seats held (0 and 0 before the license row exists). */
  async licenseSeats(): Promise<{ budget: number; held: number }> {
    const license = await this.prisma.license.findUnique({ where: { id: 1 } });
    return { budget: license?.seatBudget ?? 0, held: license?.seatsHeld ?? 0 };
  }

  /** The Postgres pool's connections: open, idle, and requests waiting for one. */
  poolCounts(): PoolCounts {
    const pool = this.prisma.pool;
    return { total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount };
  }
}
