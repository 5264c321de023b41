import { ApiError } from '../common/api-error.js';

type Headers = Record<string, string | string[] | undefined>;

/**
 * A provider call made by a browser must come from a host page on CORS_ORIGINS (or from embedgate's
 * own origin). Browsers send `Origin` on every cross-origin fetch and every POST; a request without
 * one that the browser marks cross-site or same-site (an <img>, a link, a form from another page) is
 * refused too: with the viewer's cookie it would take a seat on a page the viewer never opened.
 * Calls from servers (no Origin, no Sec-Fetch-Site) pass: they hold an OIDC token or no cookie.
 */
export function refuseForeignOrigin(headers: Headers, allowed: readonly string[], ownOrigin: string): void {
  const origin = headers.origin;
  const site = headers['sec-fetch-site'];
  if (typeof origin === 'string') {
    if (origin !== 'null' && (origin === ownOrigin || allowed.includes(origin))) return;
    throw new ApiError(403, 'origin_not_allowed', `the page's origin ${origin === 'null' ? '(opaque)' : origin} is not one of CORS_ORIGINS`);
  }
  if (origin !== undefined) throw new ApiError(403, 'origin_not_allowed', 'one Origin header is expected');
  if (site === 'cross-site' || site === 'same-site') {
    throw new ApiError(403, 'origin_not_allowed', 'a cross-site request without an Origin (a link, an image, a form) gets no token');
  }
}
