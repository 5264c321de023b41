import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inSpan, tracingStarted } from '../../src/tracing/spans.js';
import { FakeMetabase } from '../support/fake-metabase.js';
import { startServiceProcess, type ServiceProcess } from '../support/process.js';
import { rememberSecret } from '../support/secrets-hygiene.js';
import { Api, embedBody, seed, startService, TEST_SECRETS, type RunningService } from '../support/service.js';

// Tracing, end to end: `node dist/main.js` with OTEL_EXPORTER_OTLP_ENDPOINT pointing at an OTLP/HTTP
// receiver in this test (JSON, as the exporter sends it), and its Metabase API at a fake Metabase. The
// spans must arrive, carry the tenant and the rule, nest under the HTTP request (the Metabase calls
// too), and hold no token, key, email or error message; the logs carry the trace id.

interface ExportedSpan {
  scope: string;
  name: string;
  kind: number;
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  attributes: Record<string, unknown>;
  status: { code?: number; message?: string };
  events: { name: string; attributes: Record<string, unknown> }[];
}

/** OTLP's Status.code and Span.kind values. */
const STATUS_ERROR = 2;
const KIND_SERVER = 2;
const KIND_CLIENT = 3;
const METABASE_API_KEY = `mb_tracing_api_key_${randomBytes(12).toString('hex')}`;
rememberSecret(METABASE_API_KEY);

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
let seeding: RunningService;
let appKey: string;
let receiver: Server;
let metabase: FakeMetabase;
const exports: { path: string; contentType?: string; body: string }[] = [];

beforeAll(async () => {
  receiver = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => (body += chunk));
    request.on('end', () => {
      exports.push({ path: request.url ?? '', contentType: request.headers['content-type'], body });
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  metabase = await new FakeMetabase(METABASE_API_KEY, TEST_SECRETS.METABASE_JWT_SHARED_SECRET).start();
  seeding = await startService({ SEAT_BUDGET: '100' });
  const apps = await seed(seeding.admin, {
    tenants: [
      { slug: 'globex', name: 'Globex', kind: 'internal', tier: 'drill', customerId: 'globex-002' },
      { slug: 'acme', name: 'Acme', kind: 'external', tier: 'view', customerId: 'acme-001' },
    ],
    resources: [{ key: 'sales-overview', type: 'dashboard', metabaseId: 42, tenantParam: 'customer_id', guest: true }],
    apps: { host: { tenants: ['globex', 'acme'] } },
  });
  appKey = apps.host.key!;
}, 60_000);

afterAll(async () => {
  await seeding?.stop();
  await metabase?.stop();
  await new Promise((resolve) => receiver?.close(resolve));
});

const attributesOf = (attributes: any[] = []) => Object.fromEntries(attributes.map((attribute) => [attribute.key, Object.values(attribute.value)[0]]));

const spansOf = (bodies: typeof exports): ExportedSpan[] =>
  bodies.flatMap(({ body }) =>
    JSON.parse(body).resourceSpans.flatMap((resourceSpans: any) =>
      resourceSpans.scopeSpans.flatMap((scopeSpans: any) =>
        scopeSpans.spans.map((span: any) => ({
          scope: scopeSpans.scope.name,
          name: span.name,
          kind: span.kind,
          traceId: span.traceId,
          spanId: span.spanId,
          parentSpanId: span.parentSpanId || undefined,
          attributes: attributesOf(span.attributes),
          status: span.status ?? {},
          events: (span.events ?? []).map((event: any) => ({ name: event.name, attributes: attributesOf(event.attributes) })),
        })),
      ),
    ),
  );

/** The span `span` descends from, at the top of its trace (as far as `trace` holds its ancestors). */
const rootOf = (span: ExportedSpan, trace: ExportedSpan[]) => {
  const byId = new Map(trace.map((each) => [each.spanId, each]));
  let root = span;
  while (root.parentSpanId && byId.has(root.parentSpanId)) root = byId.get(root.parentSpanId)!;
  return root;
};

describe('with OTEL_EXPORTER_OTLP_ENDPOINT set', () => {
  let service: ServiceProcess;
  let spans: ExportedSpan[];
  const seen: string[] = [];
  /** What a malformed JSON body sent to POST /v1/embeds holds. */
  const malformed = { email: 'mal.formed@acme.example', key: `egk_${randomBytes(20).toString('hex')}` };

  beforeAll(async () => {
    service = await startServiceProcess({
      DATABASE_URL: seeding.db.url,
      MIGRATE_ON_START: 'false',
      SEAT_BUDGET: '100',
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${(receiver.address() as { port: number }).port}`,
      OTEL_SERVICE_NAME: 'embedgate-under-test',
      // An SSO embed asks Metabase's API about the user's email (its identity check), inside the request.
      METABASE_API_URL: metabase.url,
      METABASE_API_KEY,
    });
    const app = new Api(service.baseUrl, appKey);
    const guest = await app.request('POST', '/v1/embeds', embedBody('acme', 'ana'), { 'x-request-id': 'trace-guest' });
    expect(guest.status).toBe(201);
    const sso = await app.request('POST', '/v1/embeds', embedBody('globex', 'bo'), { 'x-request-id': 'trace-sso' });
    expect(sso.status).toBe(201);
    const launch = await app.openLaunch(sso.body.url);
    expect(launch.status).toBe(302);
    const direct = await app.post('/v1/embeds', embedBody('globex', 'cy', { options: { launch: 'direct' } }));
    expect(direct.status).toBe(201);
    expect((await app.get('/v1/resources?limit=5')).status).toBe(200);
    // Not JSON: the error Fastify records on the request span may quote it.
    const broken = `{"tenant":"acme","user":{"id":"mal","email":"${malformed.email}","apiKey":"${malformed.key}"} oops`;
    expect((await app.request('POST', '/v1/embeds', broken, { 'x-request-id': 'trace-malformed' })).status).toBe(400);
    // What must never be exported: the keys, the tokens, the emails (as sent to Metabase's API too), the launch link's id, the secrets.
    const launchedJwt = new URL(launch.location!).searchParams.get('jwt')!;
    seen.push(appKey, guest.body.token, sso.body.jwt, direct.body.jwt, launchedJwt, new URL(sso.body.url).pathname.split('/').pop()!);
    const emails = ['ana@acme.example', 'bo@globex.example', 'cy@globex.example', malformed.email];
    seen.push(...emails, ...emails.map(encodeURIComponent), malformed.key, METABASE_API_KEY, ...Object.values(TEST_SECRETS));
    // SIGTERM: the shutdown exports the spans still buffered.
    expect(await service.stop()).toBe(0);
    const traces = exports.filter((entry) => entry.path === '/v1/traces');
    expect(traces.length).toBeGreaterThan(0);
    spans = spansOf(traces);
  }, 60_000);

  it('exports OTLP/HTTP JSON to {endpoint}/v1/traces, named by OTEL_SERVICE_NAME', () => {
    const traces = exports.filter((entry) => entry.path === '/v1/traces');
    expect(traces.every((entry) => entry.contentType === 'application/json')).toBe(true);
    const resource = JSON.parse(traces[0].body).resourceSpans[0].resource.attributes;
    expect(resource).toContainEqual({ key: 'service.name', value: { stringValue: 'embedgate-under-test' } });
  });

  it('has the HTTP, Fastify, pg and ioredis instrumentations, under one trace per request', () => {
    const server = spans.find((span) => span.scope.includes('instrumentation-http') && span.attributes['http.route'] === '/v1/embeds');
    expect(server).toBeDefined();
    const trace = spans.filter((span) => span.traceId === server!.traceId);
    const scopes = new Set(trace.map((span) => span.scope));
    expect([...scopes]).toEqual(
      expect.arrayContaining(['@fastify/otel', '@opentelemetry/instrumentation-pg', '@opentelemetry/instrumentation-ioredis', 'embedgate']),
    );
    // Every span of the request descends from its HTTP server span.
    for (const span of trace) expect(rootOf(span, trace).spanId).toBe(server!.spanId);
  });

  it('traces the Metabase API calls (fetch) as children of the request, their URLs redacted, no header and no API key', () => {
    const lines = service.output.filter((line) => line.startsWith('{')).map((line) => JSON.parse(line));
    const traceId = lines.find((line) => line.msg === 'request completed' && line.reqId === 'trace-sso')?.traceId;
    const trace = spans.filter((span) => span.traceId === traceId);
    const server = trace.find((span) => span.scope.includes('instrumentation-http') && span.kind === KIND_SERVER);
    const calls = trace.filter((span) => span.scope === '@opentelemetry/instrumentation-undici');
    // The identity check looked the user's email up: GET /api/user?...&query=bo%40globex.example.
    expect(metabase.requests.some((request) => request.startsWith('GET /api/user?') && request.includes('query=bo%40globex.example'))).toBe(true);
    expect(calls.length).toBeGreaterThan(0);
    for (const call of calls) {
      expect(call.kind).toBe(KIND_CLIENT);
      expect(rootOf(call, trace).spanId).toBe(server!.spanId);
      expect(call.attributes).toMatchObject({
        'http.request.method': 'GET',
        'http.response.status_code': 200,
        'server.address': '127.0.0.1',
        'url.path': '/api/user',
      });
      // Metabase's path is kept (its origin is known), every query value masked, as on the other client spans.
      const [path, query] = String(call.attributes['url.full']).split('?');
      expect(path).toBe(`${metabase.url}/api/user`);
      expect(query.split('&')).toEqual(expect.arrayContaining(['status=*', 'query=*']));
      expect(query.split('&').filter((pair) => !pair.endsWith('=*'))).toEqual([]);
      expect(call.attributes['url.query']).toBe(`?${query}`);
      expect(Object.keys(call.attributes).filter((key) => key.startsWith('http.request.header.') || key.startsWith('user_agent.'))).toEqual([]);
    }
    expect(exports.some((entry) => entry.body.includes(METABASE_API_KEY))).toBe(false);
  });

  it('keeps an error status without its message: a malformed JSON body', () => {
    const refused = spans.filter((span) => span.scope === '@fastify/otel' && span.attributes['http.response.status_code'] === 400);
    expect(refused.length).toBe(1);
    expect(refused[0].attributes['http.route']).toBe('/v1/embeds');
    expect(refused[0].status).toEqual({ code: STATUS_ERROR });
    const everything = exports.map((entry) => entry.body).join('\n');
    expect([malformed.email, malformed.key].filter((secret) => everything.includes(secret))).toEqual([]);
    // No span anywhere says more of an error than its status code, its error.type or its exception's type.
    for (const span of spans) {
      expect(span.status.message ?? '').toBe('');
      for (const event of span.events) expect(Object.keys(event.attributes).filter((key) => key !== 'exception.type')).toEqual([]);
    }
  });

  it('spans the policy decision, the seat ledger and the minting, with the tenant and the rule', () => {
    const named = (name: string) => spans.filter((span) => span.name === name);
    expect(named('embedgate.policy.decide').map((span) => span.attributes)).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          'embedgate.tenant': 'acme',
          'embedgate.rule': 'external-view-tier',
          'embedgate.mode': 'guest',
          'embedgate.purpose': 'embed',
        }),
        expect.objectContaining({ 'embedgate.tenant': 'globex', 'embedgate.rule': 'internal-tenant', 'embedgate.mode': 'sso' }),
      ]),
    );
    expect(named('embedgate.seats.acquire').map((span) => span.attributes)).toContainEqual({
      'embedgate.tenant': 'globex',
      'embedgate.seat.outcome': 'allocated',
    });
    expect(named('embedgate.tokens.mint_guest')[0].attributes).toEqual({ 'embedgate.resource.type': 'dashboard', 'embedgate.token.ttl_seconds': 600 });
    expect(named('embedgate.tokens.mint_sso').length).toBeGreaterThanOrEqual(2);
  });

  it('exports no token, key, email or launch id, and no query value', () => {
    const everything = exports.map((entry) => entry.body).join('\n');
    for (const secret of seen) expect({ leaked: everything.includes(secret), length: secret.length }).toEqual({ leaked: false, length: secret.length });
    const launchSpans = spans.filter((span) => String(span.attributes['url.path'] ?? '').startsWith('/v1/launch/'));
    expect(launchSpans.length).toBeGreaterThan(0);
    for (const span of launchSpans) expect(span.attributes['url.path']).toBe('/v1/launch/[redacted]');
    const listed = spans.find((span) => span.attributes['url.query'] !== undefined);
    expect(listed?.attributes['url.query']).toBe('limit=*');
  });

  it('writes the trace id of the request into its log lines', () => {
    const server = spans.find((span) => span.scope.includes('instrumentation-http') && span.attributes['http.route'] === '/v1/embeds');
    const lines = service.output.filter((line) => line.startsWith('{')).map((line) => JSON.parse(line));
    const completed = lines.filter((line) => line.msg === 'request completed' && String(line.reqId).startsWith('trace-'));
    expect(completed.map((line) => line.reqId).sort()).toEqual(['trace-guest', 'trace-malformed', 'trace-sso']);
    for (const line of completed) expect(line.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(spans.filter((span) => span.traceId === completed[0].traceId).length).toBeGreaterThan(3);
    expect(completed.map((line) => line.traceId)).toContain(server!.traceId);
    expect(lines.find((line) => line.msg?.startsWith('tracing on'))).toMatchObject({ serviceName: 'embedgate-under-test', sampleRatio: 1 });
  });
});

describe('with tracing off (the default)', () => {
  it('makes no span and adds nothing to log lines', async () => {
    expect(tracingStarted()).toBe(false);
    const work = Promise.resolve(42);
    expect(inSpan('x', {}, () => work)).toBe(work);
    const before = exports.length;
    const service = await startServiceProcess({ DATABASE_URL: seeding.db.url, MIGRATE_ON_START: 'false' });
    expect((await new Api(service.baseUrl, appKey).post('/v1/embeds', embedBody('acme', 'dee'))).status).toBe(201);
    expect(await service.stop()).toBe(0);
    expect(exports.length).toBe(before);
    const lines = service.output.filter((line) => line.startsWith('{')).map((line) => JSON.parse(line));
    expect(lines.some((line) => 'traceId' in line)).toBe(false);
  }, 60_000);

  it('loads no OpenTelemetry SDK: only src/tracing/tracing.ts imports it, and only when started', () => {
    const files = (readdirSync(join(ROOT, 'src'), { recursive: true }) as string[]).filter((file) => file.endsWith('.ts') && !file.startsWith('generated'));
    const importers = files.filter((file) =>
      /from '(@opentelemetry\/(sdk-node|exporter-|instrumentation)|@fastify\/otel|import-in-the-middle)/.test(readFileSync(join(ROOT, 'src', file), 'utf8')),
    );
    expect(importers).toEqual([join('tracing', 'opentelemetry.ts')]);
    const loaders = files.filter((file) => readFileSync(join(ROOT, 'src', file), 'utf8').includes('opentelemetry.js'));
    expect(loaders).toEqual([join('tracing', 'tracing.ts')]);
    expect(readFileSync(join(ROOT, 'src', 'tracing', 'tracing.ts'), 'utf8')).toContain("await import('./opentelemetry.js')");
  });
});
