import pg from 'pg';

const ADMIN_DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';

/** Drops this run's databases (its template, and any a test file left behind). */
export default async function globalTeardown() {
  const run = process.env.EMBEDGATE_TEST_RUN;
  if (!run) return;
  const client = new pg.Client({ connectionString: ADMIN_DATABASE_URL });
  await client.connect();
  try {
    const mine = await client.query(`SELECT datname FROM pg_database WHERE datname LIKE $1`, [`embedgate_test_${run}_%`]);
    for (const { datname } of mine.rows) await client.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
  } finally {
    await client.end();
  }
}
