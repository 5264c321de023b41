import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { processEnv } from '../config/config.js';
import { ADVISORY_LOCK_KEYS } from './advisory-locks.js';

/** The project root: this file is src/database/ or dist/database/. */
export const PROJECT_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * The migrations this build ships (prisma/migrations/<name>/migration.sql), by name, oldest first:
 * the schema this code needs. Readiness waits until each is applied (src/health).
 */
export function shippedMigrations(root = PROJECT_ROOT): string[] {
  const dir = join(root, 'prisma', 'migrations');
  return readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(join(dir, entry.name, 'migration.sql')))
    .map((entry) => entry.name)
    .sort();
}

/** Runs the Prisma CLI with its WASM engines (no engine download: see prisma.config.ts). */
export async function runPrismaCli(args: string[], databaseUrl: string, stdio: 'inherit' | 'pipe' = 'pipe'): Promise<string> {
  const require = createRequire(import.meta.url);
  const cli = require.resolve('prisma/build/index.js');
  const env = {
    ...processEnv(),
    DATABASE_URL: databaseUrl,
    PRISMA_SCHEMA_ENGINE_BINARY: '/dev/null',
    PRISMA_QUERY_ENGINE_LIBRARY: '/dev/null',
    PRISMA_HIDE_UPDATE_MESSAGE: '1',
    CHECKPOINT_DISABLE: '1',
  };
  const child = spawn(process.execPath, [cli, ...args, '--config', join(PROJECT_ROOT, 'prisma.config.ts')], {
    cwd: PROJECT_ROOT,
    env,
    stdio: stdio === 'inherit' ? ['ignore', 'inherit', 'inherit'] : ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk) => (output += chunk));
  child.stderr?.on('data', (chunk) => (output += chunk));
  const code: number = await new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (exitCode) => resolve(exitCode ?? 1));
  });
  if (code !== 0) throw new Error(`prisma ${args.join(' ')} failed (exit ${code}):\n${output.trim()}`);
  return output;
}

/**
 * Applies pending migrations (`prisma migrate deploy`). With `serialize`, a Postgres advisory lock
 * makes instances that start together take turns; the later ones find nothing left to apply.
 */
export async function applyMigrations(databaseUrl: string, options: { serialize: boolean }): Promise<string> {
  if (!options.serialize) return runPrismaCli(['migrate', 'deploy'], databaseUrl);
  const lock = new pg.Client({ connectionString: databaseUrl });
  await lock.connect();
  try {
    await lock.query('SELECT pg_advisory_lock($1)', [ADVISORY_LOCK_KEYS.migrations]);
    return await runPrismaCli(['migrate', 'deploy'], databaseUrl);
  } finally {
    await lock.query('SELECT pg_advisory_unlock($1)', [ADVISORY_LOCK_KEYS.migrations]).catch(() => undefined);
    await lock.end().catch(() => undefined);
  }
}
