import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateRawSync } from 'node:zlib';
import { ConfigError, loadConfig } from '../../src/config/config.js';
import { withDemoDefaults } from '../../src/config/demo-defaults.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { ROOT, startServiceProcess, type ServiceProcess } from '../support/process.js';
import { Api, freePort, TEST_SECRETS, TEST_SITE_URL } from '../support/service.js';

/**
 * Demo mode (DATABASE_URL unset), as `npm start` runs it: the printed console URL and keys, sign-in
 * through the built-in demo identity provider (real signatures, checked by the service's own SAML
 * code), data that persist across restarts, the reset; and, with DATABASE_URL set, no demo at all.
 */

/** The demo's environment: nothing of the test defaults that demo mode would otherwise keep. */
const demoEnv = (dir: string, port: number) => ({
  DATABASE_URL: undefined,
  METABASE_SITE_URL: undefined,
  METABASE_EMBEDDING_SECRET_KEY: undefined,
  METABASE_JWT_SHARED_SECRET: undefined,
  PUBLIC_URL: undefined,
  PORT: String(port),
  EMBEDGATE_DEMO_DIR: dir,
});

async function startDemo(dir: string, port: number): Promise<ServiceProcess> {
  const service = await startServiceProcess(demoEnv(dir, port), 200_000);
  for (let waited = 0; !service.output.some((l) => l.startsWith('(API docs at')) && waited < 60_000; waited += 100)
    await new Promise((r) => setTimeout(r, 100));
  return service;
}

/** What the demo printed: the console URL and the three keys. */
function printed(service: ServiceProcess) {
  const value = (prefix: string) =>
    service.output
      .find((l) => l.trimStart().startsWith(prefix))
      ?.trim()
      .slice(prefix.length)
      .trim();
  return { console: value('Console:'), admin: value('admin:')!, finance: value('finance:')!, app: value('app:')! };
}

const samlResponseOf = (page: string, role: string) => {
  const form = page.split('<form').find((f) => f.includes(`data-role="${role}"`));
  return /name="SAMLResponse" value="([^"]+)"/.exec(form ?? '')?.[1];
};

const postToAcs = (baseUrl: string, samlResponse: string, relayState: string) =>
  fetch(`${baseUrl}/auth/saml/acs`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ SAMLResponse: samlResponse, RelayState: relayState }).toString(),
  });

/** Starts sign-in at the service and opens the demo IdP's page it redirects to. */
async function demoIdpPage(baseUrl: string, relayState: string): Promise<string> {
  const login = await fetch(`${baseUrl}/auth/saml/login?RelayState=${encodeURIComponent(relayState)}`, { redirect: 'manual' });
  expect(login.status).toBe(302);
  const location = login.headers.get('location')!;
  expect(location.startsWith(`${baseUrl}/demo-idp/sso?SAMLRequest=`)).toBe(true);
  const page = await fetch(location);
  expect(page.status).toBe(200);
  expect(page.headers.get('cache-control')).toBe('no-store');
  return page.text();
}

const sessionCookie = (response: Response) =>
  response.headers
    .getSetCookie()
    .find((c) => c.startsWith('embedgate_session='))
    ?.split(';')[0];

describe('demo mode (DATABASE_URL unset)', () => {
  let dir: string;
  let port: number;
  let service: ServiceProcess;
  let baseUrl: string;
  let keys: ReturnType<typeof printed>;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'embedgate-demo-'));
    port = await freePort();
    service = await startDemo(dir, port);
    baseUrl = service.baseUrl;
    keys = printed(service);
  }, 300_000);
  afterAll(async () => {
    if (service?.child.exitCode === null) await service.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('prints the console URL and an admin, a finance and an app key, each of which works in its role', async () => {
    expect(keys.console).toBe(`http://127.0.0.1:${port}/console`);
    for (const key of [keys.admin, keys.finance, keys.app]) expect(key).toMatch(/^egk_[a-z2-7]{16}_[A-Za-z0-9_-]{43}$/);
    expect((await new Api(baseUrl, keys.admin).get('/v1/license')).body).toMatchObject({ seatBudget: 25 });
    expect((await new Api(baseUrl, keys.finance).get('/v1/audit')).status).toBe(403);
    const embed = await new Api(baseUrl, keys.app).post('/v1/embeds', { tenant: 'acme', user: { id: 'v-1' }, resource: 'sales-overview' });
    expect(embed).toMatchObject({ status: 201, body: { mode: 'guest' } });
  });

  it('keeps its data and generated keys in the demo directory, private to the user', () => {
    for (const file of ['demo-secrets.json', 'demo-idp.json']) expect(statSync(join(dir, file)).mode & 0o777).toBe(0o600);
    expect(existsSync(join(dir, 'demo-db', 'PG_VERSION'))).toBe(true);
    const secrets = JSON.parse(readFileSync(join(dir, 'demo-secrets.json'), 'utf8'));
    const { privateKey } = JSON.parse(readFileSync(join(dir, 'demo-idp.json'), 'utf8'));
    const output = service.output.join('\n');
    for (const secret of [secrets.METABASE_EMBEDDING_SECRET_KEY, secrets.METABASE_JWT_SHARED_SECRET, secrets.SESSION_SECRET]) {
      expect(secret).toMatch(/^[0-9a-f]{64}$/);
      expect(output).not.toContain(secret);
    }
    expect(output).not.toContain(privateKey.split('\n')[1]);
  });

  it('seeds six weeks of history: the billing report, usage and a forecast show the seats growing towards the budget', async () => {
    const finance = new Api(baseUrl, keys.finance);
    const today = new Date().toISOString().slice(0, 10);
    const from = new Date(Date.now() - 41 * 86_400_000).toISOString().slice(0, 10);
    const billing = await finance.get(`/v1/reports/billing?from=${from}&to=${today}`);
    expect(billing.status).toBe(200);
    expect(billing.body.daily).toHaveLength(42);
    expect(billing.body.daily.filter((d: { billable: number }) => d.billable > 0)).toHaveLength(42);
    expect(billing.body.daily[0].billable).toBeLessThan(billing.body.daily[41].billable);
    expect(billing.body.totals.cost).toBeGreaterThan(0);
    expect(billing.body.tenants.map((t: { tenant: string }) => t.tenant).sort()).toEqual(['globex', 'initech', 'umbrella']);

    const usage = await finance.get(`/v1/reports/usage?from=${from}&to=${today}`);
    expect(new Set(usage.body.rows.map((r: { date: string }) => r.date)).size).toBeGreaterThanOrEqual(41);
    expect(usage.body.totals).toMatchObject({ guest: expect.any(Number), sso: expect.any(Number) });
    expect(usage.body.totals.guest).toBeGreaterThan(100);
    expect(usage.body.totals.sso).toBeGreaterThan(100);

    const forecast = await finance.post('/v1/reports/forecast', { changes: [{ tenant: 'acme', tier: 'drill' }] });
    expect(forecast.status).toBe(200);
    // acme's guest viewers of the last 30 days would each need a seat: more than the budget has left.
    const acme = forecast.body.tenants.find((t: { tenant: string }) => t.tenant === 'acme');
    expect(acme).toMatchObject({ tierNow: 'view', tier: 'drill', fallback: { mode: 'guest', reasons: ['seat-budget'] } });
    expect(acme.seatsNeeded).toBeGreaterThan(20);
    expect(forecast.body.fallsBackToGuest).toContain('acme');
  });

  it('delivers the alerts of the history (thresholds crossed) to the demo webhook', async () => {
    const admin = new Api(baseUrl, keys.admin);
    const [webhook] = (await admin.get('/v1/webhooks')).body.items;
    expect(webhook).toMatchObject({ url: `http://127.0.0.1:${port}/demo-webhooks/inbox`, events: ['budget.threshold_crossed', 'tenant.tier_changed'] });
    let delivered: { type: string }[] = [];
    for (let waited = 0; delivered.length === 0 && waited < 20_000; waited += 250) {
      delivered = (await admin.get(`/v1/webhooks/${webhook.id}/deliveries?status=delivered`)).body.items;
      if (!delivered.length) await new Promise((r) => setTimeout(r, 250));
    }
    expect(delivered.length).toBeGreaterThan(0);
    expect(delivered.every((d) => d.type === 'budget.threshold_crossed')).toBe(true);
  });

  it('signs finance in through the demo IdP: a real signed response, accepted once, landing on the page asked for', async () => {
    const page = await demoIdpPage(baseUrl, '/console/reports/billing');
    expect(page).toContain("exists only in embedgate's demo mode");
    const samlResponse = samlResponseOf(page, 'finance')!;
    const xml = Buffer.from(samlResponse, 'base64').toString('utf8');
    expect(xml.match(/<ds:SignatureValue>/g)).toHaveLength(2);
    expect(xml).toContain('<saml:AttributeValue>demo-finance</saml:AttributeValue>');

    const accepted = await postToAcs(baseUrl, samlResponse, '/console/reports/billing');
    expect(accepted.status).toBe(303);
    expect(accepted.headers.get('location')).toBe('/console/reports/billing');
    const cookie = sessionCookie(accepted)!;
    const billing = await fetch(`${baseUrl}/console/reports/billing`, { headers: { cookie } });
    expect(billing.status).toBe(200);
    expect(await billing.text()).toContain('fin.finance@staff.demo.example');
    // finance is not admin: the audit page is refused.
    expect((await fetch(`${baseUrl}/console/audit`, { headers: { cookie }, redirect: 'manual' })).status).toBe(403);

    // Its request is spent: the same response again is refused (InResponseTo names no open request).
    const replayed = await postToAcs(baseUrl, samlResponse, '/console/reports/billing');
    expect(replayed.status).toBe(401);
    expect(sessionCookie(replayed)).toBeUndefined();
  });

  it('is no bypass: a response altered after signing (finance made admin) is refused by the signature check', async () => {
    const page = await demoIdpPage(baseUrl, '/console/tenants');
    const signed = Buffer.from(samlResponseOf(page, 'finance')!, 'base64').toString('utf8');
    const forged = signed.replace('<saml:AttributeValue>demo-finance</saml:AttributeValue>', '<saml:AttributeValue>demo-admins</saml:AttributeValue>');
    expect(forged).not.toBe(signed);
    const refused = await postToAcs(baseUrl, Buffer.from(forged).toString('base64'), '/console/tenants');
    expect(refused.status).toBe(401);
    expect(refused.headers.getSetCookie().some((c) => c.startsWith('embedgate_session='))).toBe(false);
    expect(await refused.text()).toContain('data-error-code="saml_rejected"');
  });

  it('answers only this service: an AuthnRequest from another service provider gets no response', async () => {
    const foreign = `<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_foreign1" Version="2.0" IssueInstant="${new Date().toISOString()}"><saml:Issuer>https://other-sp.example/saml</saml:Issuer></samlp:AuthnRequest>`;
    const answer = await fetch(`${baseUrl}/demo-idp/sso?SAMLRequest=${encodeURIComponent(deflateRawSync(foreign).toString('base64'))}`);
    expect(answer.status).toBe(400);
    expect(await answer.text()).not.toContain('SAMLResponse');
    expect((await fetch(`${baseUrl}/demo-idp/sso`)).status).toBe(400);
  });

  it('serves the IdP metadata with the certificate the service pins', async () => {
    const metadata = await (await fetch(`${baseUrl}/demo-idp/metadata`)).text();
    const { cert } = JSON.parse(readFileSync(join(dir, 'demo-idp.json'), 'utf8'));
    expect(metadata).toContain(`entityID="http://127.0.0.1:${port}/demo-idp/metadata"`);
    expect(metadata).toContain(cert.replace(/-----(BEGIN|END) CERTIFICATE-----|\s/g, ''));
  });

  it('restarts on the same data without seeding again, prints new keys and the previous ones stop working; one process per directory; demo:reset forgets the data', async () => {
    const admin = new Api(baseUrl, keys.admin);
    const from = new Date(Date.now() - 41 * 86_400_000).toISOString().slice(0, 10);
    const yesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
    const before = (await admin.get(`/v1/reports/billing?from=${from}&to=${yesterday}`)).body.daily;
    const cert = JSON.parse(readFileSync(join(dir, 'demo-idp.json'), 'utf8')).cert;
    expect(await service.stop('SIGTERM')).toBe(0);
    expect(existsSync(join(dir, 'demo-db.pid'))).toBe(false);

    service = await startDemo(dir, port);
    const again = printed(service);
    expect(again.admin).not.toBe(keys.admin);
    expect(again.app).not.toBe(keys.app);
    expect((await admin.get('/v1/license')).status).toBe(401);
    expect((await new Api(baseUrl, keys.app).post('/v1/embeds', { tenant: 'acme', user: { id: 'v-1' }, resource: 'sales-overview' })).status).toBe(401);
    const newAdmin = new Api(baseUrl, again.admin);
    expect((await newAdmin.get(`/v1/reports/billing?from=${from}&to=${yesterday}`)).body.daily).toEqual(before);
    expect((await newAdmin.get('/v1/audit?type=demo.seeded')).body.items).toHaveLength(1);
    expect(JSON.parse(readFileSync(join(dir, 'demo-idp.json'), 'utf8')).cert).toBe(cert);
    expect((await new Api(baseUrl, again.app).post('/v1/embeds', { tenant: 'acme', user: { id: 'v-1' }, resource: 'sales-overview' })).status).toBe(201);

    // A second process on the same directory is refused before it touches the database.
    const second = spawnSync(process.execPath, [join(ROOT, 'dist', 'main.js')], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, HOST: '127.0.0.1', PORT: '0', EMBEDGATE_DEMO_DIR: dir },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(second.status).toBe(1);
    expect(second.stderr).toMatch(/in use by another embedgate \(pid \d+\)/);
    const reset = () =>
      spawnSync(process.execPath, [join(ROOT, 'dist', 'demo', 'reset-demo.js')], {
        env: { PATH: process.env.PATH, EMBEDGATE_DEMO_DIR: dir },
        encoding: 'utf8',
      });
    expect(reset().status).toBe(1);

    expect(await service.stop('SIGTERM')).toBe(0);
    const done = reset();
    expect(done.status).toBe(0);
    expect(done.stderr).toMatch(/demo data removed/);
    expect(existsSync(join(dir, 'demo-db'))).toBe(false);
    // The generated secrets and the IdP's key stay (a local Metabase may use the secrets).
    expect(existsSync(join(dir, 'demo-secrets.json')) && existsSync(join(dir, 'demo-idp.json'))).toBe(true);
  }, 450_000);
});

describe('with DATABASE_URL set there is no demo', () => {
  const production = { DATABASE_URL: 'postgresql://postgres@127.0.0.1:5432/x', METABASE_SITE_URL: TEST_SITE_URL, ...TEST_SECRETS };
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(() => db.drop());

  it('applies no demo default: no generated secret, no SAML, no demo directory, the usual host and budget', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'embedgate-nodemo-'));
    try {
      const result = await withDemoDefaults({ ...production, METABASE_EMBEDDING_SECRET_KEY: undefined }, dir);
      expect(result.demo).toBeUndefined();
      expect(result.env).toEqual({ ...production, METABASE_EMBEDDING_SECRET_KEY: undefined });
      expect(existsSync(join(dir, 'demo-secrets.json')) || existsSync(join(dir, 'demo-idp.json'))).toBe(false);
      const config = loadConfig((await withDemoDefaults(production, dir)).env);
      expect(config).toMatchObject({ host: '0.0.0.0', initialSeatBudget: 0, saml: undefined, seatPrice: undefined });
      expect(config.demo).toBeUndefined();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses EMBEDGATE_DEMO_DIR, naming it: nothing turns demo mode on with a real database', () => {
    expect(() => loadConfig({ ...production, EMBEDGATE_DEMO_DIR: '/tmp/x' })).toThrow(ConfigError);
    expect(() => loadConfig({ ...production, EMBEDGATE_DEMO_DIR: '/tmp/x' })).toThrow(/EMBEDGATE_DEMO_DIR is for demo mode only/);
    const boot = spawnSync(process.execPath, [join(ROOT, 'dist', 'main.js')], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, PORT: '0', HOST: '127.0.0.1', ...production, DATABASE_URL: db.url, EMBEDGATE_DEMO_DIR: '/tmp/x' },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(boot.status).toBe(1);
    expect(boot.stderr).toContain('EMBEDGATE_DEMO_DIR');
  });

  it('serves no /demo-idp or /demo-webhooks route, and no console without SAML settings', async () => {
    const service = await startServiceProcess({ DATABASE_URL: db.url });
    try {
      const request = await fetch(`${service.baseUrl}/demo-idp/sso?SAMLRequest=${encodeURIComponent(deflateRawSync('<x/>').toString('base64'))}`);
      expect(request.status).toBe(404);
      expect((await fetch(`${service.baseUrl}/demo-idp/metadata`)).status).toBe(404);
      expect(
        (await fetch(`${service.baseUrl}/demo-webhooks/inbox`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).status,
      ).toBe(404);
      expect((await fetch(`${service.baseUrl}/console`, { redirect: 'manual' })).status).toBe(404);
      expect(service.output.join('\n')).not.toMatch(/demo mode|Console:|Keys, new at each start/);
    } finally {
      expect(await service.stop()).toBe(0);
    }
  }, 120_000);
});
