import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { viewerCookieName } from '../../src/viewer-sessions/viewer-sessions.service.js';
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type Browser, type BrowserContext, type Page } from 'playwright-core';
import { ARTIFACTS, describeInBrowser, launchBrowser } from '../support/browser.js';
import { ROOT } from '../support/process.js';
import { TokenRejected, verifyGuestToken, verifySsoToken, type GuestClaims, type SsoClaims } from '../support/metabase-verifier.js';
import { rememberSecret } from '../support/secrets-hygiene.js';
import { freePort, seed, startService, TEST_SECRETS, type RunningService } from '../support/service.js';

/**
 * The example host app (examples/host-app) in Chromium, with embedgate and the host on two ports of localhost:
 * same site, cross-origin, as a host page and embedgate on two subdomains of one site. Metabase cannot run here,
 * so a fake Metabase origin serves a stand-in for embed.js that makes the calls the real one makes, and checks
 * the tokens it receives under Metabase's rules (test/support/metabase-verifier.ts).
 *
 * The calls, from Metabase's source (metabase/metabase):
 * - frontend/src/metabase/embedding/embedding-iframe-sdk/script/embed.ts: window.metabaseConfig ({instanceUrl,
 *   isGuest, guestEmbedProviderUri, jwtProviderUri, fetchRequestToken}); <metabase-dashboard dashboard-id token>
 *   and <metabase-question question-id token> mount an iframe at {instanceUrl}/embed/sdk/v1?embed-js-identifier=N;
 *   on its "metabase.embed.iframeReady", with guestEmbedProviderUri and no token, POST
 *   {guestEmbedProviderUri}?response=json, credentials "include", JSON {entityType, entityId, customContext?}, and
 *   "metabase.embed.setSettings" with the token; on "metabase.embed.requestSessionToken", the SSO sign-in.
 * - enterprise/frontend/src/embedding/auth-common/connect-to-instance-auth-sso.ts (GET {instanceUrl}/auth/sso
 *   discovery, skipped when jwtProviderUri is set) and jwt.ts (GET {provider}?response=json with credentials
 *   "include", expecting {jwt}; then POST {instanceUrl}/auth/sso {jwt} → the session token, sent to the iframe
 *   as "metabase.embed.submitSessionToken").
 *
 * Chromium comes from `apt-get install chromium` (.ci/run does it); without it these tests are skipped with a
 * warning, unless REQUIRE_BROWSER_TESTS=1 makes that a failure. Screenshots go to test/artifacts/.
 */

/** The demo users the host app offers (DEMO_USERS), by their index in its sign-in form. */
const USERS = [
  { tenant: 'acme', user: { id: 'ana', email: 'ana@acme.example', firstName: 'Ana', lastName: 'Ng' } },
  { tenant: 'globex', user: { id: 'bo', email: 'bo@globex.example', firstName: 'Bo', lastName: 'Li' } },
  { tenant: 'globex', user: { id: 'cy', email: 'cy@globex.example', firstName: 'Cy', lastName: 'Ro' } },
];

/** What Metabase's embedding clients do on a page (/work/shared/docs/metabase-sdk-auth.md), run in the page. */
async function callProvidersInPage(embedgate: string) {
  const outcome = async (call: Promise<Response>) => {
    try {
      const response = await call;
      return { status: response.status, body: (await response.json()) as Record<string, any> };
    } catch (error) {
      return { failed: String(error) };
    }
  };
  return {
    sso: await outcome(fetch(`${embedgate}/v1/sdk/sso?response=json`, { credentials: 'include' })),
    guest: await outcome(
      fetch(`${embedgate}/v1/sdk/guest?response=json`, {
        method: 'POST',
        credentials: 'include',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ entityType: 'dashboard', entityId: 1 }),
      }),
    ),
  };
}

/** A stand-in for Metabase's embed.js: the same configuration, elements, messages and provider calls (see above). */
const STUB_EMBED_JS = `(() => {
  let counter = 0;
  const settingKey = (attribute) => attribute.replace(/-([a-z])/g, (_, c) => c.toUpperCase());
  const parse = (value) => (value === '' || value === 'true' ? true : value === 'false' ? false : /^\\d+(\\.\\d+)?$/.test(value) ? Number(value) : value);
  const providerUrl = (uri) => {
    const url = new URL(uri, window.location.origin);
    url.searchParams.set('response', 'json');
    return url.toString();
  };
  const tokenOf = async (response, uri) => {
    if (!response.ok) throw new Error('Failed to fetch JWT token from ' + uri + ', status: ' + response.status + '.');
    const data = JSON.parse(await response.text());
    if (!data || typeof data !== 'object' || typeof data.jwt !== 'string') throw new Error('Your JWT server endpoint must return an object with the shape { jwt: string }');
    return data.jwt;
  };
  class MetabaseEmbedElement extends HTMLElement {
    get properties() {
      const properties = { ...(window.metabaseConfig || {}) };
      for (const attribute of this.constructor.attributeNames) {
        const value = this.getAttribute(attribute);
        if (value !== null) properties[settingKey(attribute)] = parse(value);
      }
      properties.componentName = this.localName;
      return properties;
    }
    connectedCallback() {
      this.style.display = 'block';
      if (this._iframe) return;
      const { instanceUrl } = this.properties;
      if (!instanceUrl) return console.error('[metabase.embed.error] instanceUrl must be provided');
      this._iframe = document.createElement('iframe');
      this._iframe.src = instanceUrl + '/embed/sdk/v1?embed-js-identifier=' + counter++;
      this._iframe.style.cssText = 'width: 100%; min-height: 420px; border: none';
      window.addEventListener('message', (event) => this._handleMessage(event));
      this.appendChild(this._iframe);
    }
    _send(type, data) {
      this._iframe.contentWindow.postMessage({ type, data: JSON.parse(JSON.stringify(data)) }, '*');
    }
    async _handleMessage(event) {
      if (event.source !== this._iframe?.contentWindow || !event.data) return;
      try {
        if (event.data.type === 'metabase.embed.iframeReady') {
          const properties = this.properties;
          if (properties.guestEmbedProviderUri && !properties.token) {
            this._send('metabase.embed.setSettings', { ...properties, token: await this._guestToken(), dashboardId: undefined, questionId: undefined });
          } else {
            this._send('metabase.embed.setSettings', properties);
          }
        }
        if (event.data.type === 'metabase.embed.requestSessionToken') {
          this._send('metabase.embed.submitSessionToken', { authMethod: 'jwt', sessionToken: await this._signIn() });
        }
      } catch (error) {
        this._send('metabase.embed.reportAuthenticationError', { error: String(error.message || error) });
      }
    }
    async _guestToken() {
      const { guestEmbedProviderUri, componentName, dashboardId, questionId } = this.properties;
      const entityType = componentName === 'metabase-dashboard' ? 'dashboard' : 'question';
      const body = { entityType, entityId: entityType === 'dashboard' ? dashboardId : questionId };
      const response = await fetch(providerUrl(guestEmbedProviderUri), {
        method: 'POST',
        credentials: 'include',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
      });
      return tokenOf(response, guestEmbedProviderUri);
    }
    async _signIn() {
      const { instanceUrl, jwtProviderUri, preferredAuthMethod, fetchRequestToken } = this.properties;
      const headers = { 'X-Metabase-Client': 'embedding-simple' };
      let provider = jwtProviderUri;
      if (!provider) {
        const discovery = new URL(instanceUrl + '/auth/sso');
        if (preferredAuthMethod) discovery.searchParams.set('preferred_method', preferredAuthMethod);
        const found = await (await fetch(discovery, { headers })).json();
        if (found.method !== 'jwt') throw new Error('unsupported auth method ' + found.method);
        provider = found.url;
        if (found.hash) headers['X-Metabase-SDK-JWT-Hash'] = found.hash;
      }
      const jwt = fetchRequestToken
        ? (await fetchRequestToken()).jwt
        : await tokenOf(await fetch(providerUrl(provider), { method: 'GET', credentials: 'include' }), provider);
      const session = await fetch(instanceUrl + '/auth/sso', {
        method: 'POST',
        headers: { ...headers, 'Content-Type': 'application/json' },
        body: JSON.stringify({ jwt }),
      });
      if (!session.ok) throw new Error('Failed to fetch JWT token from ' + instanceUrl + '/auth/sso, status: ' + session.status + '.');
      return session.json();
    }
  }
  const define = (name, attributeNames) => {
    if (customElements.get(name)) return;
    customElements.define(name, class extends MetabaseEmbedElement {
      static attributeNames = attributeNames;
      static get observedAttributes() { return attributeNames; }
    });
  };
  define('metabase-dashboard', ['dashboard-id', 'token', 'with-title', 'with-downloads', 'drills', 'initial-parameters', 'hidden-parameters']);
  define('metabase-question', ['question-id', 'token', 'with-title', 'with-downloads', 'drills', 'initial-sql-parameters', 'hidden-parameters']);
})();
`;

/** The fake Metabase's side of the iframe: asks for what it needs, then shows what it was let in with. */
const STUB_IFRAME = `<!doctype html><meta charset="utf-8"><body style="font: 14px system-ui; margin: 1rem">
<p id="status">Metabase is loading…</p>
<script>
  let settings = {};
  const status = document.getElementById('status');
  window.addEventListener('message', (event) => {
    if (event.source !== window.parent || !event.data) return;
    const { type, data } = event.data;
    if (type === 'metabase.embed.setSettings') {
      settings = data;
      if (data.token) location.replace('/embed/dashboard/' + encodeURIComponent(data.token));
      else if (!data.isGuest) window.parent.postMessage({ type: 'metabase.embed.requestSessionToken' }, '*');
    }
    if (type === 'metabase.embed.submitSessionToken') location.replace('/dashboard/' + settings.dashboardId + '?session=' + encodeURIComponent(data.sessionToken.id));
    if (type === 'metabase.embed.reportAuthenticationError') {
      status.id = 'auth-error';
      status.textContent = 'Authentication error: ' + data.error;
    }
  });
  window.parent.postMessage({ type: 'metabase.embed.iframeReady' }, '*');
</script>`;

interface FakeMetabase {
  server: Server;
  url: string;
  guestTokens: string[];
  ssoTokens: string[];
}

const listen = (server: Server, port: number) => new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
const close = (server?: Server) => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
const html = (response: ServerResponse, status: number, body: string) => {
  response.writeHead(status, { 'content-type': 'text/html; charset=utf-8' });
  response.end(body);
};
async function bodyOf(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** A Metabase stand-in at http://localhost:port: embed.js, its iframe, /auth/sso and the two kinds of dashboard, checking every token. */
async function startFakeMetabase(port: number, hostOrigin: string, jwtProvider: string): Promise<FakeMetabase> {
  const fake: FakeMetabase = { server: createServer(), url: `http://localhost:${port}`, guestTokens: [], ssoTokens: [] };
  const sessions = new Map<string, SsoClaims>();
  fake.server.on('request', (request, response) => {
    void (async () => {
      const url = new URL(request.url ?? '/', fake.url);
      // Metabase's embedding CORS setting: the host's origin only.
      if (request.headers.origin === hostOrigin) {
        response.setHeader('access-control-allow-origin', hostOrigin);
        response.setHeader('vary', 'Origin');
      }
      if (request.method === 'OPTIONS') {
        response.writeHead(204, {
          'access-control-allow-methods': 'GET, POST',
          'access-control-allow-headers': 'content-type, x-metabase-client, x-metabase-client-version, x-metabase-sdk-jwt-hash',
        });
        return response.end();
      }
      if (url.pathname === '/app/embed.js') {
        response.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' });
        return response.end(STUB_EMBED_JS);
      }
      if (url.pathname === '/embed/sdk/v1') return html(response, 200, STUB_IFRAME);
      const guest = /^\/embed\/dashboard\/([^/]+)$/.exec(url.pathname);
      if (guest) {
        const token = decodeURIComponent(guest[1]);
        rememberSecret(token);
        fake.guestTokens.push(token);
        let claims: GuestClaims;
        try {
          claims = verifyGuestToken(token, TEST_SECRETS.METABASE_EMBEDDING_SECRET_KEY);
        } catch (error) {
          return html(response, 400, `<p id="refused">${error instanceof TokenRejected ? error.message : 'refused'}</p>`);
        }
        const locked = Object.entries(claims.params).map(([slug, values]) => `${slug} = ${values.join(', ')}`);
        return html(response, 200, `<h2 id="dashboard">Guest dashboard ${claims.resource.dashboard}</h2><p id="locked">${locked.join('; ')}</p>`);
      }
      if (url.pathname === '/auth/sso' && request.method === 'GET') {
        response.writeHead(200, { 'content-type': 'application/json' });
        return response.end(JSON.stringify({ method: 'jwt', url: jwtProvider }));
      }
      if (url.pathname === '/auth/sso' && request.method === 'POST') {
        const { jwt } = JSON.parse(await bodyOf(request)) as { jwt: string };
        rememberSecret(jwt);
        fake.ssoTokens.push(jwt);
        try {
          const claims = verifySsoToken(jwt, TEST_SECRETS.METABASE_JWT_SHARED_SECRET);
          const id = randomUUID();
          sessions.set(id, claims);
          response.writeHead(200, { 'content-type': 'application/json' });
          return response.end(JSON.stringify({ status: 'ok', id, exp: claims.exp, iat: claims.iat }));
        } catch (error) {
          response.writeHead(401, { 'content-type': 'application/json' });
          return response.end(JSON.stringify({ message: error instanceof Error ? error.message : 'refused' }));
        }
      }
      const dashboard = /^\/dashboard\/(\d+)$/.exec(url.pathname);
      const session = sessions.get(url.searchParams.get('session') ?? '');
      if (dashboard && session) {
        return html(
          response,
          200,
          `<h2 id="dashboard">Dashboard ${dashboard[1]}</h2><p id="signed-in">signed in as ${session.email}, customer_id = ${String(session.customer_id)}</p>`,
        );
      }
      html(response, 404, 'not found');
    })();
  });
  await listen(fake.server, port);
  return fake;
}

/** A page on an origin that is not in CORS_ORIGINS, whose script calls the providers as Metabase's clients do. */
async function startForeignSite(port: number, embedgate: string): Promise<Server> {
  const server = createServer((_request, response) =>
    html(
      response,
      200,
      `<!doctype html><meta charset="utf-8"><title>Another site</title><body style="font: 15px system-ui; margin: 2rem">
<h1>A page outside CORS_ORIGINS</h1><pre id="result">calling embedgate…</pre>
<script>
  (${callProvidersInPage.toString()})(${JSON.stringify(embedgate)}).then((result) => {
    const out = document.getElementById('result');
    out.textContent = JSON.stringify(result, null, 2);
    out.dataset.done = 'true';
  });
</script>`,
    ),
  );
  await listen(server, port);
  return server;
}

/** The example host app, as its README starts it: node examples/host-app/src/main.js with its environment. */
async function startHostApp(env: Record<string, string>): Promise<{ child: ChildProcess; output: string[] }> {
  // The host app runs the built client, as a user's would: build it from its sources (its own tsconfig).
  await promisify(execFile)(process.execPath, [
    join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'),
    '-p',
    join(ROOT, 'clients', 'typescript', 'tsconfig.json'),
  ]);
  const child = spawn(process.execPath, [join(ROOT, 'examples', 'host-app', 'src', 'main.js')], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the host app did not start:\n${output.join('')}`)), 20_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      output.push(chunk.toString());
      if (output.join('').includes('host app listening')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.stderr!.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the host app exited with ${code}:\n${output.join('')}`));
    });
  });
  return { child, output };
}

describeInBrowser('the example host app in a browser (embed.js’s provider calls, viewer sessions)', () => {
  let service: RunningService;
  let metabase: FakeMetabase;
  let foreign: Server;
  let host: { child: ChildProcess; output: string[] };
  let browser: Browser;
  let embedgateUrl: string;
  let hostUrl: string;
  let foreignUrl: string;

  beforeAll(async () => {
    const [egPort, hostPort, metabasePort, foreignPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
    embedgateUrl = `http://localhost:${egPort}`;
    hostUrl = `http://localhost:${hostPort}`;
    foreignUrl = `http://localhost:${foreignPort}`;
    service = await startService({ PORT: String(egPort), PUBLIC_URL: embedgateUrl, CORS_ORIGINS: hostUrl });
    const apps = await seed(service.admin, {
      tenants: [
        { slug: 'acme', name: 'Acme Corp', kind: 'external', tier: 'view', customerId: 'acme-001' },
        { slug: 'globex', name: 'Globex Inc', kind: 'external', tier: 'drill', customerId: 'globex-002' },
      ],
      resources: [{ key: 'sales-overview', type: 'dashboard', metabaseId: 1, tenantParam: 'customer_id', guest: true }],
      apps: { portal: { tenants: ['acme', 'globex'] } },
    });
    metabase = await startFakeMetabase(metabasePort, hostUrl, `${embedgateUrl}/v1/sdk/sso`);
    foreign = await startForeignSite(foreignPort, embedgateUrl);
    host = await startHostApp({
      EMBEDGATE_URL: service.baseUrl,
      EMBEDGATE_PUBLIC_URL: embedgateUrl,
      EMBEDGATE_APP_KEY: apps.portal.key!,
      METABASE_URL: metabase.url,
      PORT: String(hostPort),
      HOST: '127.0.0.1',
      HOST_URL: hostUrl,
      DEMO_USERS: JSON.stringify(USERS),
    });
    browser = await launchBrowser();
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    host?.child.kill('SIGTERM');
    await Promise.all([close(foreign), close(metabase?.server)]);
    await service?.stop();
  });

  const newPage = async (): Promise<{ context: BrowserContext; page: Page }> => {
    const context = await browser.newContext({ viewport: { width: 1100, height: 900 } });
    return { context, page: await context.newPage() };
  };

  /** Signs in through the host's form; answers the exchange's response (the 303 that set the cookie). */
  async function signIn(page: Page, userIndex: number) {
    await page.goto(hostUrl);
    await page.selectOption('#user', String(userIndex));
    const exchanged = page.waitForResponse((response) => response.url().includes('/v1/viewer-sessions/exchange/'));
    await page.click('#sign-in');
    const exchange = await exchanged;
    await page.waitForURL(`${hostUrl}/dashboard`);
    return exchange;
  }

  const seatHolders = async (tenant: string) =>
    ((await service.admin.get(`/v1/seats?tenant=${tenant}`)).body.items as { userId: string }[]).map((seat) => seat.userId);

  it('a view-tier user signs in: the exchange sets the __Host- cookie and returns to the page, which shows the guest dashboard', async () => {
    const { context, page } = await newPage();
    await page.goto(hostUrl);
    await page.screenshot({ path: join(ARTIFACTS, 'host-app-sign-in.png'), fullPage: true });
    const exchange = await signIn(page, 0);
    expect(exchange.status()).toBe(303);
    expect(exchange.headers().location).toBe(`${hostUrl}/dashboard`);
    expect(new URL(exchange.url()).origin).toBe(embedgateUrl);
    const cookies = await context.cookies(embedgateUrl);
    expect(cookies.find((cookie) => cookie.name === viewerCookieName(hostUrl))).toMatchObject({ httpOnly: true, secure: true, sameSite: 'None', path: '/' });

    await expect(page.locator('#mode').getAttribute('data-mode')).resolves.toBe('guest');
    const frame = page.frameLocator('#embed iframe');
    await expect(frame.locator('#locked').textContent()).resolves.toBe('customer_id = acme-001');
    await page.screenshot({ path: join(ARTIFACTS, 'host-app-guest-dashboard.png'), fullPage: true });
    // embed.js's guest provider call got a token Metabase accepts: dashboard 1, locked to the viewer's tenant.
    const claims = verifyGuestToken(metabase.guestTokens.at(-1)!, TEST_SECRETS.METABASE_EMBEDDING_SECRET_KEY);
    expect(claims).toMatchObject({ resource: { dashboard: 1 }, params: { customer_id: ['acme-001'] } });

    // The page's own calls, exactly as Metabase's clients make them: a guest token, and no SSO for a view-tier user.
    const calls = await page.evaluate(callProvidersInPage, embedgateUrl);
    expect(calls.guest).toMatchObject({ status: 200, body: { jwt: expect.any(String) } });
    rememberSecret(calls.guest.body?.jwt);
    expect(verifyGuestToken(calls.guest.body!.jwt, TEST_SECRETS.METABASE_EMBEDDING_SECRET_KEY).params).toEqual({ customer_id: ['acme-001'] });
    expect(calls.sso).toMatchObject({ status: 403, body: { error: { code: 'sso_not_granted' }, decision: { rule: 'sso-not-granted' } } });
    await context.close();
  });

  it('a drill-tier user signs in and gets the SSO dashboard: embed.js’s JWT provider call, then Metabase’s /auth/sso', async () => {
    const { context, page } = await newPage();
    await signIn(page, 1);
    await expect(page.locator('#mode').getAttribute('data-mode')).resolves.toBe('sso');
    const frame = page.frameLocator('#embed iframe');
    await expect(frame.locator('#signed-in').textContent()).resolves.toBe('signed in as bo@globex.example, customer_id = globex-002');
    await page.screenshot({ path: join(ARTIFACTS, 'host-app-sso-dashboard.png'), fullPage: true });
    const claims = verifySsoToken(metabase.ssoTokens.at(-1)!, TEST_SECRETS.METABASE_JWT_SHARED_SECRET);
    expect(claims).toMatchObject({ email: 'bo@globex.example', customer_id: 'globex-002' });
    expect(await seatHolders('globex')).toContain('bo');

    const calls = await page.evaluate(callProvidersInPage, embedgateUrl);
    expect(calls.sso).toMatchObject({ status: 200, body: { jwt: expect.any(String) } });
    rememberSecret(calls.sso.body?.jwt);
    expect(verifySsoToken(calls.sso.body!.jwt, TEST_SECRETS.METABASE_JWT_SHARED_SECRET).email).toBe('bo@globex.example');
    // The host's own JWT provider route (createJwtProviderHandler), for hosts that proxy: same origin, the host's cookie.
    const proxied = await page.evaluate(async () => {
      const response = await fetch('/sso/metabase?response=json', { credentials: 'include' });
      return { status: response.status, body: (await response.json()) as { jwt: string } };
    });
    expect(proxied.status).toBe(200);
    rememberSecret(proxied.body.jwt);
    expect(verifySsoToken(proxied.body.jwt, TEST_SECRETS.METABASE_JWT_SHARED_SECRET).email).toBe('bo@globex.example');

    // Sign-out revokes the viewer session: the cookie is still in the browser, and gets 401.
    await page.click('#sign-out');
    await page.waitForURL(`${hostUrl}/`);
    const revoked = await page.evaluate(callProvidersInPage, embedgateUrl);
    expect(revoked.sso).toMatchObject({ status: 401, body: { error: { code: 'viewer_session_invalid' } } });
    expect(revoked.guest).toMatchObject({ status: 401, body: { error: { code: 'viewer_session_invalid' } } });
    expect((await context.cookies(embedgateUrl)).map((cookie) => cookie.name)).toContain(viewerCookieName(hostUrl));
    await page.screenshot({ path: join(ARTIFACTS, 'host-app-signed-out.png'), fullPage: true });
    await context.close();
  });

  it('a page on an origin outside CORS_ORIGINS gets no token: its calls fail, and no seat is taken', async () => {
    const { context, page } = await newPage();
    // Without Metabase (embed.js does not load), the page still renders; and no seat is taken for this viewer.
    await page.route(`${metabase.url}/app/embed.js`, (route) => route.abort());
    await signIn(page, 2);
    await expect(page.locator('#mode').getAttribute('data-mode')).resolves.toBe('sso');
    await expect(page.locator('#embed iframe').count()).resolves.toBe(0);
    expect(await seatHolders('globex')).not.toContain('cy');

    const logged = service.logs.length;
    // Playwright answers CORS preflights itself while a route is set: none may be, for the browser's own checks.
    await page.unrouteAll();
    await page.goto(foreignUrl);
    await page.waitForSelector('#result[data-done="true"]');
    const result = JSON.parse((await page.locator('#result').textContent())!) as Awaited<ReturnType<typeof callProvidersInPage>>;
    await page.screenshot({ path: join(ARTIFACTS, 'host-app-foreign-origin.png'), fullPage: true });
    // The script cannot read an answer (no CORS headers for its origin): the fetches fail, and no jwt reaches it.
    expect(result.sso).toEqual({ failed: expect.stringContaining('TypeError') });
    expect(result.guest).toEqual({ failed: expect.stringContaining('TypeError') });
    // embedgate refused the GET (403 origin_not_allowed, no CORS headers); the POST never left its preflight.
    const answers = async () => {
      // An access log line is written once its answer is sent: give the last one a moment.
      await new Promise((resolve) => setTimeout(resolve, 200));
      return service.logs
        .slice(logged)
        .map((line) => JSON.parse(line) as { req?: { method: string; url: string }; res?: { statusCode: number } })
        .filter((line) => line.req?.url.startsWith('/v1/sdk/'))
        .map((line) => `${line.req!.method} ${line.req!.url.split('?')[0]} ${line.res?.statusCode}`);
    };
    await expect(answers()).resolves.toEqual(['GET /v1/sdk/sso 403', 'OPTIONS /v1/sdk/guest 204']);
    expect(await seatHolders('globex')).not.toContain('cy');
    await context.close();
  });
});
