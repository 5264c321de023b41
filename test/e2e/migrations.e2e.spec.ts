import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { applyMigrations, runPrismaCli } from '../../src/database/migrations.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { ROOT } from '../support/process.js';

/** Objects the migrations add by hand because Prisma does not model them (see their migration.sql). */
const HAND_WRITTEN = [
  /CREATE FUNCTION public\.seat_events_append_only\(\)[\s\S]*?\$\$;\n/,
  /CREATE TRIGGER seat_events_no_update_or_delete [^\n]*\n/,
  /CREATE TRIGGER seat_events_no_truncate [^\n]*\n/,
  /CREATE FUNCTION public\.cache_epoch_bump\(\)[\s\S]*?\$\$;\n/,
  /CREATE FUNCTION public\.seat_ledger_acquire\([\s\S]*?\$\$;\n/,
  /CREATE TRIGGER tenants_cache_epoch [^\n]*\n/,
  /CREATE TRIGGER resources_cache_epoch [^\n]*\n/,
  /CREATE TRIGGER apps_cache_epoch [^\n]*\n/,
  /CREATE TRIGGER app_tenants_cache_epoch [^\n]*\n/,
  /CREATE TRIGGER api_keys_cache_epoch [^\n]*\n/,
  /CREATE TRIGGER app_oidc_providers_cache_epoch [^\n]*\n/,
  /CREATE FUNCTION public\.viewer_sessions_end_on_suspension\(\)[\s\S]*?\$\$;\n/,
  /CREATE FUNCTION public\.viewer_sessions_end_on_seat_release\(\)[\s\S]*?\$\$;\n/,
  /CREATE TRIGGER tenants_end_viewer_sessions [^\n]*\n/,
  /CREATE TRIGGER seat_events_end_viewer_sessions [^\n]*\n/,
  /CREATE FUNCTION public\.viewer_sessions_end_on_key_revocation\(\)[\s\S]*?\$\$;\n/,
  /CREATE TRIGGER api_keys_end_viewer_sessions [^\n]*\n/,
  /CREATE FUNCTION public\.webhook_enqueue\([\s\S]*?\$\$;\n/,
  /CREATE FUNCTION public\.webhook_threshold_crossed\([\s\S]*?\$\$;\n/,
  /CREATE FUNCTION public\.webhook_enqueue_thresholds\([\s\S]*?\$\$;\n/,
  /CREATE FUNCTION public\.webhook_events_on_seat_event\(\)[\s\S]*?\$\$;\n/,
  /CREATE FUNCTION public\.webhook_events_on_tier_change\(\)[\s\S]*?\$\$;\n/,
  /CREATE FUNCTION public\.webhook_events_on_budget_change\(\)[\s\S]*?\$\$;\n/,
  /CREATE FUNCTION public\.webhook_events_on_seat_cap_change\(\)[\s\S]*?\$\$;\n/,
  /CREATE TRIGGER seat_events_webhooks [^\n]*\n/,
  /CREATE TRIGGER audit_events_webhook_tier_changed [^\n]*\n/,
  /CREATE TRIGGER license_webhook_thresholds [^\n]*\n/,
  /CREATE TRIGGER tenants_webhook_thresholds [^\n]*\n/,
];

/** The schema as pg_dump sees it, without Prisma's own bookkeeping table. */
function schemaOf(db: TestDatabase, options: { withoutHandWritten?: boolean } = {}): string {
  let dump = execFileSync('pg_dump', ['--schema-only', '--no-owner', '--no-privileges', '--exclude-table=_prisma_migrations', db.url], {
    encoding: 'utf8',
  });
  if (options.withoutHandWritten) {
    for (const pattern of HAND_WRITTEN) {
      expect(dump).toMatch(pattern);
      dump = dump.replace(pattern, '');
    }
  }
  const lines = dump
    .split('\n')
    .filter((line) => !line.startsWith('--') && !line.startsWith('\\restrict') && !line.startsWith('\\unrestrict') && line.trim() !== '');
  // A column added by a later migration comes last in its table; order does not matter: sort them.
  const out: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    out.push(lines[i]);
    if (!lines[i].startsWith('CREATE TABLE')) continue;
    const columns: string[] = [];
    while (!lines[i + 1].startsWith(');')) columns.push(lines[++i].trim().replace(/,$/, ''));
    out.push(...columns.sort());
  }
  return out.join('\n');
}

describe('migrations', () => {
  const databases: TestDatabase[] = [];
  afterAll(async () => {
    for (const db of databases) await db.drop();
  });
  const emptyDatabase = async () => {
    const db = await createTestDatabase({ empty: true });
    databases.push(db);
    return db;
  };

  it('applying every migration to an empty database gives exactly the schema in schema.prisma (no drift)', async () => {
    const migrated = await emptyDatabase();
    await applyMigrations(migrated.url, { serialize: true });
    const fromSchema = await emptyDatabase();
    const sql = await runPrismaCli(
      ['migrate', 'diff', '--from-empty', '--to-schema-datamodel', join(ROOT, 'prisma', 'schema.prisma'), '--script'],
      fromSchema.url,
    );
    const script = sql.slice(sql.indexOf('-- Create'));
    expect(script.length).toBeGreaterThan(100);
    execFileSync('psql', ['-v', 'ON_ERROR_STOP=1', '-q', fromSchema.url], { input: script });
    expect(schemaOf(migrated, { withoutHandWritten: true })).toEqual(schemaOf(fromSchema));
  });

  it('makes seat history append-only: no UPDATE, DELETE or TRUNCATE of seat_events', async () => {
    const db = await emptyDatabase();
    await applyMigrations(db.url, { serialize: true });
    await db.query(`INSERT INTO seat_events (seat_id, tenant_id, user_id, kind, reason, actor, seats_held_after, tenant_held_after, seat_budget)
                    VALUES (gen_random_uuid(), gen_random_uuid(), 'u', 'allocated', 'first-embed', 'test', 1, 1, 1)`);
    await expect(db.query(`UPDATE seat_events SET reason = 'forged'`)).rejects.toThrow(/append-only/);
    await expect(db.query(`DELETE FROM seat_events`)).rejects.toThrow(/append-only/);
    await expect(db.query(`TRUNCATE seat_events`)).rejects.toThrow(/append-only/);
    expect(await db.query('SELECT reason FROM seat_events')).toEqual([{ reason: 'first-embed' }]);
  });

  it('the live seat_ledger_acquire is its canonical file, prisma/sql/seat_ledger_acquire.sql, which the newest migration that defines it applies verbatim', async () => {
    const canonical = readFileSync(join(ROOT, 'prisma', 'sql', 'seat_ledger_acquire.sql'), 'utf8');
    const migrations = readdirSync(join(ROOT, 'prisma', 'migrations'))
      .filter((name) => /^\d+_/.test(name))
      .sort()
      .map((name) => readFileSync(join(ROOT, 'prisma', 'migrations', name, 'migration.sql'), 'utf8'))
      .filter((sql) => /CREATE (OR REPLACE )?FUNCTION "seat_ledger_acquire"/.test(sql));
    expect(migrations.at(-1)).toContain(canonical);
    const db = await emptyDatabase();
    await applyMigrations(db.url, { serialize: true });
    const [live] = await db.query<{ body: string; args: string }>(
      `SELECT prosrc AS body, pg_get_function_arguments(oid) AS args FROM pg_proc WHERE proname = 'seat_ledger_acquire'`,
    );
    const body = /AS \$\$([\s\S]*)\$\$;/.exec(canonical)![1];
    expect(live.body).toBe(body);
    expect(live.args.replace(/\s+/g, ' ')).toBe(/"seat_ledger_acquire"\(([\s\S]*?)\)\nLANGUAGE/.exec(canonical)![1].replace(/\s+/g, ' ').trim());
    expect((await db.query(`SELECT count(*)::int AS n FROM pg_proc WHERE proname = 'seat_ledger_acquire'`))[0]).toEqual({ n: 1 });
  });

  it('is safe when several instances start at once: each applies or waits, none fails, each migration once', async () => {
    const db = await emptyDatabase();
    await Promise.all([1, 2, 3].map(() => applyMigrations(db.url, { serialize: true })));
    const applied = await db.query<{ migration_name: string; n: number }>(
      'SELECT migration_name, count(*)::int AS n FROM _prisma_migrations WHERE finished_at IS NOT NULL GROUP BY 1',
    );
    const onDisk = readFileSync(join(ROOT, 'prisma', 'migrations', 'migration_lock.toml'), 'utf8');
    expect(onDisk).toContain('postgresql');
    expect(applied.length).toBeGreaterThan(0);
    expect(applied.every((m) => m.n === 1)).toBe(true);
  });
});
