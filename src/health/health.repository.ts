import { Injectable } from '@nestjs/common';
import { PrismaService } from '../database/prisma.service.js';

/** What readiness asks of the database: that it answers. */
@Injectable()
export class HealthRepository {
  constructor(private readonly prisma: PrismaService) {}

  /** Resolves when Postgres answers a query; rejects otherwise. */
  async ping(): Promise<void> {
    await this.prisma.$queryRaw`SELECT 1`;
  }
}
