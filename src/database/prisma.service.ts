import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { CONFIG, type Config } from '../config/config.js';
import { PrismaClient } from '../generated/prisma/client.js';

/** The client gives up on a query this long after Postgres should have cancelled it. */
const QUERY_TIMEOUT_MARGIN_MS = 1_000;

/** The one Prisma client of the process, over the pg driver adapter (no Rust engine). */
@Injectable()
export class PrismaService extends PrismaClient implements OnModuleDestroy {
  /**
   * The CLI passes no timeouts: it connects within 5 s and leaves its statements unbounded (an operator
   * runs it and watches). Migrations run on their own connections (migrations.ts), never under these.
   */
  constructor(
    @Inject(CONFIG)
    config: Pick<Config, 'databaseUrl' | 'databasePoolSize'> & Partial<Pick<Config, 'databaseConnectTimeoutMs' | 'databaseStatementTimeoutMs'>>,
  ) {
    if (!config.databaseUrl) throw new Error('PrismaService needs a database URL');
    const statementTimeoutMs = config.databaseStatementTimeoutMs ?? 0;
    const pool = new pg.Pool({
      connectionString: config.databaseUrl,
      max: config.databasePoolSize,
      connectionTimeoutMillis: config.databaseConnectTimeoutMs ?? 5_000,
      idleTimeoutMillis: 30_000,
      // A server gone without closing the connection (a partition, a host lost) is found by the OS's probes.
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
      ...(statementTimeoutMs > 0 && {
        // Postgres cancels a statement past this (SQLSTATE 57014), rolling back what it did.
        statement_timeout: statementTimeoutMs,
        // The client's own bound, a little later: for when the server cannot even send that cancellation.
        query_timeout: statementTimeoutMs + QUERY_TIMEOUT_MARGIN_MS,
      }),
    });
    // A dropped connection is removed from the pool and reported by the next query; not a crash.
    pool.on('error', () => undefined);
    super({ adapter: new PrismaPg(pool) });
    this.pool = pool;
  }

  /** The connection pool Prisma runs on (also for its metrics). */
  readonly pool: pg.Pool;

  /**
   * One SQL statement straight on the pool, for the embed path's reads and single-statement writes:
   * the bench's profile showed a Prisma query costing several times the CPU of the same query
   * through pg. Everything else goes through Prisma. A `name` makes it a prepared statement, parsed
   * and planned once per connection (planning was most of Postgres's time on the embed path).
   */
  async sql<Row>(text: string, values: unknown[] = [], name?: string): Promise<Row[]> {
    return (await this.pool.query({ text, values, name })).rows as Row[];
  }

  async onModuleDestroy(): Promise<void> {
    await this.$disconnect();
    await this.pool.end().catch(() => undefined);
  }
}

/** The client or an interactive-transaction client: what services pass to each other inside a transaction. */
export type Db = Omit<PrismaClient, '$connect' | '$disconnect' | '$on' | '$transaction' | '$extends'>;
