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
import { WebhookReceiver } from '../support/webhook-receiver.js';

// Tracing, end to end: `node dist/main.js` with OTEL_EXPORTER_OTLP_ENDPOINT pointing at an OTLP/HTTP
// receiver in this test (JSON, as the exporter sends it), and its Metabase API at a fake Metabase. The
// spans must arrive, carry the tenant and the rule, nest under the HTTP request (the Metabase calls
// too), and hold no token, key, email or error message; the logs carry the trace id. The background
// workers' units of work (a usage flush, an outbox job, a webhook delivery attempt) are root spans of
// their own, with their statements and calls under them; their idle polls make none.

interface ExportedSpan {
  scope: string;
  name: string;
  kind: number;
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  /** When it started, in epoch milliseconds. */
  startMs: number;
  attributes: Record<string, unknown>;
  status: { code?: number; message?: string };
  events: { name: string; attributes: Record<string, unknown> }[];
}

/** OTLP's Status.code and Span.kind values. */
const STATUS_ERROR = 2;
const KIND_INTERNAL = 1;
const KIND_SERVER = 2;
const KIND_CLIENT = 3;
const METABASE_API_KEY = `mb_tracing_api_key_${randomBytes(12).toString('hex')}`;
rememberSecret(METABASE_API_KEY);

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
let seeding: RunningService;
let appKey: string;
let receiver: Server;
let metabase: FakeMetabase;
/** The webhook target: its path holds a token (as some targets' do), and it answers 500, so every delivery fails. */
let hooks: WebhookReceiver;
const HOOK_TOKEN = `hook_${randomBytes(12).toString('hex')}`;
rememberSecret(HOOK_TOKEN);
let webhookId: string;
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
  // This in-process instance's webhook worker waits a minute before its first poll: the deliveries are the traced process's.
  seeding = await startService({ SEAT_BUDGET: '100', WEBHOOK_ALLOW_HTTP_LOCALHOST: 'true', WEBHOOK_POLL_INTERVAL_MS: '60000' });
  const apps = await seed(seeding.admin, {
    tenants: [
      { slug: 'globex', name: 'Globex', kind: 'internal', tier: 'drill', customerId: 'globex-002' },
      { slug: 'acme', name: 'Acme', kind: 'external', tier: 'view', customerId: 'acme-001' },
    ],
    resources: [{ key: 'sales-overview', type: 'dashboard', metabaseId: 42, tenantParam: 'customer_id', guest: true }],
    apps: { host: { tenants: ['globex', 'acme'] } },
  });
  appKey = apps.host.key!;
  hooks = await new WebhookReceiver().start(`/hooks/${HOOK_TOKEN}`);
  hooks.status = 500;
  const webhook = await seeding.admin.post('/v1/webhooks', { url: hooks.url, events: ['seat.allocated', 'seat.released'] });
  expect(webhook.status).toBe(201);
  hooks.trust(webhook.body.secret);
  webhookId = webhook.body.id;
}, 60_000);

afterAll(async () => {
  await seeding?.stop();
  await metabase?.stop();
  await hooks?.stop();
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
          startMs: Number(BigInt(span.startTimeUnixNano) / 1_000_000n),
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

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until `condition` holds (what the service process does in the background). */
async function until(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

describe('with OTEL_EXPORTER_OTLP_ENDPOINT set', () => {
  let service: ServiceProcess;
  let spans: ExportedSpan[];
  /** From then on the workers had nothing to do, until the service stopped. */
  let idleFrom: number;
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
      // The background workers, quick: the usage flush, the outbox (Metabase deactivations), webhook deliveries (one attempt each).
      USAGE_FLUSH_SECONDS: '1',
      OUTBOX_INTERVAL_SECONDS: '1',
      WEBHOOK_ALLOW_HTTP_LOCALHOST: 'true',
      WEBHOOK_POLL_INTERVAL_MS: '100',
      WEBHOOK_MAX_ATTEMPTS: '1',
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
    seen.push(HOOK_TOKEN, ...hooks.secrets);
    // bo signs in to Metabase, then Globex's seats are released: the outbox deactivates bo there (and finds no cy).
    metabase.ssoLogin(sso.body.jwt);
    const admin = new Api(service.baseUrl, seeding.admin.key);
    const held = await admin.get('/v1/seats?tenant=globex');
    expect(held.body.items.length).toBe(2);
    for (const seat of held.body.items) expect((await admin.delete(`/v1/seats/${seat.id}`)).status).toBe(200);
    const jobsRun = () =>
      service.output
        .filter((line) => line.includes('outbox run:'))
        .reduce((sum, line) => sum + JSON.parse(JSON.parse(line).msg.slice('outbox run: '.length)).claimed, 0);
    await until(() => jobsRun() === 2, 'the outbox to deactivate the released users');
    expect(metabase.requests.filter((request) => request.startsWith('DELETE /api/user/')).length).toBe(1);
    await until(async () => {
      const deliveries = (await seeding.admin.get(`/v1/webhooks/${webhookId}/deliveries`)).body.items as { status: string }[];
      return deliveries.length >= 4 && deliveries.every((delivery) => delivery.status === 'failed');
    }, 'every webhook delivery to be attempted');
    // Past the next usage flush too; then a while with nothing to do: polls every 100 ms (webhooks), every second (outbox, usage).
    await sleep(1_200);
    idleFrom = Date.now();
    await sleep(3_000);
    // SIGTERM: the shutdown exports the spans still buffered.
    expect(await service.stop()).toBe(0);
    const traces = exports.filter((entry) => entry.path === '/v1/traces');
    expect(traces.length).toBeGreaterThan(0);
    spans = spansOf(traces);
    // Nothing more for the instance started next (tracing off) to deliver.
    expect((await seeding.admin.delete(`/v1/webhooks/${webhookId}`)).status).toBe(200);
  }, 90_000);
  // A setup that failed half way leaves the process running: it would keep Jest from exiting.
  afterAll(async () => {
    if (service?.child.exitCode === null) await service.stop('SIGKILL');
  });

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
    // The request's (the workers' Metabase calls have queries too: every value masked, as the request's).
    const listed = spans.find((span) => span.kind === KIND_SERVER && span.attributes['url.query'] !== undefined);
    expect(listed?.attributes['url.query']).toBe('limit=*');
    const queries = spans.map((span) => span.attributes['url.query']).filter((query) => query !== undefined);
    expect(queries.flatMap((query) => String(query).replace(/^\?/, '').split('&')).filter((pair) => pair && !pair.endsWith('=*'))).toEqual([]);
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

  describe('the background workers', () => {
    const workers = () => spans.filter((span) => span.name.startsWith('embedgate.worker.'));
    const childrenOf = (parent: ExportedSpan) => spans.filter((span) => span.parentSpanId === parent.spanId);
    const scopesUnder = (parent: ExportedSpan) => childrenOf(parent).map((span) => span.scope);

    it('make each unit of work a root span embedgate.worker.<name>, INTERNAL, with counts and enumerations only', () => {
      expect([...new Set(workers().map((span) => span.name))]).toEqual(
        expect.arrayContaining(['embedgate.worker.usage', 'embedgate.worker.outbox', 'embedgate.worker.webhooks']),
      );
      for (const span of workers()) {
        expect({ name: span.name, parent: span.parentSpanId, kind: span.kind }).toEqual({ name: span.name, parent: undefined, kind: KIND_INTERNAL });
        expect(span.attributes['embedgate.worker']).toBe(span.name.slice('embedgate.worker.'.length));
        for (const [key, value] of Object.entries(span.attributes)) {
          expect({ key, allowed: key.startsWith('embedgate.') || key === 'error.type' }).toEqual({ key, allowed: true });
          expect({ key, value, enumeration: typeof value === 'number' || /^[A-Za-z0-9_]+$/.test(String(value)) }).toEqual({ key, value, enumeration: true });
        }
      }
    });

    it('put a usage flush statements under its span', () => {
      const flushes = workers().filter((span) => span.name === 'embedgate.worker.usage');
      expect(flushes.length).toBeGreaterThan(0);
      const embeds = flushes.reduce((sum, span) => sum + Number(span.attributes['embedgate.embeds'] ?? 0), 0);
      // ana's, bo's and cy's embeds.
      expect(embeds).toBe(3);
      for (const flush of flushes) expect(scopesUnder(flush)).toContain('@opentelemetry/instrumentation-pg');
    });

    it("put an outbox job's statements and Metabase calls (the lookup, the deactivation) under its span", () => {
      const jobs = workers().filter((span) => span.name === 'embedgate.worker.outbox');
      expect(jobs.map((span) => span.attributes)).toEqual([
        { 'embedgate.worker': 'outbox', 'embedgate.attempt': 1, 'embedgate.outcome': 'done' },
        { 'embedgate.worker': 'outbox', 'embedgate.attempt': 1, 'embedgate.outcome': 'done' },
      ]);
      for (const job of jobs) expect(scopesUnder(job)).toContain('@opentelemetry/instrumentation-pg');
      const calls = jobs.flatMap(childrenOf).filter((span) => span.scope === '@opentelemetry/instrumentation-undici');
      expect(calls.map((call) => `${call.attributes['http.request.method']} ${call.attributes['url.path']}`).sort()).toEqual([
        expect.stringMatching(/^DELETE \/api\/user\/\d+$/),
        'GET /api/user',
        'GET /api/user',
      ]);
    });

    it("put a webhook delivery attempt's POST (its path redacted) and its statements under its span, and its log line carries its trace", () => {
      const attempts = workers().filter((span) => span.name === 'embedgate.worker.webhooks');
      expect(attempts.length).toBe(hooks.received.length);
      for (const attempt of attempts) {
        expect(attempt.attributes).toEqual({ 'embedgate.worker': 'webhooks', 'embedgate.attempt': 1, 'embedgate.outcome': 'failed' });
        expect(attempt.status).toEqual({ code: STATUS_ERROR });
        const post = childrenOf(attempt).find((span) => span.scope === '@opentelemetry/instrumentation-http');
        expect(post?.kind).toBe(KIND_CLIENT);
        expect(post?.attributes['http.response.status_code'] ?? post?.attributes['http.status_code']).toBe(500);
        expect(String(post?.attributes['url.full'] ?? post?.attributes['http.url'])).toBe(`${new URL(hooks.url).origin}/[redacted]`);
        expect(scopesUnder(attempt)).toContain('@opentelemetry/instrumentation-pg');
      }
      const lines = service.output.filter((line) => line.startsWith('{')).map((line) => JSON.parse(line));
      const deadLetters = lines.filter((line) => String(line.msg).includes('failed after 1 attempts'));
      expect(deadLetters.length).toBe(attempts.length);
      for (const line of deadLetters) {
        const attempt = attempts.find((span) => span.traceId === line.traceId);
        expect(attempt?.spanId).toBe(line.spanId);
      }
    });

    it('make no span while they only poll with nothing to do', () => {
      expect(spans.filter((span) => span.startMs >= idleFrom).map((span) => span.name)).toEqual([]);
      // Polled all along (about every 100 ms), and only the attempts made spans.
      expect(workers().filter((span) => span.name === 'embedgate.worker.webhooks').length).toBe(hooks.received.length);
    });
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
