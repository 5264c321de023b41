import 'reflect-metadata';
import { readFile, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import type { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ApiKeysService } from '../auth/api-keys.service.js';
import { ApiError } from '../common/api-error.js';
import { ConfigError, loadCliConfig, processEnv } from '../config/config.js';
import { applyMigrations } from '../database/migrations.js';
import { LicenseReconciliation } from '../license/license-reconciliation.service.js';
import { MetabaseStatusService, type SyncResult } from '../metabase-status/metabase-status.service.js';
import { sandboxFileSchema } from '../metabase-status/sandbox-file.js';
import { RetentionService } from '../retention/retention.service.js';
import { SeatLedger } from '../seats/seat-ledger.service.js';
import { CliModule, cliModuleConfig, type CommandOptions } from './cli.module.js';

const USAGE = `usage:
  npm run cli -- keys create --role admin|finance --name <name>   create a key; prints it alone on stdout
  npm run cli -- seats reclaim --idle-days <n> [--dry-run]        release seats unused for n days (JSON on stdout)
  npm run cli -- license reconcile                                 compare seats with Metabase's users (JSON on stdout)
  npm run cli -- retention purge [--days <n>] [--usage-days <n>]   the scheduled purge, now: rows past their use,
                                                                   finished outbox jobs after n days (RETENTION_DAYS, 7),
                                                                   usage older than n days (USAGE_RETENTION_DAYS, 400)
                                                                   (JSON on stdout)
  npm run cli -- db migrate                                        apply pending migrations
  npm run cli -- metabase check                                    check Metabase's configuration (JSON on stdout);
                                                                   exit 1 on a blocking finding
  npm run cli -- metabase sync [--dry-run]                         print the sync's plan; without --dry-run, apply it
                                                                   (each step audited)
  npm run cli -- metabase sandboxes propose --out <file>           write the proposed sandboxes (table, field) to edit
  npm run cli -- metabase sandboxes apply --file <file> [--dry-run]  apply the edited sandbox file (audited)
Environment: DATABASE_URL (required); METABASE_API_KEY with METABASE_API_URL or METABASE_SITE_URL
for license reconcile and the metabase commands, which also need METABASE_EMBEDDING_SECRET_KEY,
METABASE_JWT_SHARED_SECRET and the server's GROUPS_*, ROLE_GROUPS and METABASE_TENANTS.`;

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
  const { values } = parseArgs({ args, options: { days: { type: 'string' }, 'usage-days': { type: 'string' } }, strict: true });
  const cli = loadCliConfig(processEnv());
  const days = values.days === undefined ? cli.retentionDays : Number(values.days);
  if (!Number.isInteger(days) || days < 1) throw new UsageError('--days must be a positive whole number');
  const usageDays = values['usage-days'] === undefined ? cli.usageRetentionDays : Number(values['usage-days']);
  if (!Number.isInteger(usageDays) || usageDays < 1) throw new UsageError('--usage-days must be a positive whole number');
  // The same whole purge as the schedule's: every table the purge looks after.
  const purged = await withContext((context) => context.get(RetentionService).purgeAll(), { retentionDays: days, usageRetentionDays: usageDays });
  if (!purged) throw new Error('another instance is purging right now; try again later');
  say(`purged ${Object.values(purged).reduce((sum, n) => sum + n, 0)} rows`);
  print(purged);
}

/** The metabase commands compare and provision: they need the API key and embedgate's secrets. */
function requireMetabaseSide(): void {
  const cli = loadCliConfig(processEnv());
  const missing = [
    ...(cli.metabaseApi ? [] : ['METABASE_API_KEY (with METABASE_API_URL or METABASE_SITE_URL)']),
    ...(cli.metabaseSide.secrets ? [] : ["METABASE_EMBEDDING_SECRET_KEY and METABASE_JWT_SHARED_SECRET (compared with Metabase's)"]),
  ];
  if (missing.length > 0) throw new ConfigError(missing.map((m) => `${m} is required by the metabase commands`));
}

async function metabaseCheck(): Promise<void> {
  requireMetabaseSide();
  const status = await withContext(async (context) => {
    const service = context.get(MetabaseStatusService);
    await service.check();
    return service.status();
  });
  const check = status.lastCheck!;
  say(
    `${check.counts.blocking} blocking, ${check.counts.warning} warnings, ${check.counts.info} info; tenants not proven isolated: ${check.tenants.unproven.join(', ') || 'none'}`,
  );
  for (const f of check.findings) say(`  [${f.severity}] ${f.code} ${f.object}: ${f.message}\n      fix: ${f.fix}`);
  print(status);
  if (check.counts.blocking > 0) process.exitCode = 1;
}

function describeSync(result: SyncResult): void {
  const { plan } = result;
  if (result.dryRun) {
    say(plan.steps.length ? `the sync would make ${plan.steps.length} changes:` : 'the sync has nothing to change');
    for (const step of plan.steps) say(`  ${step.action} ${step.object}`);
  } else {
    say(`applied ${result.applied.length} of ${plan.steps.length} changes`);
    for (const step of result.applied) say(`  ${step.action} ${step.object}: ${step.result}`);
    if (result.failed) say(`  FAILED ${result.failed.action} ${result.failed.object}: ${result.failed.message}`);
  }
  for (const manual of plan.manual) say(`  by hand: ${manual.object}: ${manual.detail}`);
  if (plan.proposedSandboxes.length)
    say(`  ${plan.proposedSandboxes.length} sandboxes proposed: metabase sandboxes propose --out <file>, edit it, then apply it`);
}

async function metabaseSync(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { 'dry-run': { type: 'boolean' } }, strict: true });
  requireMetabaseSide();
  const result = await withContext((context) => context.get(MetabaseStatusService).sync({ dryRun: values['dry-run'] ?? false, actor: 'cli' }));
  describeSync(result);
  print(result);
  if (result.failed) process.exitCode = 1;
}

async function metabaseSandboxes(args: string[]): Promise<void> {
  const [command, ...rest] = args;
  if (command === 'propose') {
    const { values } = parseArgs({ args: rest, options: { out: { type: 'string' } }, strict: true });
    if (!values.out) throw new UsageError('--out <file> is required');
    requireMetabaseSide();
    const proposals = await withContext((context) => context.get(MetabaseStatusService).proposeSandboxes());
    await writeFile(values.out, `${JSON.stringify(proposals, null, 2)}\n`, { flag: 'wx' }).catch((error: NodeJS.ErrnoException) => {
      throw new Error(error.code === 'EEXIST' ? `${values.out} exists: choose another file (it is never overwritten)` : error.message);
    });
    say(`${proposals.length} sandboxes proposed in ${values.out}: check each table's field (null: block the table) and alsoBlock, then apply it`);
    return;
  }
  if (command === 'apply') {
    const { values } = parseArgs({ args: rest, options: { file: { type: 'string' }, 'dry-run': { type: 'boolean' } }, strict: true });
    if (!values.file) throw new UsageError('--file <file> is required');
    const parsed = sandboxFileSchema.safeParse(JSON.parse(await readFile(values.file, 'utf8')));
    if (!parsed.success)
      throw new Error(`${values.file} is not a sandbox file: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    requireMetabaseSide();
    const result = await withContext((context) =>
      context.get(MetabaseStatusService).applySandboxes(parsed.data, { dryRun: values['dry-run'] ?? false, actor: 'cli' }),
    );
    describeSync(result);
    print(result);
    if (result.failed) process.exitCode = 1;
    return;
  }
  throw new UsageError(`unknown command: metabase sandboxes ${command ?? ''}`.trim());
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
    case 'metabase check':
      return metabaseCheck();
    case 'metabase sync':
      return metabaseSync(rest);
    case 'metabase sandboxes':
      return metabaseSandboxes(rest);
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
