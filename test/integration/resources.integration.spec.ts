import { ApiError } from '../../src/common/api-error.js';
import { ResourcesModule } from '../../src/resources/resources.module.js';
import { ResourcesService } from '../../src/resources/resources.service.js';
import { createIntegrationContext, uniqueSlug, type IntegrationContext } from './integration-context.js';

let ctx: IntegrationContext;
let resources: ResourcesService;

beforeAll(async () => {
  ctx = await createIntegrationContext([ResourcesModule]);
  resources = ctx.app.get(ResourcesService);
});

afterAll(async () => {
  await ctx?.close();
});

describe('ResourcesService', () => {
  it('creates a resource, audits it, and the embed path finds it by key', async () => {
    const key = uniqueSlug('dash');
    const view = await resources.create({ key, type: 'dashboard', metabaseId: '7', tenantParam: 'customer_id', guest: true }, 'key:admin');
    expect(view).toMatchObject({ key, type: 'dashboard', metabaseId: '7', tenantParam: 'customer_id', guest: true });
    const found = await resources.findCached(key);
    expect(found).toMatchObject({ key, type: 'dashboard', metabaseId: '7', tenantParam: 'customer_id', guest: true });
    expect(found?.createdAt).toBeInstanceOf(Date);
    expect(found?.createdAt.toISOString()).toBe(view.createdAt);
    const audit = await ctx.db.query("SELECT actor, data FROM audit_events WHERE type = 'resource.created' AND data->>'key' = $1", [key]);
    expect(audit).toEqual([{ actor: 'key:admin', data: { key, type: 'dashboard', metabaseId: '7', tenantParam: 'customer_id', guest: true } }]);
  });

  it('refuses a taken key with 409 resource_exists', async () => {
    const key = uniqueSlug('q');
    await resources.create({ key, type: 'question', metabaseId: '8', guest: false }, 'key:admin');
    const error = await resources.create({ key, type: 'question', metabaseId: '9', guest: false }, 'key:admin').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ status: 409, code: 'resource_exists' });
  });

  it('a resource created after a miss is found at once (the write invalidates the cached miss)', async () => {
    const key = uniqueSlug('late');
    expect(await resources.findCached(key)).toBeNull();
    await resources.create({ key, type: 'question', metabaseId: '10', guest: false }, 'key:admin');
    expect((await resources.findCached(key))?.metabaseId).toBe('10');
  });

  it('finds nothing for a key that cannot be one, without asking the database', async () => {
    expect(await resources.findCached('../etc/passwd')).toBeNull();
  });

  it('lists in key order, a page at a time', async () => {
    const prefix = uniqueSlug('list');
    for (const n of [2, 1, 3]) await resources.create({ key: `${prefix}-${n}`, type: 'question', metabaseId: String(n), guest: false }, 'key:admin');
    const keys: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await resources.list(2, cursor);
      keys.push(...page.items.map((item) => item.key));
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    expect(keys.filter((key) => key.startsWith(prefix))).toEqual([`${prefix}-1`, `${prefix}-2`, `${prefix}-3`]);
  });
});
