// Builds the migrated template database that every test file copies. Plain JS (Jest loads global
// setup outside its transform): it uses the built dist/, which `npm test` builds first.
//
// Every run names its databases after itself (embedgate_test_<run>_…, the run being the start time
// in seconds and the pid), so two runs on one server never drop each other's databases; what a run
// left behind (killed before its teardown) is dropped by a later run once it is 6 hours old.
import { applyMigrations } from '../../dist/database/migrations.js';
import pg from 'pg';

const ADMIN_DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
const STALE_AFTER_SECONDS = 6 * 3600;

export default async function globalSetup() {
  // Workers are started after this and inherit the environment: test/support/database.ts reads it.
  const run = `${Math.floor(Date.now() / 1000)}_${process.pid}`;
  process.env.EMBEDGATE_TEST_RUN = run;
  const template = `embedgate_test_${run}_template`;
  const client = new pg.Client({ connectionString: ADMIN_DATABASE_URL });
  await client.connect();
  try {
    const existing = await client.query(`SELECT datname FROM pg_database WHERE datname LIKE 'embedgate_test_%'`);
    const now = Date.now() / 1000;
    for (const { datname } of existing.rows) {
      const started = Number(/^embedgate_test_(\d+)_/.exec(datname)?.[1] ?? 0);
      if (now - started > STALE_AFTER_SECONDS) await client.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
    }
    await client.query(`CREATE DATABASE "${template}"`);
  } finally {
    await client.end();
  }
  const url = new URL(ADMIN_DATABASE_URL);
  url.pathname = `/${template}`;
  await applyMigrations(url.toString(), { serialize: true });
}
