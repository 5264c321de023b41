import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { tracing } from '@opentelemetry/sdk-node';
import { RedactingSpanProcessor } from '../../src/tracing/opentelemetry.js';
import { redactSpan, safeStatement, safeUrl } from '../../src/tracing/redaction.js';

// What an exported span may carry (src/tracing/redaction.ts), on spans made by hand as the
// instrumentations make them (their sources in node_modules), and on the SDK's own spans.

const METABASE = new Set(['https://metabase.test.example']);

/** A span as the SDK holds it before it ends: attributes, status and events, mutable. */
const spanOf = (kind: number, attributes: Record<string, unknown>, status: { code: number; message?: string } = { code: SpanStatusCode.UNSET }) => {
  const span = {
    kind,
    attributes: { ...attributes },
    status,
    events: [] as { name: string; attributes?: Record<string, unknown> }[],
    setAttribute(key: string, value: unknown) {
      span.attributes[key] = value;
    },
    setStatus(next: { code: number; message?: string }) {
      span.status = next;
    },
  };
  return span;
};

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

  it('an outgoing call keeps its path only to Metabase: a webhook target’s path may hold its token', () => {
    const webhook = spanOf(SpanKind.CLIENT, {
      'url.full': 'https://hooks.example.com/services/T0/B0/s3cr3t?x=1',
      'url.path': '/services/T0/B0/s3cr3t',
      'server.address': 'hooks.example.com',
    });
    redactSpan(webhook, METABASE);
    expect(webhook.attributes).toEqual({
      'url.full': 'https://hooks.example.com/[redacted]?x=*',
      'url.path': '/[redacted]',
      'server.address': 'hooks.example.com',
    });
    const lookup = spanOf(SpanKind.CLIENT, { 'url.full': 'https://metabase.test.example/api/user/42?query=ana@acme.example' });
    redactSpan(lookup, METABASE);
    expect(lookup.attributes['url.full']).toBe('https://metabase.test.example/api/user/42?query=*');
  });
});

describe('what an error leaves on a span', () => {
  it('a status keeps its code, not its message (a JSON parser or Postgres quoting the input)', () => {
    const request = spanOf(
      SpanKind.INTERNAL,
      { 'url.path': '/v1/embeds' },
      { code: SpanStatusCode.ERROR, message: `Unexpected token 'e', ..."piKey": egk_0123456"... is not valid JSON` },
    );
    redactSpan(request, METABASE);
    expect(request.status).toEqual({ code: SpanStatusCode.ERROR });
    const unset = spanOf(SpanKind.INTERNAL, {});
    redactSpan(unset, METABASE);
    expect(unset.status).toEqual({ code: SpanStatusCode.UNSET });
  });

  it('a failed Postgres statement (instrumentation-pg) keeps its SQLSTATE and its parameterised SQL only', () => {
    const query = spanOf(
      SpanKind.CLIENT,
      {
        'db.system.name': 'postgresql',
        'db.namespace': 'embedgate',
        'server.address': '127.0.0.1',
        'server.port': 5432,
        'db.query.text': 'SELECT id FROM seats WHERE id = $1::uuid',
        'db.postgresql.plan': 'seat-by-id',
        // Only with enhancedDatabaseReporting: the bound values.
        'db.postgresql.values': ['ana@acme.example'],
        'error.type': '22P02',
      },
      { code: SpanStatusCode.ERROR, message: 'invalid input syntax for type uuid: "ana@acme.example"' },
    );
    // What instrumentation-pg records: a string (its sanitizedErrorMessage), so an event without exception.type.
    query.events.push({ name: 'exception', attributes: { 'exception.message': "PostgreSQL error of type 'error' occurred (code: 22P02)" } });
    redactSpan(query, METABASE);
    expect(query.attributes).toEqual({
      'db.system.name': 'postgresql',
      'db.namespace': 'embedgate',
      'server.address': '127.0.0.1',
      'server.port': 5432,
      'db.query.text': 'SELECT id FROM seats WHERE id = $1::uuid',
      'db.postgresql.plan': 'seat-by-id',
      'error.type': '22P02',
    });
    expect(query.status).toEqual({ code: SpanStatusCode.ERROR });
    expect(query.events).toEqual([{ name: 'exception', attributes: {} }]);
  });

  it('an exception keeps its type only; any other event keeps its name only', () => {
    const span = spanOf(SpanKind.SERVER, { 'url.path': '/v1/embeds' });
    span.events.push(
      { name: 'exception', attributes: { 'exception.type': 'ApiError', 'exception.message': 'bo@globex.example', 'exception.stacktrace': 'ApiError: bo@…' } },
      { name: 'retry', attributes: { reason: 'bo@globex.example' } },
    );
    redactSpan(span, METABASE);
    expect(span.events).toEqual([
      { name: 'exception', attributes: { 'exception.type': 'ApiError' } },
      { name: 'retry', attributes: {} },
    ]);
    expect(span.attributes['url.path']).toBe('/v1/embeds');
  });
});

describe('what a statement keeps', () => {
  it.each([
    [
      'parameters as they are',
      'SELECT 1 FROM app_tenants WHERE app_id = $1 AND tenant_id = $2::uuid',
      'SELECT 1 FROM app_tenants WHERE app_id = $1 AND tenant_id = $2::uuid',
    ],
    [
      'quoted identifiers as they are',
      `SELECT "public"."Tenant"."slug" FROM "public"."Tenant" WHERE "slug" = 'acme' LIMIT 1`,
      `SELECT "public"."Tenant"."slug" FROM "public"."Tenant" WHERE "slug" = '?' LIMIT 1`,
    ],
    [
      'no string literal',
      `UPDATE users SET email = E'ana@acme.example', note = 'it''s' WHERE id = 7`,
      `UPDATE users SET email = E'?', note = '?' WHERE id = 7`,
    ],
    [
      'no escape string, a backslash-escaped quote included',
      `UPDATE users SET note = E'it\\'s ana@acme.example', k = e'egk_secret\\\\' WHERE id = 7`,
      `UPDATE users SET note = E'?', k = E'?' WHERE id = 7`,
    ],
    ['no dollar-quoted literal', `DO $body$ BEGIN PERFORM 'ana@acme.example'; END $body$`, `DO '?'`],
    ['no comment, and a quote in one starts no literal', `SELECT 1 -- don't\nWHERE email = 'ana@acme.example'`, `SELECT 1  \nWHERE email = '?'`],
    ['no block comment either', `SELECT 1 /* it's */ FROM t WHERE k = 'egk_secret'`, `SELECT 1   FROM t WHERE k = '?'`],
    ['a quote in an identifier starts no literal', `SELECT "it's" FROM t WHERE k = 'egk_secret'`, `SELECT "it's" FROM t WHERE k = '?'`],
    ['nothing of an unterminated literal', `SELECT 'unterminated egk_secret`, `SELECT '?'`],
  ])('Postgres: keeps %s', (_what, statement, safe) => {
    expect(safeStatement(statement, 'postgresql')).toBe(safe);
  });

  it('Redis: the command only, should its arguments ever be recorded', () => {
    expect(safeStatement('get embedgate:seat:ana@acme.example', 'redis')).toBe('get');
    expect(safeStatement('evalsha', 'redis')).toBe('evalsha');
  });
});

describe('what an outgoing fetch (instrumentation-undici) keeps', () => {
  it('the method, status, address and Metabase path; query values masked; no header, no user agent', () => {
    const call = spanOf(SpanKind.CLIENT, {
      'http.request.method': 'GET',
      'http.request.method_original': 'GET',
      'url.full': 'https://metabase.test.example/api/user?status=all&query=ana%40acme.example',
      'url.path': '/api/user',
      'url.query': '?status=all&query=ana%40acme.example',
      'url.scheme': 'https',
      'server.address': 'metabase.test.example',
      'server.port': 443,
      'user_agent.original': 'node',
      'network.peer.address': '10.0.0.7',
      'network.peer.port': 443,
      'network.protocol.version': '1.1',
      // Only with headersToSpanAttributes: Metabase's calls carry x-api-key.
      'http.request.header.x-api-key': ['mb_0123456789abcdef'],
      'http.response.header.set-cookie': ['metabase.SESSION=0123456789abcdef'],
      'http.response.status_code': 200,
    });
    redactSpan(call, METABASE);
    expect(call.attributes).toEqual({
      'http.request.method': 'GET',
      'url.full': 'https://metabase.test.example/api/user?status=*&query=*',
      'url.path': '/api/user',
      'url.query': '?status=*&query=*',
      'url.scheme': 'https',
      'server.address': 'metabase.test.example',
      'server.port': 443,
      'network.peer.address': '10.0.0.7',
      'network.peer.port': 443,
      'network.protocol.version': '1.1',
      'http.response.status_code': 200,
    });
  });

  it('to an origin not known (an OIDC issuer), no path', () => {
    const call = spanOf(SpanKind.CLIENT, {
      'url.full': 'https://idp.example.com/tenant-9f3a/.well-known/openid-configuration',
      'url.path': '/tenant-9f3a/.well-known/openid-configuration',
    });
    redactSpan(call, METABASE);
    expect(call.attributes).toEqual({ 'url.full': 'https://idp.example.com/[redacted]', 'url.path': '/[redacted]' });
  });
});

describe('what else a span keeps', () => {
  it('embedgate’s own attributes, and no attribute it does not know', () => {
    const span = spanOf(SpanKind.INTERNAL, {
      'embedgate.tenant': 'acme',
      'embedgate.token.ttl_seconds': 600,
      'enduser.id': 'ana@acme.example',
      'db.connection_string': 'postgresql://u:pw@db/x',
    });
    redactSpan(span, METABASE);
    expect(span.attributes).toEqual({ 'embedgate.tenant': 'acme', 'embedgate.token.ttl_seconds': 600 });
  });

  it('a caller’s Host or X-Forwarded-For only when it is a host name or an address; no user agent', () => {
    const server = spanOf(SpanKind.SERVER, {
      'server.address': 'embedgate.example.com',
      'client.address': '2001:db8::1',
      'user_agent.original': 'Mozilla/5.0 (ana@acme.example)',
    });
    redactSpan(server, METABASE);
    expect(server.attributes).toEqual({ 'server.address': 'embedgate.example.com', 'client.address': '2001:db8::1' });
    const forged = spanOf(SpanKind.SERVER, { 'server.address': 'ana@acme.example', 'client.address': 'egk_0123456789abcdef' });
    redactSpan(forged, METABASE);
    expect(forged.attributes).toEqual({});
  });
});

describe('RedactingSpanProcessor, on the SDK’s spans', () => {
  it('redacts in onEnding, before the span is ended and exported', async () => {
    const exporter = new tracing.InMemorySpanExporter();
    const provider = new tracing.BasicTracerProvider({
      spanProcessors: [new RedactingSpanProcessor(METABASE), new tracing.SimpleSpanProcessor(exporter)],
    });
    const span = provider.getTracer('test').startSpan('pg.query:SELECT embedgate', {
      kind: SpanKind.CLIENT,
      attributes: { 'db.system.name': 'postgresql', 'db.query.text': "SELECT 1 WHERE k = 'egk_secret'", 'user_agent.original': 'x' },
    });
    span.recordException(Object.assign(new Error('invalid input syntax for type uuid: "ana@acme.example"'), { code: '22P02' }));
    span.setStatus({ code: SpanStatusCode.ERROR, message: 'invalid input syntax for type uuid: "ana@acme.example"' });
    span.end();
    await provider.forceFlush();
    const [exported] = exporter.getFinishedSpans();
    expect(exported.attributes).toEqual({ 'db.system.name': 'postgresql', 'db.query.text': "SELECT 1 WHERE k = '?'" });
    expect(exported.status).toEqual({ code: SpanStatusCode.ERROR });
    expect(exported.events.map(({ name, attributes }) => ({ name, attributes }))).toEqual([{ name: 'exception', attributes: { 'exception.type': '22P02' } }]);
    await provider.shutdown();
  });
});
