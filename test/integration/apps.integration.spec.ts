import { AppsModule } from '../../src/apps/apps.module.js';
import { AppsService } from '../../src/apps/apps.service.js';
import { ApiKeysService } from '../../src/auth/api-keys.service.js';
import type { Principal } from '../../src/auth/principal.js';
import { ApiError } from '../../src/common/api-error.js';
import { TenantsModule } from '../../src/tenants/tenants.module.js';
import { TenantsService } from '../../src/tenants/tenants.service.js';
import { createIntegrationContext, uniqueSlug, type IntegrationContext } from './integration-context.js';

let ctx: IntegrationContext;
let apps: AppsService;
let keys: ApiKeysService;
let tenants: TenantsService;

beforeAll(async () => {
  ctx = await createIntegrationContext([AppsModule, TenantsModule]);
  apps = ctx.app.get(AppsService);
  keys = ctx.app.get(ApiKeysService);
  tenants = ctx.app.get(TenantsService);
});

afterAll(async () => {
  await ctx?.close();
});

/** A tenant made for one test; its id. */
async function tenant(prefix: string): Promise<{ id: string; slug: string }> {
  const slug = uniqueSlug(prefix);
  await tenants.create({ slug, name: slug, kind: 'internal' }, 'key:tester');
  const found = await tenants.findCached(slug, { fresh: true });
  return { id: found!.id, slug };
}

/** The principal of an app's key, as the API key guard resolves it. */
async function principalOf(apiKey: string): Promise<Principal> {
  const principal = await keys.authenticate(apiKey);
  expect(principal).not.toBeNull();
  return principal!;
}

describe('AppsService.create', () => {
  it('creates an app scoped to the tenants named, with its first key and an audit entry', async () => {
    const a = await tenant('scope-a');
    const b = await tenant('scope-b');
    const created = await apps.create({ name: 'host', tenants: [a.slug, b.slug, a.slug] }, 'key:admin');
    expect(created).toMatchObject({ name: 'host', tenants: [a.slug, b.slug] });
    expect(created.id).toMatch(/^app_[0-9a-f]{24}$/);
    const scope = await ctx.db.query<{ tenant_id: string }>('SELECT tenant_id FROM app_tenants WHERE app_id = $1 ORDER BY tenant_id', [created.id]);
    expect(scope.map((row) => row.tenant_id)).toEqual([a.id, b.id].sort());
    expect(await principalOf(created.apiKey)).toEqual({ keyId: created.keyId, role: 'app', name: 'host', appId: created.id, allTenants: false });
    const audit = await ctx.db.query("SELECT actor, data FROM audit_events WHERE type = 'app.created' AND data->>'id' = $1", [created.id]);
    expect(audit).toEqual([{ actor: 'key:admin', data: { id: created.id, name: 'host', tenants: [a.slug, b.slug, a.slug], keyId: created.keyId } }]);
  });

  it('refuses unknown tenants with 400 unknown_tenants and creates nothing (one transaction)', async () => {
    const a = await tenant('known');
    const missing = uniqueSlug('missing');
    const error = await apps.create({ name: 'half', tenants: [a.slug, missing] }, 'key:admin').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ status: 400, code: 'unknown_tenants', message: `no such tenants: ${missing}` });
    expect(await ctx.db.query("SELECT id FROM apps WHERE name = 'half'")).toEqual([]);
    expect(await ctx.db.query("SELECT id FROM api_keys WHERE name = 'half'")).toEqual([]);
  });
});

describe('AppsService.mayActFor (app scope lookups)', () => {
  it('an app acts for the tenants it is scoped to, and no other', async () => {
    const inside = await tenant('inside');
    const outside = await tenant('outside');
    const app = await apps.create({ name: 'scoped', tenants: [inside.slug] }, 'key:admin');
    const principal = await principalOf(app.apiKey);
    expect(await apps.mayActFor(principal, inside.id)).toBe(true);
    expect(await apps.mayActFor(principal, outside.id)).toBe(false);
    // Asked again: the same answers (now from the cache).
    expect(await apps.mayActFor(principal, inside.id)).toBe(true);
    expect(await apps.mayActFor(principal, outside.id)).toBe(false);
  });

  it('an app scoped to "*" acts for every tenant, also one created after it', async () => {
    const app = await apps.create({ name: 'everywhere', tenants: '*' }, 'key:admin');
    expect(await ctx.db.query('SELECT tenant_id FROM app_tenants WHERE app_id = $1', [app.id])).toEqual([]);
    const principal = await principalOf(app.apiKey);
    expect(principal.allTenants).toBe(true);
    const later = await tenant('later');
    expect(await apps.mayActFor(principal, later.id)).toBe(true);
  });

  it('an admin key acts for any tenant here, a finance key for none', async () => {
    const t = await tenant('roles');
    const admin = await principalOf((await keys.issue({ role: 'admin', name: 'admin' }, 'cli')).apiKey);
    const finance = await principalOf((await keys.issue({ role: 'finance', name: 'finance' }, 'cli')).apiKey);
    expect(await apps.mayActFor(admin, t.id)).toBe(true);
    expect(await apps.mayActFor(finance, t.id)).toBe(false);
  });

  it('a scope is per app: another app’s tenants are out of scope', async () => {
    const mine = await tenant('mine');
    const theirs = await tenant('theirs');
    const first = await principalOf((await apps.create({ name: 'first', tenants: [mine.slug] }, 'key:admin')).apiKey);
    const second = await principalOf((await apps.create({ name: 'second', tenants: [theirs.slug] }, 'key:admin')).apiKey);
    expect(await apps.mayActFor(first, theirs.id)).toBe(false);
    expect(await apps.mayActFor(second, mine.id)).toBe(false);
    expect(await apps.mayActFor(second, theirs.id)).toBe(true);
  });
});
