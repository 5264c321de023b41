// Builds the migrated template database that every test file copies. Plain JS (Jest loads global
// setup outside its transform): it uses the built dist/, which `npm test` builds first.
import { applyMigrations } from '../../dist/database/migrations.js';
import pg from 'pg';

const ADMIN_DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
const TEMPLATE_DATABASE = 'embedgate_test_template';

export default async function globalSetup() {
  const client = new pg.Client({ connectionString: ADMIN_DATABASE_URL });
  await client.connect();
  try {
    const stale = await client.query(`SELECT datname FROM pg_database WHERE datname LIKE 'embedgate_test_%'`);
    for (const row of stale.rows) await client.query(`DROP DATABASE IF EXISTS ${row.datname} WITH (FORCE)`);
    await client.query(`CREATE DATABASE ${TEMPLATE_DATABASE}`);
  } finally {
    await client.end();
  }
  const url = new URL(ADMIN_DATABASE_URL);
  url.pathname = `/${TEMPLATE_DATABASE}`;
  await applyMigrations(url.toString(), { serialize: true });
}
