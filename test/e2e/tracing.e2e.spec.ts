import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { redactSpan, safeUrl } from '../../src/tracing/redaction.js';
import { inSpan, tracingStarted } from '../../src/tracing/spans.js';
import { startServiceProcess, type ServiceProcess } from '../support/process.js';
import { Api, embedBody, seed, startService, TEST_SECRETS, type RunningService } from '../support/service.js';

// Tracing, end to end: `node dist/main.js` with OTEL_EXPORTER_OTLP_ENDPOINT pointing at an OTLP/HTTP
// receiver in this test (JSON, as the exporter sends it). The spans must arrive, carry the tenant and
// the rule, nest under the HTTP request, and hold no token, key or email; the logs carry the trace id.

interface ExportedSpan {
  scope: string;
  name: string;
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  attributes: Record<string, unknown>;
}

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
let seeding: RunningService;
let appKey: string;
let receiver: Server;
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
  await new Promise((resolve) => receiver?.close(resolve));
});

const spansOf = (bodies: typeof exports): ExportedSpan[] =>
  bodies.flatMap(({ body }) =>
    JSON.parse(body).resourceSpans.flatMap((resourceSpans: any) =>
      resourceSpans.scopeSpans.flatMap((scopeSpans: any) =>
        scopeSpans.spans.map((span: any) => ({
          scope: scopeSpans.scope.name,
          name: span.name,
          traceId: span.traceId,
          spanId: span.spanId,
          parentSpanId: span.parentSpanId || undefined,
          attributes: Object.fromEntries(span.attributes.map((attribute: any) => [attribute.key, Object.values(attribute.value)[0]])),
        })),
      ),
    ),
  );

describe('with OTEL_EXPORTER_OTLP_ENDPOINT set', () => {
  let service: ServiceProcess;
  let spans: ExportedSpan[];
  const seen: string[] = [];

  beforeAll(async () => {
    service = await startServiceProcess({
      DATABASE_URL: seeding.db.url,
      MIGRATE_ON_START: 'false',
      SEAT_BUDGET: '100',
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${(receiver.address() as { port: number }).port}`,
      OTEL_SERVICE_NAME: 'embedgate-under-test',
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
    // What must never be exported: the keys, the tokens, the emails, the launch link's id, the secrets.
    const launchedJwt = new URL(launch.location!).searchParams.get('jwt')!;
    seen.push(appKey, guest.body.token, sso.body.jwt, direct.body.jwt, launchedJwt, new URL(sso.body.url).pathname.split('/').pop()!);
    seen.push('ana@acme.example', 'bo@globex.example', 'cy@globex.example', ...Object.values(TEST_SECRETS));
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
    const byId = new Map(trace.map((span) => [span.spanId, span]));
    for (const span of trace) {
      let root = span;
      while (root.parentSpanId && byId.has(root.parentSpanId)) root = byId.get(root.parentSpanId)!;
      expect(root.spanId).toBe(server!.spanId);
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
    // test/support/process.ts may hold a line twice (two listeners on standard output): each once here.
    const lines = [...new Set(service.output)].filter((line) => line.startsWith('{')).map((line) => JSON.parse(line));
    const completed = lines.filter((line) => line.msg === 'request completed' && String(line.reqId).startsWith('trace-'));
    expect(completed.map((line) => line.reqId).sort()).toEqual(['trace-guest', 'trace-sso']);
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

describe('what a span may carry of a URL', () => {
  it.each([
    ['/v1/launch/abc123', '/v1/launch/[redacted]'],
    ['/v1/viewer-sessions/exchange/xyz?returnTo=/x', '/v1/viewer-sessions/exchange/[redacted]?returnTo=*'],
    ['/v1/seats?tenant=acme&cursor=e30', '/v1/seats?tenant=*&cursor=*'],
    ['https://user:pw@metabase.example/api/user?query=ana@acme.example#x', 'https://metabase.example/api/user?query=*'],
    ['/v1/embeds', '/v1/embeds'],
  ])('%s becomes %s', (url, safe) => {
    expect(safeUrl(url)).toBe(safe);
  });
});

describe('what an exported span keeps', () => {
  const spanOf = (kind: number, attributes: Record<string, unknown>) => {
    const span = {
      kind,
      attributes: { ...attributes },
      events: [
        { name: 'exception', attributes: { 'exception.type': 'ApiError', 'exception.message': 'bo@globex.example', 'exception.stacktrace': 'ApiError: bo@…' } },
      ],
      setAttribute(key: string, value: unknown) {
        (span.attributes as Record<string, unknown>)[key] = value;
      },
    };
    return span;
  };
  const metabase = new Set(['https://metabase.test.example']);

  it('an outgoing call keeps its path only to Metabase: a webhook target’s path may hold its token', () => {
    const webhook = spanOf(2, {
      'url.full': 'https://hooks.example.com/services/T0/B0/s3cr3t?x=1',
      'url.path': '/services/T0/B0/s3cr3t',
      'server.address': 'hooks.example.com',
    });
    redactSpan(webhook, metabase);
    expect(webhook.attributes).toEqual({
      'url.full': 'https://hooks.example.com/[redacted]?x=*',
      'url.path': '/[redacted]',
      'server.address': 'hooks.example.com',
    });
    const lookup = spanOf(2, { 'url.full': 'https://metabase.test.example/api/user/42?query=ana@acme.example' });
    redactSpan(lookup, metabase);
    expect(lookup.attributes['url.full']).toBe('https://metabase.test.example/api/user/42?query=*');
  });

  it('an exception keeps its type only', () => {
    const span = spanOf(1, { 'url.path': '/v1/embeds' });
    redactSpan(span, metabase);
    expect(span.events).toEqual([{ name: 'exception', attributes: { 'exception.type': 'ApiError' } }]);
    expect(span.attributes['url.path']).toBe('/v1/embeds');
  });
});
