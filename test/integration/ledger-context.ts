import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { Module, type DynamicModule, type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ScheduleModule } from '@nestjs/schedule';
import { ConfigModule } from '../../src/config/config.module.js';
import { loadConfig, type Config } from '../../src/config/config.js';
import { DatabaseModule } from '../../src/database/database.module.js';
import { LicenseModule } from '../../src/license/license.module.js';
import { ReportsModule } from '../../src/reports/reports.module.js';
import { SeatsModule } from '../../src/seats/seats.module.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

/** The seat ledger, the license and the reports over the database: no HTTP, no other feature. */
@Module({})
class ServicesUnderTest {
  static forRoot(config: Config): DynamicModule {
    return {
      module: ServicesUnderTest,
      imports: [ConfigModule.forRoot(config), DatabaseModule, ScheduleModule.forRoot(), SeatsModule, LicenseModule, ReportsModule],
    };
  }
}

export interface ServicesContext {
  app: INestApplicationContext;
  db: TestDatabase;
  config: Config;
  /** A tenant row made for the test (an active drill tenant unless told otherwise). */
  tenant(fields?: { seatCap?: number; tier?: 'view' | 'drill'; status?: 'active' | 'suspended' }): Promise<{ id: string; slug: string }>;
  close(): Promise<void>;
}

/**
 * A fresh database (a copy of the migrated template) and the services built on it by Nest, booted as
 * the service boots them (the license row is seeded with SEAT_BUDGET). Each test makes its own.
 */
export async function servicesOn(env: Record<string, string> = {}, existing?: TestDatabase): Promise<ServicesContext> {
  const db = existing ?? (await createTestDatabase());
  const config = loadConfig({
    DATABASE_URL: db.url,
    DATABASE_POOL_SIZE: '4',
    METABASE_SITE_URL: 'https://metabase.test.example',
    METABASE_EMBEDDING_SECRET_KEY: randomBytes(32).toString('hex'),
    METABASE_JWT_SHARED_SECRET: `sso-${randomBytes(24).toString('base64url')}`,
    PUBLIC_URL: 'https://embedgate.test.example',
    SEAT_BUDGET: '10',
    LOG_LEVEL: 'error',
    ...env,
  });
  const app = await NestFactory.createApplicationContext(ServicesUnderTest.forRoot(config), { logger: false, abortOnError: false });
  return {
    app,
    db,
    config,
    async tenant(fields = {}) {
      const slug = `t-${randomBytes(4).toString('hex')}`;
      const [row] = await db.query<{ id: string }>(
        `INSERT INTO tenants (slug, name, kind, tier, customer_id, seat_cap, status)
         VALUES ($1, $2, 'external', $3, $4, $5, $6) RETURNING id`,
        [slug, slug, fields.tier ?? 'drill', slug, fields.seatCap ?? null, fields.status ?? 'active'],
      );
      return { id: row.id, slug };
    },
    async close() {
      await app.close();
      if (!existing) await db.drop();
    },
  };
}
