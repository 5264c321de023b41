// @ts-check
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { createEmbedgateClient, createJwtProviderHandler, EmbedgateError } from '@embedgate/client';
import { dashboardPage, signInPage } from './pages.js';

/**
 * @typedef {import('node:http').IncomingMessage} IncomingMessage
 * @typedef {import('node:http').ServerResponse} ServerResponse
 * @typedef {import('./config.js').HostAppConfig} HostAppConfig
 * @typedef {import('./config.js').DemoUser} DemoUser
 * @typedef {{ viewer: DemoUser, viewerSessionId: string }} HostSession
 */

const SESSION_COOKIE = 'host_session';
const FORM_LIMIT_BYTES = 4096;

/** @param {IncomingMessage} request */
function sessionIdOf(request) {
  return /(?:^|;\s*)host_session=([A-Za-z0-9_-]{43})(?:;|$)/.exec(request.headers.cookie ?? '')?.[1];
}

/** @param {IncomingMessage} request @returns {Promise<URLSearchParams>} */
async function formOf(request) {
  let size = 0;
  const chunks = [];
  for await (const chunk of request) {
    size += chunk.length;
    if (size > FORM_LIMIT_BYTES) throw new Error('form too large');
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

/**
 * @param {ServerResponse} response
 * @param {number} status
 * @param {string} html
 * @param {Record<string, string | string[]>} [headers]
 */
function sendHtml(response, status, html, headers = {}) {
  response.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff', ...headers });
  response.end(html);
}

/** @param {ServerResponse} response @param {string} location @param {Record<string, string | string[]>} [headers] */
function redirect(response, location, headers = {}) {
  response.writeHead(303, { location, 'cache-control': 'no-store', ...headers });
  response.end();
}

/**
 * A node:http request as a Fetch API Request (what createJwtProviderHandler takes).
 * @param {IncomingMessage} request
 * @param {string} base
 */
function fetchRequestOf(request, base) {
  const headers = new Headers();
  for (const [name, value] of Object.entries(request.headers)) {
    for (const one of [value ?? []].flat()) headers.append(name, one);
  }
  return new Request(new URL(request.url ?? '/', base), { method: request.method, headers });
}

/**
 * The host app: a sign-in form, a dashboard page, sign-out, and (for SSO_PROVIDER=host) its own JWT provider route.
 * @param {HostAppConfig} config
 * @param {{ log?: (line: string) => void }} [options]
 */
export function createHostApp(config, options = {}) {
  const log = options.log ?? ((line) => process.stdout.write(`${line}\n`));
  const embedgate = createEmbedgateClient({ baseUrl: config.embedgateUrl, apiKey: config.appKey });
  /** The host's own sessions (in memory: a real app has its own). @type {Map<string, HostSession>} */
  const sessions = new Map();
  const secureCookie = config.hostUrl.startsWith('https:') ? '; Secure' : '';

  // The proxy alternative to embedgate's /v1/sdk/sso: the viewer is whoever is signed in here.
  const jwtProvider = createJwtProviderHandler(embedgate, {
    resolveUser: (request) => {
      const id = /(?:^|;\s*)host_session=([A-Za-z0-9_-]{43})(?:;|$)/.exec(request.headers.get('cookie') ?? '')?.[1];
      const session = id ? sessions.get(id) : undefined;
      return session ? { tenant: session.viewer.tenant, user: session.viewer.user } : null;
    },
  });

  /** @param {IncomingMessage} request @param {ServerResponse} response */
  async function signIn(request, response) {
    const chosen = config.users[Number((await formOf(request)).get('user'))];
    if (!chosen) return sendHtml(response, 400, signInPage(config, 'Choose a user.'));
    // One backend call: a viewer session for this user, whose exchange URL brings the browser back to the dashboard.
    const viewerSession = await embedgate.createViewerSession({ tenant: chosen.tenant, user: chosen.user, returnTo: `${config.hostUrl}/dashboard` });
    const id = randomBytes(32).toString('base64url');
    sessions.set(id, { viewer: chosen, viewerSessionId: viewerSession.id });
    // The browser goes through embedgate's one-time exchange URL: it sets embedgate's cookie and answers 303 to returnTo.
    redirect(response, viewerSession.url, { 'set-cookie': `${SESSION_COOKIE}=${id}; Path=/; HttpOnly; SameSite=Lax${secureCookie}` });
  }

  /** @param {ServerResponse} response @param {HostSession} session */
  async function dashboard(response, session) {
    const { tenant, user } = session.viewer;
    // Guest or SSO is embedgate's decision; asking beforehand (no token, no seat) tells the page which embed.js mode to use.
    const [decision, resources] = await Promise.all([embedgate.explainEmbed({ tenant, user, resource: config.dashboard }), embedgate.listResources()]);
    sendHtml(
      response,
      200,
      dashboardPage(
        config,
        session.viewer,
        decision,
        resources.find((r) => r.key === config.dashboard),
      ),
    );
  }

  /** @param {ServerResponse} response @param {string | undefined} id */
  async function signOut(response, id) {
    const session = id ? sessions.get(id) : undefined;
    if (id) sessions.delete(id);
    if (session) {
      // Ends embedgate's viewer session too: its cookie in the browser no longer gets tokens (401).
      await embedgate.revokeViewerSession(session.viewerSessionId).catch((error) => {
        if (!(error instanceof EmbedgateError && error.status === 404)) throw error;
      });
    }
    redirect(response, '/', { 'set-cookie': `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0${secureCookie}` });
  }

  /** @param {IncomingMessage} request @param {ServerResponse} response */
  async function route(request, response) {
    const url = new URL(request.url ?? '/', config.hostUrl);
    const id = sessionIdOf(request);
    const session = id ? sessions.get(id) : undefined;
    // Forms are this app's own: a POST from another origin is refused.
    if (request.method === 'POST' && request.headers.origin !== undefined && request.headers.origin !== new URL(config.hostUrl).origin) {
      return sendHtml(response, 403, signInPage(config, 'Refused: that form is not from this site.'));
    }
    if (request.method === 'GET' && url.pathname === '/') return session ? redirect(response, '/dashboard') : sendHtml(response, 200, signInPage(config));
    if (request.method === 'POST' && url.pathname === '/sign-in') return signIn(request, response);
    if (request.method === 'GET' && url.pathname === '/dashboard') return session ? dashboard(response, session) : redirect(response, '/');
    if (request.method === 'POST' && url.pathname === '/sign-out') return signOut(response, id);
    if (url.pathname === '/sso/metabase') {
      const answer = await jwtProvider(fetchRequestOf(request, config.hostUrl));
      response.writeHead(answer.status, Object.fromEntries(answer.headers));
      return response.end(Buffer.from(await answer.arrayBuffer()));
    }
    response.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
    response.end('not found');
  }

  const server = createServer((request, response) => {
    route(request, response).catch((/** @type {unknown} */ error) => {
      const message = error instanceof EmbedgateError ? `embedgate answered ${error.status} ${error.code}: ${error.message}` : 'something went wrong';
      log(`${request.method} ${request.url?.split('?')[0]}: ${error instanceof Error ? error.message : String(error)}`);
      if (!response.headersSent) sendHtml(response, error instanceof EmbedgateError && error.status < 500 ? 400 : 502, signInPage(config, message));
      else response.end();
    });
  });

  return {
    server,
    /** Listens on config.host and config.port; resolves to the address. */
    listen: () =>
      new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(config.port, config.host, () => {
          const address = server.address();
          resolve(typeof address === 'object' && address ? address.port : config.port);
        });
      }),
    close: () => new Promise((resolve) => server.close(() => resolve(undefined))),
  };
}
