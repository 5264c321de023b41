import pg from 'pg';

const ADMIN_DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';

export default async function globalTeardown() {
  const client = new pg.Client({ connectionString: ADMIN_DATABASE_URL });
  await client.connect();
  try {
    await client.query('DROP DATABASE IF EXISTS embedgate_test_template WITH (FORCE)');
  } finally {
    await client.end();
  }
}
