import 'reflect-metadata';
import { parseArgs } from 'node:util';
import { AuditService } from '../audit/audit.service.js';
import { ApiKeysService } from '../auth/api-keys.service.js';
import { ConfigError, loadDatabaseUrl, processEnv } from '../config/config.js';
import { applyMigrations } from '../database/migrations.js';
import { PrismaService } from '../database/prisma.service.js';

const USAGE = `usage:
  npm run cli -- keys create --role admin|finance --name <name>   create a key; prints it alone on stdout
  npm run cli -- db migrate                                        apply pending migrations
Environment: DATABASE_URL (required).`;

/** Messages go to stderr; stdout carries only the command's result, so scripts can capture it. */
const say = (message: string) => process.stderr.write(`${message}\n`);

async function keysCreate(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { role: { type: 'string' }, name: { type: 'string' } }, strict: true });
  if (values.role !== 'admin' && values.role !== 'finance') throw new UsageError('--role must be admin or finance');
  const name = values.name?.trim();
  if (!name) throw new UsageError('--name is required');
  const prisma = new PrismaService({ databaseUrl: loadDatabaseUrl(processEnv()), databasePoolSize: 1 });
  try {
    const keys = new ApiKeysService(prisma);
    const audit = new AuditService(prisma);
    const key = await prisma.$transaction(async (tx) => {
      const created = await keys.create(tx, { role: values.role as 'admin' | 'finance', name });
      await audit.record(tx, { type: 'key.created', actor: 'cli', data: { id: created.id, role: values.role, name } });
      return created;
    });
    say(`created ${values.role} key ${key.id} ('${name}'); it is shown once:`);
    process.stdout.write(`${key.apiKey}\n`);
  } finally {
    await prisma.$disconnect();
  }
}

class UsageError extends Error {}

async function main(argv: string[]): Promise<void> {
  const [group, command, ...rest] = argv;
  if (group === 'keys' && command === 'create') return keysCreate(rest);
  if (group === 'db' && command === 'migrate') {
    const output = await applyMigrations(loadDatabaseUrl(processEnv()), { serialize: true });
    say(output.trim());
    return;
  }
  throw new UsageError(group ? `unknown command: ${[group, command].filter(Boolean).join(' ')}` : 'no command given');
}

main(process.argv.slice(2)).catch((error: unknown) => {
  if (error instanceof UsageError || (error as { code?: string })?.code?.startsWith('ERR_PARSE_ARGS')) {
    say(`${(error as Error).message}\n${USAGE}`);
    process.exit(2);
  }
  say(error instanceof ConfigError ? error.message : `failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
