import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** The server the tests run on: a real Postgres (the machine's own, or TEST_DATABASE_URL). */
export const ADMIN_DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
/** This run's name (global-setup sets it): every database of the run is named after it. */
const TEST_RUN = process.env.EMBEDGATE_TEST_RUN ?? 'norun';
/** Migrated once per run by global-setup; each test file copies it. */
export const TEMPLATE_DATABASE = `embedgate_test_${TEST_RUN}_template`;

export function databaseUrl(name: string): string {
  const url = new URL(ADMIN_DATABASE_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

export async function withAdminClient<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: ADMIN_DATABASE_URL });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

export interface TestDatabase {
  name: string;
  url: string;
  /** A direct connection for assertions on what is stored. */
  query<R extends pg.QueryResultRow = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<R[]>;
  drop(): Promise<void>;
}

/** A fresh, migrated database for one test file (a copy of the migrated template). */
export async function createTestDatabase(options: { empty?: boolean } = {}): Promise<TestDatabase> {
  const name = `embedgate_test_${TEST_RUN}_${randomBytes(6).toString('hex')}`;
  await withAdminClient((c) => c.query(options.empty ? `CREATE DATABASE ${name}` : `CREATE DATABASE ${name} TEMPLATE ${TEMPLATE_DATABASE}`));
  const url = databaseUrl(name);
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  // The fault tests kill connections on purpose (pg_terminate_backend): an idle client of this
  // assertion pool may be one of them. The pool drops it and opens another; nothing to report.
  pool.on('error', () => undefined);
  return {
    name,
    url,
    async query(sql, params) {
      return (await pool.query(sql, params as unknown[])).rows;
    },
    async drop() {
      await pool.end();
      await withAdminClient((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    },
  };
}
