import { Injectable } from '@nestjs/common';
import { shippedMigrations } from '../database/migrations.js';
import { PrismaService } from '../database/prisma.service.js';

/** What readiness asks of the database: that it answers, and which migrations it has applied. */
@Injectable()
export class HealthRepository {
  constructor(private readonly prisma: PrismaService) {}

  /** Resolves when Postgres answers a query; rejects otherwise. */
  async ping(): Promise<void> {
    await this.prisma.$queryRaw`SELECT 1`;
  }

  /** The migrations this build ships, by name (prisma/migrations, read once). */
  readonly shipped: readonly string[] = shippedMigrations();

  /**
   * Of `names`, those Prisma has not recorded as applied (finished, not rolled back). A database that
   * was never migrated has no _prisma_migrations table: every name is missing.
   */
  async unappliedMigrations(names: readonly string[]): Promise<string[]> {
    const [{ migrated }] = await this.prisma.$queryRaw<{ migrated: boolean }[]>`SELECT to_regclass('_prisma_migrations') IS NOT NULL AS migrated`;
    if (!migrated) return [...names];
    const applied = await this.prisma.$queryRaw<{ name: string }[]>`
      SELECT migration_name AS name FROM _prisma_migrations
       WHERE migration_name = ANY(${[...names]}) AND finished_at IS NOT NULL AND rolled_back_at IS NULL`;
    const done = new Set(applied.map((row) => row.name));
    return names.filter((name) => !done.has(name));
  }
}
