/**
 * What an exported span may say about a request. The instrumentations record URLs as they came
 * (`http.target`, `http.url`, `url.full`, `url.path`, `url.query`), and a URL can carry a credential
 * (a one-time launch id, a viewer-session exchange code, a webhook target's token in its path) or, in
 * its query, anything a caller put there (an email, a misplaced key). Exceptions recorded on spans
 * quote their messages, which may quote input. So before a span is exported: URL attributes lose
 * credential path segments, query values and user info, and the URLs of outgoing calls keep their path
 * only for the origins we know carry none there (Metabase's); exception events keep their type only.
 * embedgate's own attributes (src/tracing/spans.ts) are names and enumerations by construction.
 */

import { CREDENTIAL_PATHS } from '../logging/logger.js';

/** Attributes whose value is a URL, a path, or a path with its query. */
const URL_ATTRIBUTES = new Set(['http.url', 'http.target', 'url.full', 'url.path', 'url.original', 'http.request.url']);
/** Attributes whose value is a query string without its `?`. */
const QUERY_ATTRIBUTES = new Set(['url.query']);
const REDACTED_ATTRIBUTES = [...URL_ATTRIBUTES, ...QUERY_ATTRIBUTES];
const ORIGIN = /^([a-z][a-z0-9+.-]*:\/\/)(?:[^@/?#]*@)?([^/?#]*)/i;

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

/** An attribute's value as it may be exported; `pathsOf`: for an outgoing call, the origins whose paths may be kept. */
export function safeAttributeValue(key: string, value: unknown, pathsOf?: ReadonlySet<string>): unknown {
  if (typeof value !== 'string') return value;
  if (URL_ATTRIBUTES.has(key)) return safeUrl(value, pathsOf);
  if (QUERY_ATTRIBUTES.has(key)) return maskQuery(value);
  return value;
}

interface MutableSpan {
  readonly kind: number;
  readonly attributes: Record<string, unknown>;
  setAttribute(key: string, value: never): unknown;
  readonly events: { name: string; attributes?: Record<string, unknown> }[];
}

/** SpanKind.CLIENT: an outgoing call (to Metabase's API, a webhook target). */
const CLIENT = 2;

/** Rewrites a span, before it ends, into what may be exported (see above). `knownOrigins`: where outgoing paths carry no secret. */
export function redactSpan(span: MutableSpan, knownOrigins: ReadonlySet<string> = new Set()): void {
  const pathsOf = span.kind === CLIENT ? knownOrigins : undefined;
  // An outgoing call's `url.path` has no origin of its own: the span's `url.full` tells whose it is.
  const full = span.attributes['url.full'] ?? span.attributes['http.url'];
  const origin = typeof full === 'string' ? ORIGIN.exec(full) : null;
  const pathKept = !pathsOf || (origin !== null && pathsOf.has(`${origin[1]}${origin[2]}`.toLowerCase()));
  // Only the URL attributes can change: look those up rather than walk every attribute of every span.
  for (const key of REDACTED_ATTRIBUTES) {
    const value = span.attributes[key];
    if (value === undefined) continue;
    let safe = safeAttributeValue(key, value, pathsOf);
    if (!pathKept && (key === 'url.path' || key === 'http.target') && typeof safe === 'string' && safe.length > 1) safe = '/[redacted]';
    if (safe !== value) span.setAttribute(key, safe as never);
  }
  for (const event of span.events) {
    if (event.name === 'exception' && event.attributes) {
      event.attributes = { 'exception.type': event.attributes['exception.type'] };
    }
  }
}
