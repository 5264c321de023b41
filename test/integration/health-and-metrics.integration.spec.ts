import { Caches } from '../../src/cache/caches.service.js';
import { CacheModule } from '../../src/cache/cache.module.js';
import { HealthModule } from '../../src/health/health.module.js';
import { HealthRepository } from '../../src/health/health.repository.js';
import { HealthService } from '../../src/health/health.service.js';
import { shippedMigrations } from '../../src/database/migrations.js';
import { LicenseModule } from '../../src/license/license.module.js';
import { MetricsModule } from '../../src/metrics/metrics.module.js';
import { MetricsService } from '../../src/metrics/metrics.service.js';
import { createTestDatabase } from '../support/database.js';
import { createIntegrationContext, uniqueSlug, type IntegrationContext } from './integration-context.js';

let ctx: IntegrationContext;

beforeAll(async () => {
  ctx = await createIntegrationContext([HealthModule, MetricsModule, CacheModule, LicenseModule], { CACHE_TTL_MS: '10000' });
});

afterAll(async () => {
  await ctx?.close();
});

describe('readiness', () => {
  it('is ready: the database answers and has every migration this build ships', async () => {
    expect(await ctx.app.get(HealthService).readiness()).toEqual({ status: 'ok', database: 'ok', migrations: 'ok' });
  });

  it('is not ready while a migration this build ships is not applied (a migration Job still running), then is', async () => {
    const [newest] = shippedMigrations().slice(-1);
    const fresh = () => new HealthService(ctx.app.get(HealthRepository));
    await ctx.db.query('UPDATE _prisma_migrations SET finished_at = NULL WHERE migration_name = $1', [newest]);
    try {
      expect(await fresh().readiness()).toEqual({ status: 'unavailable', database: 'ok', migrations: 'pending', pending: 1 });
      await ctx.db.query('UPDATE _prisma_migrations SET finished_at = NULL, rolled_back_at = now() WHERE migration_name = $1', [newest]);
      expect(await fresh().readiness()).toMatchObject({ migrations: 'pending', pending: 1 });
    } finally {
      await ctx.db.query('UPDATE _prisma_migrations SET finished_at = now(), rolled_back_at = NULL WHERE migration_name = $1', [newest]);
    }
    expect(await fresh().readiness()).toEqual({ status: 'ok', database: 'ok', migrations: 'ok' });
  });

  it('says so when it cannot read which are applied (a role without SELECT on _prisma_migrations), not "unreachable"', async () => {
    const repository = ctx.app.get(HealthRepository);
    const refusing = Object.assign(Object.create(repository) as HealthRepository, {
      unappliedMigrations: async () => {
        throw new Error('permission denied for table _prisma_migrations');
      },
    });
    expect(await new HealthService(refusing).readiness()).toEqual({ status: 'unavailable', database: 'ok', migrations: 'unknown' });
  });

  it('a database never migrated has none of them', async () => {
    const empty = await createTestDatabase({ empty: true });
    const other = await createIntegrationContext([HealthModule], {}, empty);
    try {
      expect(await other.app.get(HealthService).readiness()).toEqual({
        status: 'unavailable',
        database: 'ok',
        migrations: 'pending',
        pending: shippedMigrations().length,
      });
    } finally {
      await other.close();
      await empty.drop();
    }
  });
});

describe('the cache epoch', () => {
  it('is read from cache_epoch, and a write to a cached table moves it', async () => {
    const caches = ctx.app.get(Caches);
    await caches.refresh();
    const [{ epoch }] = await ctx.db.query<{ epoch: string }>('SELECT epoch::text FROM cache_epoch WHERE id = 1');
    expect(caches.current()).toBe(epoch);
    await ctx.db.query("INSERT INTO tenants (slug, name, kind, tier) VALUES ($1, 'Epoch', 'internal', 'drill')", [uniqueSlug('epoch')]);
    await caches.refresh();
    expect(caches.current()).toBe(String(BigInt(epoch) + 1n));
  });
});

describe('the cache epoch, for every cached table', () => {
  it.each<string>(['tenants', 'resources', 'apps', 'app_tenants', 'api_keys', 'app_oidc_providers'])('a write to %s moves it', async (table) => {
    const [{ epoch }] = await ctx.db.query<{ epoch: string }>('SELECT epoch::text FROM cache_epoch WHERE id = 1');
    // An UPDATE that changes no row still fires the statement-level trigger: the table's trigger alone is tested.
    await ctx.db.query(
      `UPDATE ${table} SET ${{ tenants: 'slug = slug', app_tenants: 'app_id = app_id', app_oidc_providers: 'issuer = issuer' }[table] ?? 'id = id'} WHERE false`,
    );
    const [{ epoch: after }] = await ctx.db.query<{ epoch: string }>('SELECT epoch::text FROM cache_epoch WHERE id = 1');
    expect(BigInt(after)).toBe(BigInt(epoch) + 1n);
  });
});

describe('the gauges', () => {
  it('report seats held and caps by tenant, the license, and the connection pool', async () => {
    const slug = uniqueSlug('gauge');
    await ctx.db.query("INSERT INTO tenants (slug, name, kind, tier, seat_cap, seats_held) VALUES ($1, 'Gauged', 'internal', 'drill', 4, 2)", [slug]);
    const text = await ctx.app.get(MetricsService).registry.metrics();
    expect(text).toContain(`embedgate_seats_held{tenant="${slug}"} 2`);
    expect(text).toContain(`embedgate_seat_cap{tenant="${slug}"} 4`);
    expect(text).toContain('embedgate_license_seats{kind="budget"} 10');
    expect(text).toContain('embedgate_license_seats{kind="held"} 0');
    expect(text).toMatch(/embedgate_db_pool_connections\{state="total"\} [1-4]\n/);
    expect(text).toMatch(/embedgate_db_pool_connections\{state="waiting"\} 0\n/);
  });
});
