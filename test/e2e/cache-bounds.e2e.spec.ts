import { Api, embedBody, seed, startService, type RunningService } from '../support/service.js';

/**
 * Instances cache keys, tenants, resources and app scopes for CACHE_TTL_MS. A write on one instance
 * is seen on another within that bound, never later; and a tier downgrade is never honoured for SSO
 * at all, because the seat ledger re-checks the tenant in Postgres.
 */
const TTL_MS = 1000;
let writer: RunningService;
let reader: RunningService;
let appOnReader: Api;

beforeAll(async () => {
  writer = await startService({ CACHE_TTL_MS: String(TTL_MS) });
  reader = await startService({ CACHE_TTL_MS: String(TTL_MS) }, writer.db);
  const apps = await seed(writer.admin, {
    tenants: [
      { slug: 'acme', name: 'Acme', kind: 'external', tier: 'view', customerId: 'a-1' },
      { slug: 'globex', name: 'Globex', kind: 'external', tier: 'drill', customerId: 'g-1', onSeatsExhausted: 'deny' },
    ],
    resources: [{ key: 'sales-overview', type: 'dashboard', metabaseId: 1, tenantParam: 'customer_id', guest: true }],
    apps: { host: { tenants: '*' } },
  });
  appOnReader = new Api(reader.baseUrl, apps.host.key);
});
afterAll(async () => {
  await reader.app.close();
  await writer.stop();
});

/** Polls until the answer changes; returns how long it took. */
async function msUntil(check: () => Promise<boolean>, limitMs: number): Promise<number> {
  const start = Date.now();
  while (!(await check())) {
    if (Date.now() - start > limitMs) return Infinity;
    await new Promise((r) => setTimeout(r, 50));
  }
  return Date.now() - start;
}

it('a key revoked on one instance is refused on another within the bound', async () => {
  const created = await writer.admin.post('/v1/keys', { role: 'finance', name: 'soon-revoked' });
  const onReader = new Api(reader.baseUrl, created.body.apiKey);
  expect((await onReader.get('/v1/license')).status).toBe(200); // now cached on the reader
  await writer.admin.delete(`/v1/keys/${created.body.id}`);
  expect((await new Api(writer.baseUrl, created.body.apiKey).get('/v1/license')).status).toBe(401); // at once where revoked
  const took = await msUntil(async () => (await onReader.get('/v1/license')).status === 401, 5 * TTL_MS);
  expect(took).toBeLessThanOrEqual(TTL_MS + 250);
});

it('a tenant suspended on one instance gets no embed from another within the bound', async () => {
  expect((await appOnReader.post('/v1/embeds', embedBody('acme', 'u-1'))).status).toBe(201);
  await writer.admin.patch('/v1/tenants/acme', { status: 'suspended' });
  const took = await msUntil(async () => (await appOnReader.post('/v1/embeds', embedBody('acme', 'u-1'))).status === 403, 5 * TTL_MS);
  expect(took).toBeLessThanOrEqual(TTL_MS + 250);
});

it('a tier downgrade on one instance is never honoured for SSO on another, even with a warm cache', async () => {
  const first = await appOnReader.post('/v1/embeds', embedBody('globex', 'g-1'));
  expect(first.body.mode).toBe('sso');
  await writer.admin.put('/v1/tenants/globex/tier', { tier: 'view' });
  // The reader still has globex cached as drill; the ledger finds no seat and no drill tier in Postgres.
  const returning = await appOnReader.post('/v1/embeds', embedBody('globex', 'g-1'));
  const newcomer = await appOnReader.post('/v1/embeds', embedBody('globex', 'g-2'));
  for (const answer of [returning, newcomer]) {
    expect(answer.body.mode).toBe('guest');
    expect(answer.body.decision.rule).toBe('external-view-tier');
    expect(answer.body.jwt).toBeUndefined();
  }
  expect(await writer.db.query(`SELECT 1 FROM seats`)).toHaveLength(0);
});

/** The reader's embedgate_cache_loads_total, by cache. */
async function cacheLoads(): Promise<Record<string, number>> {
  const text = (await reader.anonymous.get('/metrics')).body as string;
  const loads: Record<string, number> = {};
  for (const match of text.matchAll(/^embedgate_cache_loads_total\{cache="([^"]+)"\} (\d+)$/gm)) loads[match[1]] = Number(match[2]);
  return loads;
}

it('while nothing is written, cached rows outlive CACHE_TTL_MS without a reload; a write anywhere reloads them', async () => {
  await writer.admin.post('/v1/tenants', { slug: 'initech', name: 'Initech', kind: 'external', tier: 'view', customerId: 'i-1' });
  const embed = async () => expect((await appOnReader.post('/v1/embeds', embedBody('initech', 'u-1'))).status).toBe(201);
  await embed();
  // The tenant's creation moved the epoch; once the reader has read it, one more load warms its caches.
  await new Promise((r) => setTimeout(r, TTL_MS));
  await embed();
  const warm = await cacheLoads();
  // Three bounds' worth of embeds, nothing written meanwhile: no row is read again.
  const until = Date.now() + 3 * TTL_MS;
  let embeds = 0;
  while (Date.now() < until) {
    await embed();
    embeds++;
    await new Promise((r) => setTimeout(r, 50));
  }
  expect(embeds).toBeGreaterThan(20);
  expect(await cacheLoads()).toEqual(warm);
  // A write on the other instance (to another tenant) moves the epoch: the reader reloads within the bound.
  await writer.admin.patch('/v1/tenants/acme', { name: 'Acme Corp' });
  const took = await msUntil(async () => {
    await embed();
    return (await cacheLoads()).tenants > warm.tenants;
  }, 5 * TTL_MS);
  expect(took).toBeLessThanOrEqual(TTL_MS + 250);
});
