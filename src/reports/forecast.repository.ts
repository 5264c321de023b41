import { Injectable } from '@nestjs/common';
import { PrismaService } from '../database/prisma.service.js';
import type { ForecastTenant } from './forecast.js';

/** What the forecast reads of every tenant: its settings and seats held now (viewers come from the usage roll-up). */
@Injectable()
export class ForecastRepository {
  constructor(private readonly prisma: PrismaService) {}

  async tenants(): Promise<Omit<ForecastTenant, 'viewers'>[]> {
    const rows = await this.prisma.tenant.findMany({
      select: { slug: true, kind: true, tier: true, seatCap: true, onSeatsExhausted: true, status: true, seatsHeld: true },
      orderBy: { slug: 'asc' },
    });
    return rows.map((row) => ({
      slug: row.slug,
      kind: row.kind,
      tier: row.tier,
      seatCap: row.seatCap,
      onSeatsExhausted: row.onSeatsExhausted,
      status: row.status,
      seatsHeld: row.seatsHeld,
    }));
  }
}
