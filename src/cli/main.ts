import 'reflect-metadata';
import { parseArgs } from 'node:util';
import type { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ApiKeysService } from '../auth/api-keys.service.js';
import { ApiError } from '../common/api-error.js';
import { ConfigError, loadCliConfig, processEnv } from '../config/config.js';
import { applyMigrations } from '../database/migrations.js';
import { LicenseReconciliation } from '../license/license-reconciliation.service.js';
import { RetentionService } from '../retention/retention.service.js';
import { SeatLedger } from '../seats/seat-ledger.service.js';
import { CliModule, cliModuleConfig, type CommandOptions } from './cli.module.js';

const USAGE = `usage:
  npm run cli -- keys create --role admin|finance --name <name>   create a key; prints it alone on stdout
  npm run cli -- seats reclaim --idle-days <n> [--dry-run]        release seats unused for n days (JSON on stdout)
  npm run cli -- license reconcile                                 compare seats with Metabase's users (JSON on stdout)
  npm run cli -- retention purge [--days <n>]                      delete rows past their use; finished outbox jobs
                                                                   after n days (RETENTION_DAYS, 7) (JSON on stdout)
  npm run cli -- db migrate                                        apply pending migrations
Environment: DATABASE_URL (required); METABASE_API_KEY with METABASE_API_URL or METABASE_SITE_URL
for license reconcile.`;

/** Messages go to stderr; stdout carries only the command's result, so scripts can capture it. */
const say = (message: string) => process.stderr.write(`${message}\n`);
const print = (value: unknown) => process.stdout.write(`${typeof value === 'string' ? value : JSON.stringify(value, null, 2)}\n`);

class UsageError extends Error {}

/**
 * Runs a command's work in Nest's standalone application context (the API's services, no HTTP server,
 * no background workers), then closes it: that ends the pool too, whose idle connections would keep
 * the process alive for their 30 s idle timeout. Nest's own log is off: stdout is the result's.
 */
async function withContext<T>(work: (context: INestApplicationContext) => Promise<T>, options: CommandOptions = {}): Promise<T> {
  const config = cliModuleConfig(loadCliConfig(processEnv()), options);
  // abortOnError false: a failure to start is thrown (and reported below), not a silent exit.
  const context = await NestFactory.createApplicationContext(CliModule.forRoot(config), { logger: false, abortOnError: false });
  try {
    return await work(context);
  } finally {
    await context.close();
  }
}

async function keysCreate(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { role: { type: 'string' }, name: { type: 'string' } }, strict: true });
  if (values.role !== 'admin' && values.role !== 'finance') throw new UsageError('--role must be admin or finance');
  const role = values.role;
  const name = values.name?.trim();
  if (!name) throw new UsageError('--name is required');
  const key = await withContext((context) => context.get(ApiKeysService).issue({ role, name }, 'cli'));
  say(`created ${role} key ${key.id} ('${name}'); it is shown once:`);
  print(key.apiKey);
}

async function seatsReclaim(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { 'idle-days': { type: 'string' }, 'dry-run': { type: 'boolean' } }, strict: true });
  const idleDays = Number(values['idle-days']);
  if (!values['idle-days'] || !Number.isInteger(idleDays) || idleDays < 1) throw new UsageError('--idle-days must be a positive whole number');
  const result = await withContext((context) => context.get(SeatLedger).reclaim(idleDays, values['dry-run'] ?? false, 'cli'));
  say(`${result.dryRun ? 'would release' : 'released'} ${result.count} seats unused since ${result.cutoff}`);
  print(result);
}

async function licenseReconcile(): Promise<void> {
  const report = await withContext((context) => context.get(LicenseReconciliation).reconcile());
  say(`${report.billedWithoutSeat.length} Metabase users billed without a seat; ${report.seatsWithoutActiveUser.length} seats without an active Metabase user`);
  print(report);
}

async function retentionPurge(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { days: { type: 'string' } }, strict: true });
  const days = values.days === undefined ? loadCliConfig(processEnv()).retentionDays : Number(values.days);
  if (!Number.isInteger(days) || days < 1) throw new UsageError('--days must be a positive whole number');
  const purged = await withContext((context) => context.get(RetentionService).purge(), { retentionDays: days });
  if (!purged) throw new Error('another instance is purging right now; try again later');
  say(`purged ${Object.values(purged).reduce((sum, n) => sum + n, 0)} rows`);
  print(purged);
}

async function main(argv: string[]): Promise<void> {
  const [group, command, ...rest] = argv;
  const name = [group, command].filter(Boolean).join(' ');
  switch (name) {
    case 'keys create':
      return keysCreate(rest);
    case 'seats reclaim':
      return seatsReclaim(rest);
    case 'license reconcile':
      return licenseReconcile();
    case 'retention purge':
      return retentionPurge(rest);
    case 'db migrate':
      say((await applyMigrations(loadCliConfig(processEnv()).databaseUrl, { serialize: true })).trim());
      return;
    default:
      throw new UsageError(group ? `unknown command: ${name}` : 'no command given');
  }
}

main(process.argv.slice(2)).catch((error: unknown) => {
  if (error instanceof UsageError || (error as { code?: string })?.code?.startsWith('ERR_PARSE_ARGS')) {
    say(`${(error as Error).message}\n${USAGE}`);
    process.exit(2);
  }
  if (error instanceof ConfigError || error instanceof ApiError) say(error.message);
  else say(`failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
