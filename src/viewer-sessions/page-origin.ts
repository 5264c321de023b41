import { ApiError } from '../common/api-error.js';

type Headers = Record<string, string | string[] | undefined>;

/**
 * The origin of the page a browser request comes from, as the browser tells it: `Origin` (sent on
 * every cross-origin fetch and every POST), else the origin of `Referer` (sent on navigations unless
 * the page said no-referrer). Null when the request says nothing (a server, a typed URL); a request
 * the browser marks cross-site or same-site that says nothing is refused, since its page is unknown.
 */
export function claimedPageOrigin(headers: Headers): string | null {
  const origin = headers.origin;
  if (typeof origin === 'string' && origin !== 'null') return origin;
  if (origin !== undefined) throw new ApiError(403, 'origin_not_allowed', 'the page’s origin is opaque or repeated');
  const referer = headers.referer;
  if (typeof referer === 'string') {
    try {
      return new URL(referer).origin;
    } catch {
      throw new ApiError(403, 'origin_not_allowed', 'the Referer is not a URL');
    }
  }
  const site = headers['sec-fetch-site'];
  if (site === 'cross-site' || site === 'same-site') {
    throw new ApiError(403, 'origin_not_allowed', 'a cross-site request that names no page (no Origin, no Referer) is refused');
  }
  return null;
}
