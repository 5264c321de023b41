import { ApiError } from '../../src/common/api-error.js';
import { LicenseModule } from '../../src/license/license.module.js';
import { TenantsModule } from '../../src/tenants/tenants.module.js';
import { TenantsService } from '../../src/tenants/tenants.service.js';
import { createIntegrationContext, uniqueSlug, type IntegrationContext } from './integration-context.js';

let ctx: IntegrationContext;
let tenants: TenantsService;

beforeAll(async () => {
  ctx = await createIntegrationContext([TenantsModule, LicenseModule]);
  tenants = ctx.app.get(TenantsService);
});

afterAll(async () => {
  await ctx?.close();
});

type AuditRow = { type: string; actor: string; tenant_slug: string | null; data: Record<string, unknown> };
const auditOf = (slug: string) => ctx.db.query<AuditRow>('SELECT type, actor, tenant_slug, data FROM audit_events WHERE tenant_slug = $1 ORDER BY id', [slug]);

/** Takes seats for users of a tenant through the ledger's own SQL function (the fixture, not the subject). */
async function takeSeats(tenantId: string, slug: string, users: string[]): Promise<void> {
  for (const user of users) {
    const [row] = await ctx.db.query<{ outcome: string }>("SELECT outcome FROM seat_ledger_acquire($1::uuid, $2, $3, $4, 'test-fixture', false, 0)", [
      tenantId,
      slug,
      user,
      `${user}@${slug}.example`,
    ]);
    expect(row.outcome).toBe('allocated');
  }
}

async function expectApiError(promise: Promise<unknown>, status: number, code: string): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ApiError);
  expect(error).toMatchObject({ status, code });
}

describe('TenantsService.create', () => {
  it('stores an external tenant with the defaults (view tier, guest when seats run out) and audits it in the same transaction', async () => {
    const slug = uniqueSlug('ext');
    const view = await tenants.create({ slug, name: 'Ext Corp', kind: 'external', customerId: 'cust-1', attributes: { region: 'eu', level: 3 } }, 'key:tester');
    expect(view).toMatchObject({
      slug,
      name: 'Ext Corp',
      kind: 'external',
      tier: 'view',
      customerId: 'cust-1',
      seatCap: null,
      onSeatsExhausted: 'guest',
      attributes: { region: 'eu', level: 3 },
      groups: null,
      status: 'active',
      ssoEmailAlias: null,
      seatsHeld: 0,
    });
    expect(new Date(view.createdAt).toISOString()).toBe(view.createdAt);
    const [row] = await ctx.db.query('SELECT kind::text, tier::text, customer_id, attributes, groups FROM tenants WHERE slug = $1', [slug]);
    expect(row).toEqual({ kind: 'external', tier: 'view', customer_id: 'cust-1', attributes: { region: 'eu', level: 3 }, groups: null });
    expect(await auditOf(slug)).toEqual([
      {
        type: 'tenant.created',
        actor: 'key:tester',
        tenant_slug: slug,
        data: { slug, name: 'Ext Corp', kind: 'external', customerId: 'cust-1', attributes: { region: 'eu', level: 3 } },
      },
    ]);
  });

  it('gives an internal tenant the drill tier by default, and keeps its groups', async () => {
    const slug = uniqueSlug('int');
    const view = await tenants.create({ slug, name: 'Finance dept', kind: 'internal', groups: ['Finance'] }, 'key:tester');
    expect(view).toMatchObject({ tier: 'drill', customerId: null, groups: ['Finance'] });
  });

  it('refuses a taken slug with 409 tenant_exists, and audits nothing for it', async () => {
    const slug = uniqueSlug('dup');
    await tenants.create({ slug, name: 'First', kind: 'internal' }, 'key:tester');
    await expectApiError(tenants.create({ slug, name: 'Second', kind: 'internal' }, 'key:tester'), 409, 'tenant_exists');
    expect((await tenants.get(slug)).name).toBe('First');
    expect((await auditOf(slug)).map((entry) => entry.type)).toEqual(['tenant.created']);
  });
});

describe('TenantsService.get, list and search', () => {
  it('gets a tenant by slug, and 404 tenant_not_found for none', async () => {
    const slug = uniqueSlug('get');
    await tenants.create({ slug, name: 'Gettable', kind: 'internal' }, 'key:tester');
    expect((await tenants.get(slug)).name).toBe('Gettable');
    await expectApiError(tenants.get(uniqueSlug('missing')), 404, 'tenant_not_found');
  });

  it('lists in slug order, a page at a time', async () => {
    const prefix = uniqueSlug('page');
    for (const n of [3, 1, 2]) await tenants.create({ slug: `${prefix}-${n}`, name: `Page ${n}`, kind: 'internal' }, 'key:tester');
    const all: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await tenants.list(2, cursor);
      expect(page.items.length).toBeLessThanOrEqual(2);
      all.push(...page.items.map((item) => item.slug));
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    expect(all).toEqual([...all].sort());
    expect(all.filter((slug) => slug.startsWith(prefix))).toEqual([`${prefix}-1`, `${prefix}-2`, `${prefix}-3`]);
  });

  it('searches slug (lowercased) or name (any case), filtered by kind and tier', async () => {
    const marker = uniqueSlug('srch');
    await tenants.create({ slug: `${marker}-a`, name: 'Alpha Widgets', kind: 'external', customerId: 'a', tier: 'drill' }, 'key:tester');
    await tenants.create({ slug: `${marker}-b`, name: 'Beta', kind: 'internal' }, 'key:tester');
    expect((await tenants.search({ q: marker.toUpperCase() })).map((t) => t.slug)).toEqual([`${marker}-a`, `${marker}-b`]);
    expect((await tenants.search({ q: marker, kind: 'external' })).map((t) => t.slug)).toEqual([`${marker}-a`]);
    expect((await tenants.search({ q: marker, tier: 'drill', kind: 'internal' })).map((t) => t.slug)).toEqual([`${marker}-b`]);
    expect((await tenants.search({ q: 'alpha widg' })).map((t) => t.slug)).toContain(`${marker}-a`);
  });
});

describe('TenantsService.update', () => {
  it('changes only the fields sent, resets groups with null, and audits the patch', async () => {
    const slug = uniqueSlug('upd');
    await tenants.create({ slug, name: 'Before', kind: 'internal', groups: ['A'], seatCap: 5 }, 'key:tester');
    const view = await tenants.update(slug, { name: 'After', groups: null, onSeatsExhausted: 'deny' }, 'key:editor');
    expect(view).toMatchObject({ name: 'After', groups: null, onSeatsExhausted: 'deny', seatCap: 5, status: 'active' });
    const [row] = await ctx.db.query<{ groups: unknown }>('SELECT groups FROM tenants WHERE slug = $1', [slug]);
    expect(row.groups).toBeNull();
    expect((await auditOf(slug)).at(-1)).toEqual({
      type: 'tenant.updated',
      actor: 'key:editor',
      tenant_slug: slug,
      data: { name: 'After', groups: null, onSeatsExhausted: 'deny', releasedSeats: 0 },
    });
  });

  it('suspending releases every seat of the tenant in the same transaction', async () => {
    const slug = uniqueSlug('susp');
    await tenants.create({ slug, name: 'Suspendable', kind: 'internal' }, 'key:tester');
    const tenant = await tenants.findCached(slug, { fresh: true });
    await takeSeats(tenant!.id, slug, ['u1', 'u2']);
    const view = await tenants.update(slug, { status: 'suspended' }, 'key:editor');
    expect(view).toMatchObject({ status: 'suspended', seatsHeld: 0 });
    expect(await ctx.db.query('SELECT id FROM seats WHERE tenant_id = $1', [tenant!.id])).toEqual([]);
    expect((await auditOf(slug)).at(-1)).toMatchObject({ type: 'tenant.updated', data: { status: 'suspended', releasedSeats: 2 } });
  });

  it('404 tenant_not_found for an unknown slug', async () => {
    const slug = uniqueSlug('none');
    await expectApiError(tenants.update(slug, { name: 'x' }, 'key:editor'), 404, 'tenant_not_found');
    expect(await auditOf(slug)).toEqual([]);
  });

  it('is seen at once by this instance’s embed-path cache (the write invalidates after it commits)', async () => {
    const slug = uniqueSlug('cache');
    await tenants.create({ slug, name: 'Cached', kind: 'internal' }, 'key:tester');
    expect((await tenants.findCached(slug))?.name).toBe('Cached');
    await tenants.update(slug, { name: 'Renamed' }, 'key:editor');
    expect((await tenants.findCached(slug))?.name).toBe('Renamed');
  });
});

describe('TenantsService.setTier', () => {
  it('a downgrade to view releases the tenant’s seats and audits from, to, reason and the count', async () => {
    const slug = uniqueSlug('down');
    await tenants.create({ slug, name: 'Downgraded', kind: 'external', customerId: 'd-1', tier: 'drill' }, 'key:tester');
    const tenant = await tenants.findCached(slug, { fresh: true });
    await takeSeats(tenant!.id, slug, ['a', 'b', 'c']);
    const result = await tenants.setTier(slug, { tier: 'view', reason: 'contract ended' }, 'staff:ops');
    expect(result.releasedSeats).toBe(3);
    expect(result.tenant).toMatchObject({ slug, tier: 'view', seatsHeld: 0 });
    expect(await ctx.db.query('SELECT id FROM seats WHERE tenant_id = $1', [tenant!.id])).toEqual([]);
    const releases = await ctx.db.query<{ reason: string }>("SELECT reason FROM seat_events WHERE tenant_id = $1 AND kind = 'released'", [tenant!.id]);
    expect(releases.map((event) => event.reason)).toEqual(['tier-downgrade', 'tier-downgrade', 'tier-downgrade']);
    expect((await auditOf(slug)).at(-1)).toEqual({
      type: 'tenant.tier_changed',
      actor: 'staff:ops',
      tenant_slug: slug,
      data: { from: 'drill', to: 'view', reason: 'contract ended', releasedSeats: 3 },
    });
    expect((await tenants.findCached(slug))?.tier).toBe('view');
  });

  it('an upgrade to drill releases nothing', async () => {
    const slug = uniqueSlug('up');
    await tenants.create({ slug, name: 'Upgraded', kind: 'external', customerId: 'u-1', emailDomains: ['upgraded.example'] }, 'key:tester');
    const result = await tenants.setTier(slug, { tier: 'drill' }, 'key:editor');
    expect(result).toMatchObject({ releasedSeats: 0, tenant: { tier: 'drill' } });
    expect((await auditOf(slug)).at(-1)?.data).toEqual({ from: 'view', to: 'drill', reason: null, releasedSeats: 0 });
  });

  it('refuses an upgrade to drill with 400 while the tenant has no email domains (SSO fails closed), and changes nothing', async () => {
    const slug = uniqueSlug('nodomains');
    await tenants.create({ slug, name: 'No domains', kind: 'external', customerId: 'n-1' }, 'key:tester');
    await expectApiError(tenants.setTier(slug, { tier: 'drill' }, 'key:editor'), 400, 'validation_error');
    expect((await tenants.get(slug)).tier).toBe('view');
  });

  it('404 tenant_not_found for an unknown slug, with nothing audited', async () => {
    const slug = uniqueSlug('none');
    await expectApiError(tenants.setTier(slug, { tier: 'view' }, 'key:editor'), 404, 'tenant_not_found');
    expect(await auditOf(slug)).toEqual([]);
  });
});

describe('TenantsService.findCached and findById', () => {
  it('returns the domain tenant (dates as Dates, attributes as an object), or null for an unknown slug', async () => {
    const slug = uniqueSlug('find');
    await tenants.create({ slug, name: 'Found', kind: 'external', customerId: '42', attributes: { plan: 'gold' } }, 'key:tester');
    const tenant = await tenants.findCached(slug);
    expect(tenant).toMatchObject({ slug, kind: 'external', tier: 'view', customerId: '42', attributes: { plan: 'gold' }, groups: null, seatsHeld: 0 });
    expect(tenant?.createdAt).toBeInstanceOf(Date);
    expect(await tenants.findById(tenant!.id)).toEqual(tenant);
    expect(await tenants.findCached(uniqueSlug('nobody'))).toBeNull();
  });
});
