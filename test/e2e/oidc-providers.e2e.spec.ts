import { startService, type Api, type RunningService } from '../support/service.js';

let service: RunningService;

beforeAll(async () => {
  service = await startService();
});
afterAll(() => service?.stop());

/** A new host app through the API: its id and a client with its key. */
async function createApp(name = 'host'): Promise<{ id: string; api: Api }> {
  const answer = await service.admin.post('/v1/apps', { name, tenants: '*' });
  expect(answer.status).toBe(201);
  return { id: answer.body.id, api: service.admin.as(answer.body.apiKey) };
}

const minimal = (overrides: Record<string, unknown> = {}) => ({
  issuer: 'https://idp.example.com/realms/acme',
  audience: `embedgate-${Math.random().toString(36).slice(2)}`,
  claims: { tenant: 'org' },
  ...overrides,
});

async function auditOf(type: string, appId: string) {
  const answer = await service.admin.get(`/v1/audit?type=${type}`);
  expect(answer.status).toBe(200);
  return answer.body.items.filter((item: any) => item.data.appId === appId);
}

describe('PUT /v1/apps/{id}/oidc', () => {
  it('creates the provider with the defaults filled in, then replaces it as a whole; both audited', async () => {
    const app = await createApp();
    const body = minimal();
    const created = await service.admin.put(`/v1/apps/${app.id}/oidc`, body);
    expect(created.status).toBe(200);
    expect(created.body).toEqual({
      appId: app.id,
      issuer: body.issuer,
      audience: body.audience,
      jwksUri: null,
      algorithms: ['RS256'],
      clockToleranceSeconds: 30,
      maxTokenAgeSeconds: 3600,
      claims: { tenant: 'org', userId: 'sub', email: 'email', firstName: 'given_name', lastName: 'family_name' },
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
    });

    const replacement = {
      issuer: 'https://login.example.org',
      audience: body.audience,
      jwksUri: 'https://login.example.org/keys?version=2',
      algorithms: ['ES256', 'RS256', 'ES256', 'EdDSA'],
      clockToleranceSeconds: 0,
      maxTokenAgeSeconds: 600,
      claims: { tenant: 'https://example.org/tenant', userId: 'oid', role: { claim: 'roles', values: { 'BI.Analyst': 'analyst' } } },
    };
    const replaced = await service.admin.put(`/v1/apps/${app.id}/oidc`, replacement);
    expect(replaced.status).toBe(200);
    expect(replaced.body).toMatchObject({
      ...replacement,
      algorithms: ['ES256', 'RS256', 'EdDSA'],
      claims: {
        tenant: 'https://example.org/tenant',
        userId: 'oid',
        email: 'email',
        firstName: 'given_name',
        lastName: 'family_name',
        role: { claim: 'roles', values: { 'BI.Analyst': 'analyst' }, default: 'viewer' },
      },
      createdAt: created.body.createdAt,
    });
    expect((await service.admin.get(`/v1/apps/${app.id}/oidc`)).body).toEqual(replaced.body);

    const [createdEntry] = await auditOf('app.oidc_provider_created', app.id);
    expect(createdEntry).toMatchObject({
      actor: expect.stringMatching(/^key:/),
      data: { appId: app.id, provider: { issuer: body.issuer, audience: body.audience } },
    });
    const [replacedEntry] = await auditOf('app.oidc_provider_replaced', app.id);
    expect(replacedEntry.data).toMatchObject({ appId: app.id, provider: { issuer: replacement.issuer }, previous: { issuer: body.issuer } });
  });

  it.each([
    ['http://localhost:8080/realms/dev', null],
    ['http://127.0.0.1:9000', 'http://127.0.0.1:9000/jwks'],
    ['http://[::1]:8080', 'http://localhost/keys'],
  ])('accepts plain http to a loopback host only, for development: %s', async (issuer, jwksUri) => {
    const app = await createApp();
    const answer = await service.admin.put(`/v1/apps/${app.id}/oidc`, minimal({ issuer, jwksUri }));
    expect([answer.status, answer.body.issuer, answer.body.jwksUri]).toEqual([200, issuer, jwksUri]);
  });

  it.each([
    ['issuer over plain http', { issuer: 'http://idp.example.com' }, /issuer: must be an https URL \(plain http only to localhost, 127\.0\.0\.1 or \[::1\]/],
    ['an issuer that only looks local', { issuer: 'http://localhost.example.com' }, /issuer: must be an https URL/],
    ['an issuer that is not a URL', { issuer: 'idp.example.com' }, /issuer: must be an absolute URL/],
    ['an issuer with a query', { issuer: 'https://idp.example.com/?tenant=1' }, /issuer: must not have a query/],
    ['an issuer with a fragment', { issuer: 'https://idp.example.com/#x' }, /issuer: must not have a fragment/],
    ['an issuer with credentials', { issuer: 'https://user:pw@idp.example.com' }, /issuer: must not hold a user name or password/],
    ['a javascript: issuer', { issuer: 'javascript:alert(1)' }, /issuer: must be an https URL/],
    ['a jwksUri over plain http', { jwksUri: 'http://idp.example.com/jwks' }, /jwksUri: must be an https URL/],
    ['a file: jwksUri', { jwksUri: 'file:///etc/passwd' }, /jwksUri: must be an https URL/],
    ['an empty audience', { audience: '' }, /audience: must not be empty/],
    ['HS256', { algorithms: ['RS256', 'HS256'] }, /algorithms\.1: HMAC \(HS256, HS384, HS512\) is refused/],
    ['none', { algorithms: ['none'] }, /algorithms\.0: none is refused: tokens must be signed/],
    ['an unknown algorithm', { algorithms: ['RS1'] }, /algorithms\.0: an algorithm is one of RS256, RS384/],
    ['no algorithm', { algorithms: [] }, /algorithms: list at least one algorithm/],
    ['a clock tolerance over 300 s', { clockToleranceSeconds: 301 }, /clockToleranceSeconds/],
    ['a negative clock tolerance', { clockToleranceSeconds: -1 }, /clockToleranceSeconds/],
    ['a fractional clock tolerance', { clockToleranceSeconds: 1.5 }, /clockToleranceSeconds must be a whole number/],
    ['a maximum token age under a minute', { maxTokenAgeSeconds: 59 }, /maxTokenAgeSeconds/],
    ['a maximum token age over a day', { maxTokenAgeSeconds: 86_401 }, /maxTokenAgeSeconds/],
    ['no claims', { claims: undefined }, /claims/],
    ['no tenant claim', { claims: {} }, /claims\.tenant/],
    ['an empty claim name', { claims: { tenant: 'org', email: '' } }, /claims\.email: must not be empty/],
    [
      'an unknown role',
      { claims: { tenant: 'org', role: { claim: 'roles', values: { x: 'admin' } } } },
      /claims\.role\.values\.x: a role is viewer or analyst/,
    ],
    ['an unknown field', { secret: 'x' }, /secret/],
  ])('refuses %s with 400 naming the field, and writes nothing', async (_what, overrides, message) => {
    const app = await createApp();
    const answer = await service.admin.put(`/v1/apps/${app.id}/oidc`, minimal(overrides));
    expect(answer.status).toBe(400);
    expect(answer.body.error.code).toBe('validation_error');
    expect(answer.body.error.message).toMatch(message);
    expect(await service.db.query('SELECT 1 FROM app_oidc_providers WHERE app_id = $1', [app.id])).toEqual([]);
  });

  it('refuses an issuer and audience another app already has (409): each would accept the other’s tokens', async () => {
    const first = await createApp('first');
    const second = await createApp('second');
    const body = minimal();
    expect((await service.admin.put(`/v1/apps/${first.id}/oidc`, body)).status).toBe(200);
    const answer = await service.admin.put(`/v1/apps/${second.id}/oidc`, body);
    expect([answer.status, answer.body.error.code]).toEqual([409, 'oidc_provider_conflict']);
    expect(await auditOf('app.oidc_provider_created', second.id)).toEqual([]);
    // Another audience of the same issuer is another app's.
    expect((await service.admin.put(`/v1/apps/${second.id}/oidc`, { ...body, audience: `${body.audience}-2` })).status).toBe(200);
  });

  it('answers 404 app_not_found for an unknown app', async () => {
    for (const id of ['app_000000000000000000000000', 'no-such-app']) {
      const answer = await service.admin.put(`/v1/apps/${id}/oidc`, minimal());
      expect([answer.status, answer.body.error.code]).toEqual([404, 'app_not_found']);
    }
  });
});

describe('GET and DELETE /v1/apps/{id}/oidc', () => {
  it('deletes the provider (audited), after which GET and DELETE answer 404 oidc_provider_not_found', async () => {
    const app = await createApp();
    const body = minimal();
    expect((await service.admin.put(`/v1/apps/${app.id}/oidc`, body)).status).toBe(200);
    const deleted = await service.admin.delete(`/v1/apps/${app.id}/oidc`);
    expect([deleted.status, deleted.body]).toEqual([200, { appId: app.id, deleted: true }]);
    const [entry] = await auditOf('app.oidc_provider_deleted', app.id);
    expect(entry.data).toEqual({ appId: app.id, issuer: body.issuer, audience: body.audience });
    for (const answer of [await service.admin.get(`/v1/apps/${app.id}/oidc`), await service.admin.delete(`/v1/apps/${app.id}/oidc`)]) {
      expect([answer.status, answer.body.error.code]).toEqual([404, 'oidc_provider_not_found']);
    }
  });

  it('answers 404 app_not_found for an unknown app', async () => {
    for (const answer of [await service.admin.get('/v1/apps/app_0000/oidc'), await service.admin.delete('/v1/apps/app_0000/oidc')]) {
      expect([answer.status, answer.body.error.code]).toEqual([404, 'app_not_found']);
    }
  });
});

describe('who may call /v1/apps/{id}/oidc', () => {
  it('admins only: finance and app keys get 403, no key 401, and nothing changes', async () => {
    const app = await createApp();
    const finance = service.admin.as(await service.createKey('finance'));
    for (const caller of [finance, app.api]) {
      expect((await caller.put(`/v1/apps/${app.id}/oidc`, minimal())).status).toBe(403);
      expect((await caller.get(`/v1/apps/${app.id}/oidc`)).status).toBe(403);
      expect((await caller.delete(`/v1/apps/${app.id}/oidc`)).status).toBe(403);
    }
    expect((await service.anonymous.put(`/v1/apps/${app.id}/oidc`, minimal())).status).toBe(401);
    expect(await service.db.query('SELECT 1 FROM app_oidc_providers WHERE app_id = $1', [app.id])).toEqual([]);
  });

  it('documents the three routes with x-roles admin and the body schema', async () => {
    const document = (await service.anonymous.get('/docs/json')).body;
    const path = document.paths['/v1/apps/{id}/oidc'];
    expect(Object.keys(path).sort()).toEqual(['delete', 'get', 'put']);
    for (const method of ['get', 'put', 'delete']) expect(path[method]['x-roles']).toEqual(['admin']);
    const schema = path.put.requestBody.content['application/json'].schema;
    expect(schema.required).toEqual(expect.arrayContaining(['issuer', 'audience', 'claims']));
    expect(schema.properties.algorithms.items.enum).not.toContain('HS256');
  });
});
