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

export interface OutboxCounts {
  pending: number;
  failed: number;
  /** Seconds since the oldest pending job was queued; 0 when none is pending. */
  oldestPendingSeconds: number;
}

/** What the Prometheus gauges read at each scrape: seat counts and caps, the license, the deactivation outbox, and the connection pool. */
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

  /** The Metabase deactivation outbox's backlog: pending and failed jobs, and the age of the oldest pending one. */
  async outboxCounts(): Promise<OutboxCounts> {
    const [row] = await this.prisma.$queryRaw<{ pending: number; failed: number; oldest: number }[]>`
      SELECT count(*) FILTER (WHERE status = 'pending')::int AS pending,
             count(*) FILTER (WHERE status = 'failed')::int AS failed,
             coalesce(extract(epoch FROM now() - min(created_at) FILTER (WHERE status = 'pending')), 0)::float8 AS oldest
      FROM metabase_outbox WHERE status IN ('pending', 'failed')`;
    return { pending: row?.pending ?? 0, failed: row?.failed ?? 0, oldestPendingSeconds: row?.oldest ?? 0 };
  }

  /** Resolves when Postgres answers a query; rejects otherwise. */
  async ping(): Promise<void> {
    await this.prisma.$queryRaw`SELECT 1`;
  }

  /** The Postgres pool's connections: open, idle, and requests waiting for one. */
  poolCounts(): PoolCounts {
    const pool = this.prisma.pool;
    return { total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount };
  }
}
