import { randomBytes } from 'node:crypto';
import { Global, Injectable, Module, type DynamicModule } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { AuthModule } from '../auth/auth.module.js';
import { ConfigModule } from '../config/config.module.js';
import type { CliConfig, Config } from '../config/config.js';
import { DatabaseModule } from '../database/database.module.js';
import { LicenseReconciliation } from '../license/license-reconciliation.service.js';
import { MetabaseModule } from '../metabase/metabase.module.js';
import { MetabaseStatusModule } from '../metabase-status/metabase-status.module.js';
import { RetentionModule } from '../retention/retention.module.js';
import { SeatsModule } from '../seats/seats.module.js';

/**
 * The CLI runs no background work: a service that starts its worker at bootstrap (the deactivation
 * outbox with a Metabase API key) has its timer cleared at once, so the command's work is all there
 * is and the process exits when it is done.
 */
@Injectable()
export class NoBackgroundWork extends SchedulerRegistry {
  override addInterval<T = unknown>(_name: string, intervalId: T): void {
    clearInterval(intervalId as NodeJS.Timeout);
  }

  override addTimeout<T = unknown>(_name: string, timeoutId: T): void {
    clearTimeout(timeoutId as NodeJS.Timeout);
  }

  override addCronJob(_name: string, job: Parameters<SchedulerRegistry['addCronJob']>[1]): void {
    void job.stop();
  }
}

/** What the modules the CLI loads need in place of ScheduleModule (not loaded: it would run @Cron/@Interval work). */
@Global()
@Module({ providers: [{ provide: SchedulerRegistry, useClass: NoBackgroundWork }], exports: [SchedulerRegistry] })
class CliSchedulerModule {}

/** What a command may set beyond CliConfig (the days of `retention purge --days n --usage-days n`). */
export interface CommandOptions {
  retentionDays?: number;
  usageRetentionDays?: number;
}

/**
 * The configuration the CLI's modules read, from the CLI's partial one: its database (a pool of 2,
 * no statement timeout: an operator runs it and watches), no caching (one command, one read), rate
 * limits in memory, the Metabase API when configured, and every schedule off. It fills only what
 * those modules read: they are checked by the CLI's end-to-end tests. The CLI mints no Metabase
 * token, but MetabaseTokens is built with secrets: embedgate's when given (the metabase commands
 * compare them with Metabase's), else random ones of this process, which nothing shares.
 */
export function cliModuleConfig(cli: CliConfig, options: CommandOptions = {}) {
  return {
    databaseUrl: cli.databaseUrl,
    databasePoolSize: 2,
    cacheTtlMs: 0,
    rateLimits: { redisKeyPrefix: 'embedgate', embedsPerMinute: 1, authFailuresPerMinute: 1 },
    metabase: {
      api: cli.metabaseApi,
      siteUrl: cli.metabaseApi?.url ?? 'http://localhost',
      // The metabase commands compare Metabase's secrets with embedgate's (main.ts requires them there).
      embeddingSecretKey: cli.metabaseSide.secrets?.embeddingSecretKey ?? randomBytes(32).toString('hex'),
      jwtSharedSecret: cli.metabaseSide.secrets?.jwtSharedSecret ?? randomBytes(32).toString('hex'),
      guestTokenTtlSeconds: 60,
      ssoTokenTtlSeconds: 60,
      sdkSsoTokenTtlSeconds: 600,
      checkIntervalMinutes: 10,
      userProvisioning: cli.metabaseSide.userProvisioning,
    },
    groups: cli.metabaseSide.groups,
    metabaseTenants: cli.metabaseSide.metabaseTenants,
    outbox: { intervalSeconds: 5 },
    reclaim: { intervalMinutes: 0, idleDays: 0 },
    retention: { intervalMinutes: 0, days: options.retentionDays ?? cli.retentionDays },
    // Only the purge reads usage (the CLI flushes nothing).
    usage: { flushSeconds: 0, bufferLimit: 1, retentionDays: options.usageRetentionDays ?? cli.usageRetentionDays },
  } satisfies Partial<Config>;
}

/**
 * The CLI's standalone application context (no HTTP server): the same services the API uses, so
 * one service call does a command's work for both.
 */
@Module({})
export class CliModule {
  static forRoot(config: ReturnType<typeof cliModuleConfig>): DynamicModule {
    return {
      module: CliModule,
      imports: [
        // The modules below read only the fields cliModuleConfig fills (see there).
        ConfigModule.forRoot(config as unknown as Config),
        DatabaseModule,
        CliSchedulerModule,
        AuthModule,
        SeatsModule,
        RetentionModule,
        MetabaseModule,
        MetabaseStatusModule,
      ],
      // Not LicenseModule: its LicenseService seeds the license row with SEAT_BUDGET at init, which is
      // the server's first boot to do (the CLI knows no SEAT_BUDGET, and should write nothing but its work).
      providers: [LicenseReconciliation],
    };
  }
}
