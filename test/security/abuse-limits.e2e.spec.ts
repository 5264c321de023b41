import { randomBytes } from 'node:crypto';
import { Api, embedBody, seed, startService, TEST_SECRETS, type RunningService } from '../support/service.js';
import { verifySsoToken } from '../support/metabase-verifier.js';

describe('rate limits shared across instances (Redis)', () => {
  const prefix = `test-shared-${randomBytes(4).toString('hex')}`;
  let first: RunningService;
  let second: RunningService;
  let app: Api;

  beforeAll(async () => {
    const env = { REDIS_KEY_PREFIX: prefix, RATE_LIMIT_EMBEDS_PER_MINUTE: '6', RATE_LIMIT_AUTH_FAILURES_PER_MINUTE: '4' };
    first = await startService(env);
    second = await startService(env, first.db);
    const apps = await seed(first.admin, {
      tenants: [{ slug: 'acme', name: 'Acme', kind: 'external', tier: 'view', customerId: 'acme-001' }],
      resources: [{ key: 'sales-overview', type: 'dashboard', metabaseId: 1, tenantParam: 'customer_id' }],
      apps: { host: { tenants: ['acme'] } },
    });
    app = apps.host;
  });
  afterAll(async () => {
    await second.app.close();
    await first.stop();
  });

  it('a key’s embed requests are counted across both instances: past the limit, 429 with Retry-After', async () => {
    const onFirst = new Api(first.baseUrl, app.key);
    const onSecond = new Api(second.baseUrl, app.key);
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) statuses.push((await (i % 2 ? onSecond : onFirst).post('/v1/embeds', embedBody('acme', `u-${i}`))).status);
    expect(statuses.slice(0, 6)).toEqual([201, 201, 201, 201, 201, 201]);
    const limited = await onSecond.post('/v1/embeds', embedBody('acme', 'u-x'));
    expect(limited.status).toBe(429);
    expect(limited.body.error.code).toBe('rate_limited');
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    // Another key is not affected.
    const other = await first.admin.post('/v1/apps', { name: 'other', tenants: ['acme'] });
    expect((await new Api(second.baseUrl, other.body.apiKey).post('/v1/embeds', embedBody('acme', 'u'))).status).toBe(201);
  });

  it('failed authentications from one address are limited across instances, even for a valid key afterwards', async () => {
    const bad = (base: string) => new Api(base, `egk_${'a'.repeat(16)}_${'B'.repeat(43)}`).get('/v1/license');
    const statuses = [];
    for (let i = 0; i < 5; i++) statuses.push((await bad(i % 2 ? second.baseUrl : first.baseUrl)).status);
    // Four failures a minute are allowed (two on each instance); the fifth is refused.
    expect(statuses).toEqual([401, 401, 401, 401, 429]);
    const blocked = await bad(second.baseUrl);
    expect(blocked.status).toBe(429);
    expect(blocked.headers.get('retry-after')).toBeTruthy();
    expect((await new Api(first.baseUrl, first.admin.key).get('/v1/license')).status).toBe(429);
  });
});

describe('without Redis, limits are per instance and the log says so', () => {
  it('logs the fallback', async () => {
    const service = await startService({ REDIS_URL: '' });
    try {
      expect(service.logs.some((line) => line.includes('no REDIS_URL'))).toBe(true);
    } finally {
      await service.stop();
    }
  });
});

describe('CORS allow-list', () => {
  it('echoes only a listed origin', async () => {
    const service = await startService({ CORS_ORIGINS: 'https://app.customer.example' });
    try {
      const preflight = (origin: string) =>
        fetch(`${service.baseUrl}/v1/embeds`, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST' } });
      expect((await preflight('https://app.customer.example')).headers.get('access-control-allow-origin')).toBe('https://app.customer.example');
      expect((await preflight('https://evil.example')).headers.get('access-control-allow-origin')).toBeNull();
    } finally {
      await service.stop();
    }
  });
});

describe('POST /v1/sso/jwt and the Metabase tenants claim', () => {
  let service: RunningService;
  let app: Api;

  beforeAll(async () => {
    service = await startService({ METABASE_TENANTS: 'true' });
    const apps = await seed(service.admin, {
      tenants: [
        { slug: 'globex', name: 'Globex', kind: 'external', tier: 'drill', customerId: 'globex-002' },
        { slug: 'acme', name: 'Acme', kind: 'external', tier: 'view', customerId: 'acme-001' },
      ],
      apps: { host: { tenants: ['globex', 'acme'] }, acmeOnly: { tenants: ['acme'] } },
    });
    app = apps.host;
  });
  afterAll(() => service.stop());

  it('returns {jwt} for an SSO user, with a seat taken and @tenant set', async () => {
    const answer = await app.post('/v1/sso/jwt', { tenant: 'globex', user: { id: 'sdk-1', email: 'sdk@globex.example' } });
    expect(answer.status).toBe(200);
    expect(Object.keys(answer.body)).toEqual(['jwt']);
    const claims = verifySsoToken(answer.body.jwt, TEST_SECRETS.METABASE_JWT_SHARED_SECRET);
    expect(claims).toMatchObject({ email: 'sdk@globex.example', customer_id: 'globex-002', '@tenant': 'globex' });
    expect(await service.db.query(`SELECT 1 FROM seats WHERE user_id = 'sdk-1'`)).toHaveLength(1);
  });

  it('answers 403 with the decision for a user not routed to SSO, and takes no seat', async () => {
    const answer = await app.post('/v1/sso/jwt', { tenant: 'acme', user: { id: 'sdk-2', email: 'sdk@acme.example' } });
    expect(answer.status).toBe(403);
    expect(answer.body.decision).toMatchObject({ mode: 'deny', rule: 'sso-not-granted' });
    expect(answer.body.jwt).toBeUndefined();
  });

  it('refuses a resource or options in the body, and tenants outside the scope', async () => {
    expect((await app.post('/v1/sso/jwt', { tenant: 'globex', user: { id: 'x', email: 'x@globex.example' }, resource: 'r' })).status).toBe(400);
    const outside = await app.as((await service.admin.post('/v1/apps', { name: 'a', tenants: ['acme'] })).body.apiKey).post('/v1/sso/jwt', {
      tenant: 'globex',
      user: { id: 'x', email: 'x@globex.example' },
    });
    expect(outside.status).toBe(404);
  });
});
