import querystring from 'fast-querystring';

/** Set on a parsed query whose percent-encoding was not valid UTF-8: the first such parameter's name. */
export const MALFORMED_QUERY = Symbol('malformed query');

/**
 * Fastify's query parser (fast-querystring) keeps a malformed percent-encoding (`%FF`, an encoded
 * lone surrogate) as the literal text, so `?type=%C0%80` would quietly search for "%C0%80". This one
 * decodes strictly and marks such a query, which checkUrlText refuses with a 400; it never throws
 * (it runs inside the router).
 */
export function parseQueryStrictly(text: string): Record<string, unknown> {
  const parsed = querystring.parse(text) as Record<string, unknown>;
  for (const pair of text.split('&')) {
    try {
      decodeURIComponent(pair.replace(/\+/g, ' '));
    } catch {
      const name = pair.split('=')[0];
      let decodedName = 'query';
      try {
        decodedName = decodeURIComponent(name);
      } catch {
        /* the name itself is malformed: 'query' it is */
      }
      Object.defineProperty(parsed, MALFORMED_QUERY, { value: decodedName.slice(0, 100), enumerable: false });
      break;
    }
  }
  return parsed;
}
