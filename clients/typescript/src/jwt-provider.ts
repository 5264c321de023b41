import { EmbedgateError, type EmbedgateClient } from './client.js';
import type { ErrorBody, SsoJwtRequest } from './types.js';

export interface JwtProviderOptions {
  /**
   * The host's signed-in user, from the request (its session cookie, its bearer token…), with their tenant:
   * `{tenant, user: {id, email, …}}`. `null` when nobody is signed in (the handler answers 401).
   * Never take the tenant or the user from the request's query or body: the browser would choose them.
   */
  resolveUser(request: Request): Promise<SsoJwtRequest | null> | SsoJwtRequest | null;
}

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' } });

const failure = (status: number, code: string, message: string): Response => json(status, { error: { code, message } } satisfies ErrorBody);

/**
 * A JWT provider route for hosts that prefer their own origin to embedgate's provider endpoints (set it as
 * Metabase's JWT identity provider URI, or as `jwtProviderUri`): Metabase's SDK and embed.js call it with
 * `GET …?response=json` and the page's cookies, and it answers `{jwt}` from `POST /v1/sso/jwt` for the
 * host's signed-in user. embedgate's refusals are handed on with their status (a 403 carries the decision,
 * `sso-not-granted` for a user routed to guest embeds); embedgate out of reach is a 502.
 *
 * A Fetch API handler: mount it as is where handlers take a Request (Next.js route handlers, Hono, Bun,
 * Deno), or adapt it to node:http (examples/host-app does).
 */
export function createJwtProviderHandler(client: EmbedgateClient, options: JwtProviderOptions): (request: Request) => Promise<Response> {
  return async (request) => {
    if (request.method !== 'GET') return new Response(null, { status: 405, headers: { allow: 'GET' } });
    const viewer = await options.resolveUser(request);
    if (!viewer) return failure(401, 'unauthorized', 'nobody is signed in');
    try {
      return json(200, { jwt: await client.ssoJwt(viewer) });
    } catch (error) {
      if (error instanceof EmbedgateError && error.status >= 400 && error.status < 500) return json(error.status, error.body);
      return failure(502, 'embedgate_unavailable', 'embedgate did not answer with a token');
    }
  };
}
