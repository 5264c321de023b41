// Prisma CLI configuration: WASM schema engine over the pg driver adapter, so that
// `prisma migrate deploy` runs without downloading the Rust engines. Three workarounds below, each
// for a bug of the WASM engine or the adapter that Prisma 6.19 ships with.
import { defineConfig } from 'prisma/config';
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';

// prisma/orm#27403: the WASM schema engine cannot deserialize Postgres' `name` type (oid 19)
// from catalog queries. Report such columns as text (oid 25), which they are byte for byte.
const NAME_OID = 19;
const TEXT_OID = 25;
const originalQuery = pg.Pool.prototype.query as (...args: unknown[]) => Promise<pg.QueryResult>;
pg.Pool.prototype.query = async function patchedQuery(this: pg.Pool, ...args: unknown[]) {
  const result = await originalQuery.apply(this, args);
  for (const field of result?.fields ?? []) {
    if (field.dataTypeID === NAME_OID) field.dataTypeID = TEXT_OID;
  }
  return result;
} as typeof pg.Pool.prototype.query;

// The WASM schema engine leaves a 10 s timer armed after its work is done, so every CLI call would
// sit idle for 10 s before exiting. Long timers must not keep the CLI alive: unref them.
const originalSetTimeout = globalThis.setTimeout;
globalThis.setTimeout = ((callback: (...args: unknown[]) => void, ms?: number, ...args: unknown[]) => {
  const timer = originalSetTimeout(callback, ms, ...args);
  if ((ms ?? 0) >= 5_000) timer.unref();
  return timer;
}) as typeof setTimeout;

export default defineConfig({
  experimental: { adapter: true },
  engine: 'js',
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  adapter: async () => {
    const connectionString = process.env.DATABASE_URL;
    if (!connectionString) throw new Error('DATABASE_URL is not set: the Prisma CLI needs a database to migrate');
    // A short idle timeout lets the CLI exit as soon as it is done (pg keeps idle clients 10 s by default).
    const factory = new PrismaPg({ connectionString, max: 1, idleTimeoutMillis: 200 });
    // @prisma/adapter-pg 6.19 runs a migration script by splitting it on every ";", which breaks
    // semicolons inside comments, quoted strings and dollar-quoted function bodies. Send the script as
    // one simple query instead, as Prisma's native engine does (Postgres runs it statement by statement).
    const connect = factory.connect.bind(factory);
    factory.connect = async () => {
      const adapter = await connect();
      const internals = adapter as unknown as { client: pg.PoolClient; onError(error: unknown): never };
      adapter.executeScript = async (script: string) => {
        try {
          await internals.client.query(script);
        } catch (error) {
          internals.onError(error);
        }
      };
      return adapter;
    };
    return factory;
  },
});
