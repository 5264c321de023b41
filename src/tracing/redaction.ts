/**
 * What an exported span may say about a request. The instrumentations record URLs as they came
 * (`http.target`, `http.url`, `url.full`, `url.path`, `url.query`), and a URL can carry a credential
 * (a one-time launch id, a viewer-session exchange code, a webhook target's token in its path) or, in
 * its query, anything a caller put there (an email, a misplaced key). They also copy error text into
 * spans (the status message, exception events: a JSON parser's or Postgres's message quotes the input),
 * and SQL as it was sent. So before a span is exported:
 * - an attribute is kept only if it is known below (from the sources of instrumentation-http, -undici,
 *   -pg, -ioredis and @fastify/otel) to hold a name, a number or an address; anything else (user
 *   agents, headers, bound values, what a new instrumentation adds) is dropped;
 * - URL attributes lose credential path segments, query values and user info, and the URLs of outgoing
 *   calls keep their path only for the origins we know carry none there (Metabase's);
 * - SQL loses its literals (`$1` parameters stay), a Redis command keeps its name only;
 * - the status keeps its code, not its message; events keep their name, and an exception its type only.
 * embedgate's own attributes (src/tracing/spans.ts) are names and enumerations by construction.
 */

import { isIP } from 'node:net';
import { CREDENTIAL_PATHS } from '../logging/logger.js';

/** How an attribute's value is exported. */
type AttributeRule = 'kept' | 'url' | 'query' | 'statement' | 'host';

const rules = (rule: AttributeRule, keys: string[]) => keys.map((key): [string, AttributeRule] => [key, rule]);

/** The attributes the instrumentations set that may be exported, and how; the older semantic conventions' names too (OTEL_SEMCONV_STABILITY_OPT_IN). */
const ATTRIBUTE_RULES: ReadonlyMap<string, AttributeRule> = new Map([
  ...rules('kept', [
    'http.request.method',
    'http.response.status_code',
    'http.route',
    'url.scheme',
    'server.port',
    'network.peer.port',
    'network.protocol.name',
    'network.protocol.version',
    'network.transport',
    'error.type',
    'db.system.name',
    'db.namespace',
    'db.operation.name',
    'db.postgresql.plan',
    'db.postgresql.idle.timeout.millis',
    'db.postgresql.max.client',
    'fastify.root',
    'fastify.type',
    'hook.name',
    'hook.callback.name',
    'http.method',
    'http.status_code',
    'http.scheme',
    'http.flavor',
    'net.host.port',
    'net.peer.port',
    'net.transport',
    'db.system',
    'db.name',
  ]),
  ...rules('url', ['http.url', 'http.target', 'url.full', 'url.path', 'url.original', 'http.request.url']),
  ...rules('query', ['url.query']),
  ...rules('statement', ['db.query.text', 'db.statement']),
  // From the Host, Forwarded or X-Forwarded-For header on an incoming request: whatever a caller sent.
  ...rules('host', ['server.address', 'client.address', 'network.peer.address', 'net.host.name', 'net.peer.name', 'net.peer.ip', 'http.client_ip']),
]);
/** embedgate's own attributes: see ATTR in spans.ts. */
const OWN_ATTRIBUTES = 'embedgate.';

const ORIGIN = /^([a-z][a-z0-9+.-]*:\/\/)(?:[^@/?#]*@)?([^/?#]*)/i;
const HOST_NAME = /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*$/i;
/**
 * In SQL, read left to right: a quoted identifier, a comment, a string literal (`'…'`, or `E'…'` where
 * a backslash escapes a quote) or a dollar-quoted one (`$tag$…$tag$`), unterminated ones too.
 * Identifiers and comments are matched so that a quote inside them is not taken for the start of a literal.
 */
const SQL_TOKEN =
  /"(?:[^"]|"")*"|--[^\n]*|\/\*[\s\S]*?(?:\*\/|$)|\be'(?:[^'\\]|\\[\s\S]|'')*(?:'|$)|'(?:[^']|'')*(?:'|$)|\$([a-z_][a-z0-9_]*)?\$[\s\S]*?(?:\$\1\$|$)/gi;

/** The query with every value masked: `a=*&b=*`. */
export function maskQuery(query: string): string {
  return query
    .split('&')
    .filter(Boolean)
    .map((pair) => `${pair.split('=')[0]}=*`)
    .join('&');
}

/**
 * A URL (absolute, or a path with its query) as a span may carry it. An absolute URL whose origin is
 * not in `pathsOf` (when given) keeps no path at all.
 */
export function safeUrl(url: string, pathsOf?: ReadonlySet<string>): string {
  let origin = '';
  let rest = url;
  const absolute = ORIGIN.exec(url);
  if (absolute) {
    origin = `${absolute[1]}${absolute[2]}`;
    rest = url.slice(absolute[0].length);
  }
  const [pathAndQuery] = rest.split('#', 1);
  const queryAt = pathAndQuery.indexOf('?');
  const path = queryAt === -1 ? pathAndQuery : pathAndQuery.slice(0, queryAt);
  let safePath = path.replace(CREDENTIAL_PATHS, '$1/[redacted]');
  if (origin && pathsOf && !pathsOf.has(origin.toLowerCase()) && safePath.length > 1) safePath = '/[redacted]';
  return queryAt === -1 ? `${origin}${safePath}` : `${origin}${safePath}?${maskQuery(pathAndQuery.slice(queryAt + 1))}`;
}

/**
 * A statement as a span may carry it: Postgres's with `'?'` for each literal and no comments (free text
 * too); any other system's (Redis) its command only.
 */
export function safeStatement(statement: string, system: unknown): string {
  if (system !== 'postgresql') return statement.trim().split(/\s/, 1)[0];
  return statement.replace(SQL_TOKEN, (token) => {
    if (token.startsWith('"')) return token;
    if (token.startsWith('-') || token.startsWith('/')) return ' ';
    // An escape string (E'…', where \' does not end it) keeps its prefix.
    return /^e'/i.test(token) ? "E'?'" : "'?'";
  });
}

const isHost = (value: string) => isIP(value.replace(/^\[(.*)\]$/, '$1')) !== 0 || HOST_NAME.test(value);

/**
 * An attribute's value as it may be exported, undefined when it may not be. `pathsOf`: for an outgoing
 * call, the origins whose paths may be kept; `system`: the span's database system, for a statement.
 */
export function safeAttributeValue(key: string, value: unknown, pathsOf?: ReadonlySet<string>, system?: unknown): unknown {
  const rule = ATTRIBUTE_RULES.get(key) ?? (key.startsWith(OWN_ATTRIBUTES) ? 'kept' : undefined);
  if (rule === 'kept') return value;
  if (rule === undefined || typeof value !== 'string') return undefined;
  switch (rule) {
    case 'url':
      return safeUrl(value, pathsOf);
    case 'query':
      return maskQuery(value);
    case 'statement':
      return safeStatement(value, system);
    case 'host':
      return isHost(value) ? value : undefined;
  }
}

interface MutableSpan {
  readonly kind: number;
  readonly attributes: Record<string, unknown>;
  setAttribute(key: string, value: never): unknown;
  readonly status: { code: number; message?: string };
  setStatus(status: { code: number }): unknown;
  readonly events: { name: string; attributes?: Record<string, unknown> }[];
}

/** SpanKind.CLIENT: an outgoing call (to Metabase's API, a webhook target). */
const CLIENT = 2;

/**
 * Rewrites a span, before it ends (a span processor's onEnding, while it can still change), into what
 * may be exported (see above). `knownOrigins`: where outgoing paths carry no secret.
 */
export function redactSpan(span: MutableSpan, knownOrigins: ReadonlySet<string> = new Set()): void {
  const pathsOf = span.kind === CLIENT ? knownOrigins : undefined;
  // An outgoing call's `url.path` has no origin of its own: the span's `url.full` tells whose it is.
  const full = span.attributes['url.full'] ?? span.attributes['http.url'];
  const origin = typeof full === 'string' ? ORIGIN.exec(full) : null;
  const pathKept = !pathsOf || (origin !== null && pathsOf.has(`${origin[1]}${origin[2]}`.toLowerCase()));
  const system = span.attributes['db.system.name'] ?? span.attributes['db.system'];
  for (const [key, value] of Object.entries(span.attributes)) {
    let safe = safeAttributeValue(key, value, pathsOf, system);
    if (!pathKept && (key === 'url.path' || key === 'http.target') && typeof safe === 'string' && safe.length > 1) safe = '/[redacted]';
    // The SDK's attributes are a plain object, and the exporter reads it once the span has ended.
    if (safe === undefined) delete span.attributes[key];
    else if (safe !== value) span.setAttribute(key, safe as never);
  }
  // Only an ERROR status has a message (Span.setStatus drops it otherwise): set again without it, the code stays.
  if (span.status.message !== undefined) span.setStatus({ code: span.status.code });
  for (const event of span.events) {
    const type = event.attributes?.['exception.type'];
    event.attributes = event.name === 'exception' && typeof type === 'string' ? { 'exception.type': type } : {};
  }
}
