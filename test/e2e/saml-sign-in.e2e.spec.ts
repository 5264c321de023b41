import { routeTableOf } from '../../src/app.factory.js';
import { startService, type RunningService } from '../support/service.js';
import { TestIdp } from '../support/test-idp.js';

const SP_ENTITY_ID = 'https://embedgate.test.example/saml';
let idp: TestIdp;
let otherIdp: TestIdp;
let service: RunningService;
let sp: { entityId: string; acsUrl: string };

/** Starts sign-in on the service: returns the AuthnRequest id the IdP must answer. */
async function startLogin(relayState = '/console/tenants') {
  const answer = await fetch(`${service.baseUrl}/auth/saml/login?RelayState=${encodeURIComponent(relayState)}`, { redirect: 'manual' });
  expect(answer.status).toBe(302);
  const location = answer.headers.get('location')!;
  expect(location.startsWith(`${idp.url}/sso?`)).toBe(true);
  return TestIdp.requestIdOf(location);
}

/** Posts a SAMLResponse to the ACS as a browser form would. */
const postToAcs = (samlResponse: string, relayState = '/console/tenants') =>
  fetch(`${service.baseUrl}/auth/saml/acs`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ SAMLResponse: samlResponse, RelayState: relayState }).toString(),
  });

const sessionCookie = (response: Response) => response.headers.getSetCookie().find((c) => c.startsWith('embedgate_session='));

/** Words of node-saml, xml-crypto and xmldom errors, and of the raw SAML: none may reach the browser. */
const LIBRARY_TEXT = /invalid|signature|InResponseTo|SAML assertion|SAML issuer|Expected|Received|xmldom|Error:|sign-in refused|<saml|urn:oasis/i;

/** A refused sign-in answers with our own HTML page: returns the stable code it shows, after checking it shows nothing else. */
async function refusalPage(answer: Response): Promise<string> {
  expect(answer.headers.get('content-type')).toMatch(/^text\/html/);
  expect(answer.headers.get('cache-control')).toBe('no-store');
  const page = await answer.text();
  expect(page).toContain('<title>Sign-in failed · embedgate</title>');
  expect(page).not.toMatch(LIBRARY_TEXT);
  const code = /data-error-code="([a-z_]+)"/.exec(page)?.[1];
  expect(code).toBeDefined();
  return code!;
}

/** No session: no session cookie, and the console still sends this browser to sign in. */
async function expectNoSession(answer: Response) {
  const cookie = sessionCookie(answer);
  expect(cookie).toBeUndefined();
  const followUp = await fetch(`${service.baseUrl}/console/tenants`, { redirect: 'manual', headers: cookie ? { cookie: cookie.split(';')[0] } : {} });
  expect(followUp.status).toBe(302);
  expect(followUp.headers.get('location')).toMatch(/^\/auth\/saml\/login\?RelayState=/);
}

beforeAll(async () => {
  idp = await TestIdp.create();
  otherIdp = await TestIdp.create('https://other-idp.test.example/metadata');
  await idp.start(() => sp);
  service = await startService({
    SAML_SP_ENTITY_ID: SP_ENTITY_ID,
    SAML_IDP_ENTRY_POINT: `${idp.url}/sso`,
    SAML_IDP_ISSUER: idp.entityId,
    SAML_IDP_CERT: idp.cert,
    SAML_ROLE_MAP: JSON.stringify({ 'bi-admins': 'admin', finance: 'finance', analysts: 'analyst' }),
    SESSION_SECRET: 'console-session-secret-0123456789abcdef',
    // Plain http here, as in local development: the cookie cannot be Secure (tests speak http).
    PUBLIC_URL: 'http://embedgate.test.example',
  });
  // The service was told TEST_PUBLIC_URL: its ACS URL is that one.
  sp = { entityId: SP_ENTITY_ID, acsUrl: `${service.config.publicUrl}/auth/saml/acs` };
});
afterAll(async () => {
  await service.stop();
  await idp.stop();
});

describe('SAML sign-in', () => {
  it('publishes SP metadata with our entity id and ACS', async () => {
    const answer = await fetch(`${service.baseUrl}/auth/saml/metadata`);
    expect(answer.status).toBe(200);
    const xml = await answer.text();
    expect(xml).toContain(`entityID="${SP_ENTITY_ID}"`);
    expect(xml).toContain(sp.acsUrl);
  });

  it('a good signed response opens a session (HttpOnly, SameSite=Lax) and lands on the console page asked for', async () => {
    const { id } = await startLogin('/console/license');
    const answer = await postToAcs(await idp.response(sp, { inResponseTo: id }), '/console/license');
    expect(answer.status).toBe(303);
    expect(answer.headers.get('location')).toBe('/console/license');
    const cookie = sessionCookie(answer)!;
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/SameSite=Lax/i);
    const page = await fetch(`${service.baseUrl}/console/license`, { headers: { cookie: cookie.split(';')[0] } });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('seat budget');
  });

  it('refuses to redirect anywhere but the console after sign-in', async () => {
    for (const target of ['https://evil.example/', '//evil.example', '/console/../v1/license', '/\\evil.example']) {
      const { id } = await startLogin(target);
      const answer = await postToAcs(await idp.response(sp, { inResponseTo: id }), target);
      expect(answer.headers.get('location')).toBe('/console');
    }
  });

  const refused: [string, () => Promise<string>][] = [
    ['an unsigned response', async () => idp.response(sp, { inResponseTo: (await startLogin()).id, signed: false })],
    ['a response signed by another key', async () => otherIdp.response(sp, { inResponseTo: (await startLogin()).id })],
    ['a wrong audience', async () => idp.response(sp, { inResponseTo: (await startLogin()).id, audience: 'https://someone-else.example/saml' })],
    ['an expired assertion', async () => idp.response(sp, { inResponseTo: (await startLogin()).id, validForSeconds: -120 })],
    ['an unsolicited response (no InResponseTo we issued)', async () => idp.response(sp, { inResponseTo: '_never-issued-by-us' })],
  ];
  it.each(refused)('refuses %s with 401, no session and our error page', async (_what, makeResponse) => {
    const answer = await postToAcs(await makeResponse());
    expect(answer.status).toBe(401);
    expect(sessionCookie(answer)).toBeUndefined();
    expect(await refusalPage(answer)).toMatch(/^saml_/);
    await expectNoSession(answer);
  });

  it("logs the library's reason for a refusal at warn, never the SAML itself", async () => {
    const before = service.logs.length;
    const answer = await postToAcs(await idp.response(sp, { inResponseTo: (await startLogin()).id, signed: false }));
    expect(await refusalPage(answer)).toBe('saml_rejected');
    const lines = service.logs.slice(before).filter((line) => line.includes('SAML sign-in refused (saml_rejected)'));
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]).level).toBe(40);
    expect(lines[0]).toMatch(/signature/i);
    expect(lines[0]).not.toMatch(/<saml|Assertion ID|ada@corp\.example|SAMLResponse|PHNhbWxw/);
  });

  // Signed with the pinned key, so node-saml accepts them; only the SP's own checks refuse them.
  const notForUs: [string, string, () => Promise<string>][] = [
    [
      'a foreign Issuer on the response',
      'saml_issuer_mismatch',
      async () => idp.response(sp, { inResponseTo: (await startLogin()).id, responseIssuer: 'https://other-idp.test.example/metadata' }),
    ],
    [
      'a foreign Issuer on the assertion',
      'saml_issuer_mismatch',
      async () => idp.response(sp, { inResponseTo: (await startLogin()).id, assertionIssuer: 'https://other-idp.test.example/metadata' }),
    ],
    [
      'a foreign Destination',
      'saml_destination_mismatch',
      async () => idp.response(sp, { inResponseTo: (await startLogin()).id, destination: 'https://someone-else.example/saml/acs' }),
    ],
    [
      'a foreign Recipient',
      'saml_recipient_mismatch',
      async () => idp.response(sp, { inResponseTo: (await startLogin()).id, recipient: 'https://someone-else.example/saml/acs' }),
    ],
    ['a missing Recipient', 'saml_recipient_mismatch', async () => idp.response(sp, { inResponseTo: (await startLogin()).id, recipient: null })],
  ];
  it.each(notForUs)('refuses a response signed by our IdP with %s: 401 %s, our page, no session', async (_what, code, makeResponse) => {
    const answer = await postToAcs(await makeResponse());
    expect(answer.status).toBe(401);
    expect(await refusalPage(answer)).toBe(code);
    await expectNoSession(answer);
  });

  it('accepts a response without a Destination (it is optional), when all else is ours', async () => {
    const answer = await postToAcs(await idp.response(sp, { inResponseTo: (await startLogin()).id, destination: null }));
    expect(answer.status).toBe(303);
    expect(sessionCookie(answer)).toBeDefined();
  });

  it('refuses a replayed response: each request id and assertion is accepted once', async () => {
    const { id } = await startLogin();
    const samlResponse = await idp.response(sp, { inResponseTo: id });
    expect((await postToAcs(samlResponse)).status).toBe(303);
    const replay = await postToAcs(samlResponse);
    expect(replay.status).toBe(401);
    expect(sessionCookie(replay)).toBeUndefined();
    expect(await refusalPage(replay)).toMatch(/^saml_/);
  });

  it('refuses a signed-in person whose groups map to no role (403)', async () => {
    const { id } = await startLogin();
    const answer = await postToAcs(await idp.response(sp, { inResponseTo: id, groups: ['marketing'] }));
    expect(answer.status).toBe(403);
    expect(sessionCookie(answer)).toBeUndefined();
    expect(await refusalPage(answer)).toBe('no_console_role');
  });

  it.each(['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf'])(
    'gives no role to an IdP group named %s, a property every JavaScript object has (403, no session)',
    async (group) => {
      const answer = await postToAcs(await idp.response(sp, { inResponseTo: (await startLogin()).id, groups: [group] }));
      expect(answer.status).toBe(403);
      expect(await refusalPage(answer)).toBe('no_console_role');
      await expectNoSession(answer);
    },
  );

  it('maps only the groups named in the role map: constructor beside finance gives finance alone', async () => {
    const answer = await postToAcs(await idp.response(sp, { inResponseTo: (await startLogin()).id, groups: ['constructor', 'finance', 'toString'] }));
    expect(answer.status).toBe(303);
    const page = await (await fetch(`${service.baseUrl}/console/tenants`, { headers: { cookie: sessionCookie(answer)!.split(';')[0] } })).text();
    expect(page).toContain('ada@corp.example (finance)</span>');
  });

  it('gives a new session id at each sign-in and destroys the session at logout (CSRF-protected)', async () => {
    const first = sessionCookie(await postToAcs(await idp.response(sp, { inResponseTo: (await startLogin()).id })))!.split(';')[0];
    const second = sessionCookie(await postToAcs(await idp.response(sp, { inResponseTo: (await startLogin()).id })))!.split(';')[0];
    expect(first).not.toBe(second);
    const noCsrf = await fetch(`${service.baseUrl}/auth/logout`, { method: 'POST', redirect: 'manual', headers: { cookie: second } });
    expect(noCsrf.status).toBe(403);
    const page = await (await fetch(`${service.baseUrl}/console/tenants`, { headers: { cookie: second } })).text();
    const csrf = /name="_csrf" value="([^"]+)"/.exec(page)![1];
    const logout = await fetch(`${service.baseUrl}/auth/logout`, {
      method: 'POST',
      redirect: 'manual',
      headers: { cookie: second, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ _csrf: csrf }).toString(),
    });
    expect(logout.status).toBe(303);
    const after = await fetch(`${service.baseUrl}/console/tenants`, { redirect: 'manual', headers: { cookie: second } });
    expect(after.status).toBe(302);
    expect(after.headers.get('location')).toMatch(/^\/auth\/saml\/login\?RelayState=/);
  });

  it('ends a session past its absolute timeout, however active it is', async () => {
    const cookie = sessionCookie(await postToAcs(await idp.response(sp, { inResponseTo: (await startLogin()).id })))!.split(';')[0];
    expect((await fetch(`${service.baseUrl}/console/license`, { headers: { cookie } })).status).toBe(200);
    // Signed in nine hours ago (the absolute timeout is eight).
    await service.db.query(`UPDATE console_sessions SET data = jsonb_set(data, '{signedInAt}', to_jsonb($1::bigint))`, [Date.now() - 9 * 3_600_000]);
    const after = await fetch(`${service.baseUrl}/console/license`, { redirect: 'manual', headers: { cookie } });
    expect(after.status).toBe(302);
    expect(after.headers.get('location')).toBe('/auth/saml/login?RelayState=%2Fconsole%2Flicense');
  });

  it('roles decide what each person sees and may change: finance reads tenants but cannot toggle a tier', async () => {
    await service.admin.post('/v1/tenants', { slug: 'acme', name: 'Acme', kind: 'external', tier: 'drill', customerId: 'a', emailDomains: ['acme.example'] });
    const cookie = sessionCookie(await postToAcs(await idp.response(sp, { inResponseTo: (await startLogin()).id, groups: ['finance'] })))!.split(';')[0];
    const page = await (await fetch(`${service.baseUrl}/console/tenants`, { headers: { cookie } })).text();
    expect(page).toContain('acme');
    expect(page).not.toContain('Downgrade to view');
    const csrf = /name="_csrf" value="([^"]+)"/.exec(page)![1];
    const toggle = await fetch(`${service.baseUrl}/console/tenants/acme/tier`, {
      method: 'POST',
      redirect: 'manual',
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ _csrf: csrf, tier: 'view', confirm: 'yes' }).toString(),
    });
    expect(toggle.status).toBe(403);
    expect((await service.admin.get('/v1/tenants/acme')).body.tier).toBe('drill');
    expect((await fetch(`${service.baseUrl}/console/audit`, { headers: { cookie } })).status).toBe(403);
    expect((await fetch(`${service.baseUrl}/console/reports/seat-usage`, { headers: { cookie } })).status).toBe(200);
  });
});

describe('the console guarded by StaffGuard', () => {
  const signIn = async (groups: string[]) =>
    sessionCookie(await postToAcs(await idp.response(sp, { inResponseTo: (await startLogin()).id, groups })))!.split(';')[0];

  it('sends a browser without a session to sign in from every console route but the signed-out page, and back to it after', async () => {
    const routes = routeTableOf(service.app).filter((route) => route.url.startsWith('/console') && route.method !== 'HEAD');
    expect(routes.length).toBeGreaterThanOrEqual(8);
    for (const route of routes) {
      const path = route.url.replace(':slug', 'acme');
      const answer = await fetch(`${service.baseUrl}${path}`, {
        method: route.method,
        redirect: 'manual',
        ...(route.method === 'POST' && { headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'tier=view' }),
      });
      if (route.url === '/console/signed-out') {
        expect(answer.status).toBe(200);
        expect(await answer.text()).toContain('You are signed out');
      } else {
        expect([route.method, route.url, answer.status]).toEqual([route.method, route.url, 302]);
        expect(answer.headers.get('location')).toBe(`/auth/saml/login?RelayState=${encodeURIComponent(path)}`);
      }
    }
  });

  it('answers a role the page does not allow with a 403 page, not JSON', async () => {
    const cookie = await signIn(['analysts']);
    expect((await fetch(`${service.baseUrl}/console/license`, { headers: { cookie } })).status).toBe(200);
    const answer = await fetch(`${service.baseUrl}/console/reports/seat-usage`, { headers: { cookie } });
    expect(answer.status).toBe(403);
    expect(answer.headers.get('content-type')).toMatch(/^text\/html/);
    const page = await answer.text();
    expect(page).toContain('<title>Not possible · embedgate</title>');
    expect(page).toContain('this page needs the role finance or admin');
  });

  it('answers a bad query in a page with a 400 page', async () => {
    const cookie = await signIn(['bi-admins']);
    const answer = await fetch(`${service.baseUrl}/console/tenants?tier=gold`, { headers: { cookie } });
    expect(answer.status).toBe(400);
    expect(answer.headers.get('content-type')).toMatch(/^text\/html/);
  });
});
