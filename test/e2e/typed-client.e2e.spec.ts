import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
import { createEmbedgateClient, createJwtProviderHandler, EmbedgateError, type EmbedgateClient, type SsoJwtRequest } from '@embedgate/client';
import { OPENAPI_JSON, renderSchema, SCHEMA_D_TS, serializeDocument } from '../../scripts/openapi.mjs';
import { verifyGuestToken, verifySsoToken } from '../support/metabase-verifier.js';
import { rememberSecret, rememberSecretsIn } from '../support/secrets-hygiene.js';
import { freePort, seed, startService, TEST_SECRETS, type RunningService } from '../support/service.js';

/**
 * The typed client (clients/typescript, @embedgate/client) against the real service: viewer sessions, embeds,
 * the JWT provider route handler, and the check that its committed OpenAPI document and generated types are
 * exactly what the running code serves (`npm run client:generate` regenerates both).
 */

const HOST = 'https://host.example';
let service: RunningService;
let embedgate: EmbedgateClient;

const user = (id: string, tenant: string) => ({ id, email: `${id}@${tenant}.example`, firstName: 'Ty', lastName: 'Ped' });

/** The client, remembering every token and key it receives so that the service's logs are checked for them. */
const clientFor = (apiKey: string, baseUrl = service.baseUrl) =>
  createEmbedgateClient({
    baseUrl,
    apiKey,
    fetch: async (request) => {
      const response = await fetch(request);
      rememberSecretsIn(
        await response
          .clone()
          .json()
          .catch(() => undefined),
      );
      return response;
    },
  });

/** Spends an exchange URL (made for the service's PUBLIC_URL) as a browser would, without following the redirect. */
async function exchange(url: string) {
  const { pathname, search } = new URL(url);
  // The code is a credential: it must never reach a log line (the secrets check reads the service's logs).
  rememberSecret(pathname.split('/').pop());
  const response = await fetch(`${service.baseUrl}${pathname}${search}`, { redirect: 'manual' });
  const cookie = response.headers.get('set-cookie')?.split(';')[0];
  rememberSecret(cookie?.split('=')[1]);
  return { status: response.status, location: response.headers.get('location'), cookie };
}

const provider = (cookie: string, path: string, body?: unknown) =>
  fetch(`${service.baseUrl}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { cookie, origin: HOST, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });

beforeAll(async () => {
  service = await startService({ CORS_ORIGINS: HOST });
  const apps = await seed(service.admin, {
    tenants: [
      { slug: 'acme', name: 'Acme', kind: 'external', tier: 'view', customerId: 'acme-001' },
      { slug: 'globex', name: 'Globex', kind: 'external', tier: 'drill', customerId: 'globex-002' },
      { slug: 'initech', name: 'Initech', kind: 'external', tier: 'view', customerId: 'initech-003' },
    ],
    resources: [
      { key: 'sales-overview', type: 'dashboard', metabaseId: 1, tenantParam: 'customer_id', guest: true },
      { key: 'internal-kpis', type: 'dashboard', metabaseId: 7, guest: false },
    ],
    apps: { portal: { tenants: ['acme', 'globex'] } },
  });
  embedgate = clientFor(apps.portal.key!);
});
afterAll(() => service.stop());

describe('createViewerSession (POST /v1/viewer-sessions)', () => {
  it('opens a session whose exchange URL sets the viewer cookie and returns to the host; the providers then answer {jwt}', async () => {
    const session = await embedgate.createViewerSession({ tenant: 'globex', user: user('gus', 'globex'), returnTo: `${HOST}/dashboard` });
    expect(session).toEqual({
      id: expect.any(String),
      origin: expect.any(String),
      url: expect.stringContaining('/v1/viewer-sessions/exchange/'),
      expiresAt: expect.any(String),
      sessionExpiresAt: expect.any(String),
    });
    const spent = await exchange(session.url);
    expect(spent.status).toBe(303);
    expect(spent.location).toBe(`${HOST}/dashboard`);
    expect(spent.cookie).toMatch(/^__Host-embedgate_viewer_[0-9a-f]{16}=/);

    const sso = await provider(spent.cookie!, '/v1/sdk/sso?response=json');
    expect(sso.status).toBe(200);
    const claims = verifySsoToken(((await sso.json()) as { jwt: string }).jwt, TEST_SECRETS.METABASE_JWT_SHARED_SECRET);
    expect(claims).toMatchObject({ email: 'gus@globex.example', customer_id: 'globex-002' });

    const guest = await provider(spent.cookie!, '/v1/sdk/guest?response=json', { entityType: 'dashboard', entityId: 1 });
    expect(guest.status).toBe(200);
    const guestClaims = verifyGuestToken(((await guest.json()) as { jwt: string }).jwt, TEST_SECRETS.METABASE_EMBEDDING_SECRET_KEY);
    expect(guestClaims).toMatchObject({ resource: { dashboard: 1 }, params: { customer_id: ['globex-002'] } });
  });

  it('throws an EmbedgateError with the code of a refusal (a tenant outside the app’s scope: 404)', async () => {
    const refusal = await embedgate.createViewerSession({ tenant: 'initech', user: user('ian', 'initech') }).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(EmbedgateError);
    expect(refusal).toMatchObject({ status: 404, code: 'tenant_not_found' });
  });

  it('revokeViewerSession ends one session (the providers answer 401); revokeViewerSessions ends all of a user’s', async () => {
    const first = await embedgate.createViewerSession({ tenant: 'acme', user: user('ana', 'acme') });
    const { cookie } = await exchange(first.url);
    expect((await provider(cookie!, '/v1/sdk/guest?response=json', { entityType: 'dashboard', entityId: 1 })).status).toBe(200);
    await embedgate.revokeViewerSession(first.id);
    const revoked = await provider(cookie!, '/v1/sdk/guest?response=json', { entityType: 'dashboard', entityId: 1 });
    expect(revoked.status).toBe(401);
    expect(((await revoked.json()) as { error: { code: string } }).error.code).toBe('viewer_session_invalid');

    for (let i = 0; i < 2; i++) await embedgate.createViewerSession({ tenant: 'acme', user: user('amy', 'acme') });
    await expect(embedgate.revokeViewerSessions('acme', 'amy')).resolves.toEqual({ revoked: 2 });
    const unknown = await embedgate.revokeViewerSession(randomUUID()).catch((error: unknown) => error);
    expect(unknown).toMatchObject({ status: 404 });
  });
});

describe('getEmbed and explainEmbed (POST /v1/embeds, /explain)', () => {
  it('a view-tier user gets a guest embed whose token Metabase accepts, locked to the tenant', async () => {
    const embed = await embedgate.getEmbed({ tenant: 'acme', user: user('ada', 'acme'), resource: 'sales-overview' });
    expect(embed.mode).toBe('guest');
    if (embed.mode !== 'guest') return;
    expect(embed.decision.rule).toBe('external-view-tier');
    expect(verifyGuestToken(embed.token, TEST_SECRETS.METABASE_EMBEDDING_SECRET_KEY).params).toEqual({ customer_id: ['acme-001'] });
  });

  it('a drill-tier user gets an SSO embed and a seat', async () => {
    const embed = await embedgate.getEmbed({ tenant: 'globex', user: user('gia', 'globex'), resource: 'sales-overview' });
    expect(embed.mode).toBe('sso');
    if (embed.mode !== 'sso') return;
    expect(embed.seat.new).toBe(true);
    expect(verifySsoToken(embed.jwt, TEST_SECRETS.METABASE_JWT_SHARED_SECRET).email).toBe('gia@globex.example');
  });

  it('explainEmbed says beforehand whether a user gets guest or SSO, and takes no seat', async () => {
    await expect(embedgate.explainEmbed({ tenant: 'acme', user: user('abe', 'acme'), resource: 'sales-overview' })).resolves.toMatchObject({ mode: 'guest' });
    await expect(embedgate.explainEmbed({ tenant: 'globex', user: user('gil', 'globex'), resource: 'sales-overview' })).resolves.toMatchObject({
      mode: 'sso',
      rule: 'external-drill-tier',
    });
    const seats = await service.admin.get('/v1/seats?tenant=globex');
    expect(seats.body.items.map((seat: { userId: string }) => seat.userId)).not.toContain('gil');
  });

  it('a denial throws an EmbedgateError that carries the decision', async () => {
    const denied = await embedgate.getEmbed({ tenant: 'acme', user: user('al', 'acme'), resource: 'internal-kpis' }).catch((error: unknown) => error);
    expect(denied).toBeInstanceOf(EmbedgateError);
    expect(denied).toMatchObject({ status: 403, code: 'guest_embed_not_allowed', decision: { mode: 'deny', rule: 'guest-resource-required' } });
  });

  it('the generated client reaches any other route, typed: the resources', async () => {
    const resources = await embedgate.listResources();
    expect(resources.map((resource) => [resource.key, resource.metabaseId])).toEqual([
      ['internal-kpis', '7'],
      ['sales-overview', '1'],
    ]);
    const { response } = await embedgate.api.GET('/v1/resources', { params: { query: { limit: 1 } } });
    expect(response.status).toBe(200);
  });
});

describe('createJwtProviderHandler (the host’s own JWT provider route)', () => {
  const signedIn: Record<string, SsoJwtRequest> = {
    'session-gus': { tenant: 'globex', user: user('gus', 'globex') },
    'session-ann': { tenant: 'acme', user: user('ann', 'acme') },
  };
  /** The host resolves its user from its own session cookie. */
  const resolveUser = (request: Request) => signedIn[/host_session=([\w-]+)/.exec(request.headers.get('cookie') ?? '')?.[1] ?? ''] ?? null;
  const call = (cookie?: string, method = 'GET') =>
    createJwtProviderHandler(embedgate, { resolveUser })(
      new Request('https://host.example/sso/metabase?response=json', { method, headers: cookie ? { cookie } : {} }),
    );

  it('answers {jwt} for the signed-in user: an SSO token Metabase accepts, never cached', async () => {
    const response = await call('host_session=session-gus');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(response.headers.get('cache-control')).toBe('no-store');
    const body = (await response.json()) as { jwt: string };
    rememberSecret(body.jwt);
    expect(Object.keys(body)).toEqual(['jwt']);
    expect(verifySsoToken(body.jwt, TEST_SECRETS.METABASE_JWT_SHARED_SECRET)).toMatchObject({ email: 'gus@globex.example', customer_id: 'globex-002' });
  });

  it('nobody signed in: 401; another method: 405', async () => {
    expect((await call()).status).toBe(401);
    const post = await call('host_session=session-gus', 'POST');
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET');
  });

  it('hands on embedgate’s refusal with its decision (a view-tier user: 403 sso-not-granted)', async () => {
    const response = await call('host_session=session-ann');
    expect(response.status).toBe(403);
    expect(await response.json()).toMatchObject({ error: { code: 'sso_not_granted' }, decision: { rule: 'sso-not-granted' } });
  });

  it('embedgate out of reach: 502', async () => {
    const unreachable = clientFor('egk_unused', `http://127.0.0.1:${await freePort()}`);
    const response = await createJwtProviderHandler(unreachable, { resolveUser })(
      new Request('https://host.example/sso/metabase', { headers: { cookie: 'host_session=session-gus' } }),
    );
    expect(response.status).toBe(502);
    expect(await response.json()).toEqual({ error: { code: 'embedgate_unavailable', message: expect.any(String) } });
  });
});

describe('the typed client cannot drift from the API', () => {
  const REGENERATE = 'run `npm run client:generate` and commit clients/typescript/openapi.json and src/schema.d.ts';
  type Document = { paths?: Record<string, Record<string, unknown>> } & Record<string, unknown>;

  /** What differs between two OpenAPI documents, operation by operation: short enough to read in a failure. */
  function differences(committed: Document, live: Document): string[] {
    const operations = (document: Document) =>
      new Map(
        Object.entries(document.paths ?? {}).flatMap(([path, methods]) =>
          Object.entries(methods).map(([method, operation]) => [`${method.toUpperCase()} ${path}`, operation]),
        ),
      );
    const [before, after] = [operations(committed), operations(live)];
    const lines: string[] = [];
    for (const [name, operation] of after) {
      if (!before.has(name)) lines.push(`+ ${name} (served, not in openapi.json)`);
      else if (!isDeepStrictEqual(before.get(name), operation)) lines.push(`~ ${name} (changed)`);
    }
    for (const name of before.keys()) if (!after.has(name)) lines.push(`- ${name} (in openapi.json, no longer served)`);
    for (const key of new Set([...Object.keys(committed), ...Object.keys(live)])) {
      if (key !== 'paths' && !isDeepStrictEqual(committed[key], live[key])) lines.push(`~ ${key}`);
    }
    return lines;
  }

  it('the committed openapi.json is the live service’s GET /docs/json, byte for byte', async () => {
    // Parsed here, not by fetch's json(): the comparison is strict, prototypes included, and fetch lives in another realm.
    const live = JSON.parse(await (await fetch(`${service.baseUrl}/docs/json`)).text()) as Document;
    const committed = readFileSync(OPENAPI_JSON, 'utf8');
    const drift = differences(JSON.parse(committed) as Document, live);
    if (drift.length) throw new Error(`clients/typescript/openapi.json is not the API's document: ${REGENERATE}.\n${drift.join('\n')}`);
    if (committed !== serializeDocument(live)) throw new Error(`clients/typescript/openapi.json is not in its generated form: ${REGENERATE}.`);
  });

  it('the committed schema.d.ts is openapi-typescript’s generation from openapi.json', async () => {
    const generated = await renderSchema(JSON.parse(readFileSync(OPENAPI_JSON, 'utf8')));
    if (readFileSync(SCHEMA_D_TS, 'utf8') !== generated)
      throw new Error(`clients/typescript/src/schema.d.ts is not generated from openapi.json: ${REGENERATE}.`);
  });
});
