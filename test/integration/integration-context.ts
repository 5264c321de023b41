import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { Module, type DynamicModule, type INestApplicationContext, type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ScheduleModule } from '@nestjs/schedule';
import { ConfigModule } from '../../src/config/config.module.js';
import { loadConfig, type Config } from '../../src/config/config.js';
import { DatabaseModule } from '../../src/database/database.module.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

/** A feature's services on a real Postgres, without HTTP (the "medium" tier between unit and e2e tests). */
export interface IntegrationContext {
  app: INestApplicationContext;
  config: Config;
  /** The fresh database, with a direct connection for fixtures and for assertions on what is stored. */
  db: TestDatabase;
  close(): Promise<void>;
}

@Module({})
class IntegrationModule {}

/**
 * Starts a Nest standalone context with the given feature modules (and the infrastructure they
 * expect: config, database, scheduler) over a fresh copy of the migrated database, or over `existing`
 * (then left in place at close).
 */
export async function createIntegrationContext(
  modules: (Type | DynamicModule)[],
  env: Record<string, string> = {},
  existing?: TestDatabase,
): Promise<IntegrationContext> {
  const db = existing ?? (await createTestDatabase());
  const config = loadConfig({
    DATABASE_URL: db.url,
    DATABASE_POOL_SIZE: '4',
    METABASE_SITE_URL: 'https://metabase.test.example',
    METABASE_EMBEDDING_SECRET_KEY: randomBytes(32).toString('hex'),
    METABASE_JWT_SHARED_SECRET: `sso-${randomBytes(24).toString('base64url')}`,
    PUBLIC_URL: 'https://embedgate.test.example',
    SEAT_BUDGET: '10',
    // No background work: the tests call the services themselves.
    RETENTION_INTERVAL_MINUTES: '0',
    RECLAIM_INTERVAL_MINUTES: '0',
    ...env,
  });
  let app: INestApplicationContext;
  try {
    app = await NestFactory.createApplicationContext(
      { module: IntegrationModule, imports: [ConfigModule.forRoot(config), DatabaseModule, ScheduleModule.forRoot(), ...modules] },
      { logger: false, abortOnError: false },
    );
  } catch (error) {
    if (!existing) await db.drop();
    throw error;
  }
  return {
    app,
    config,
    db,
    async close() {
      await app.close();
      if (!existing) await db.drop();
    },
  };
}

/** A slug no other test of the file uses. */
export const uniqueSlug = (prefix: string) => `${prefix}-${randomBytes(4).toString('hex')}`;
