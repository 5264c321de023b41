import { ConfigError, loadConfig } from '../../src/config/config.js';
import { MetabaseSafety, type IsolationVerdict } from '../../src/metabase/metabase-safety.service.js';
import { FakeMetabase } from '../support/fake-metabase.js';
import { verifySsoToken } from '../support/metabase-verifier.js';
import { Api, embedBody, seed, startService, TEST_SECRETS, TEST_SITE_URL, type RunningService } from '../support/service.js';

/**
 * "Metabase in step": fail-closed routing and identity safety, through POST /v1/embeds. Metabase's
 * side (MetabaseSafety: the isolation check's last result and the users lookup) is a test double
 * installed on the service's own instance, so each test says what Metabase's check found.
 */
let service: RunningService;
let app: Api;
const proven: IsolationVerdict = { enforced: true, proven: true, reason: 'proven by the double', checkedAt: new Date() };
const unverified: IsolationVerdict = { enforced: true, proven: false, reason: 'the last check did not prove it', checkedAt: new Date() };
/** The isolation verdict by tenant slug (default: proven), and the identity problem by Metabase email (default: none). */
const verdicts = new Map<string, IsolationVerdict>();
const problems = new Map<string, string>();
/** The emails MetabaseSafety was asked about, in order. */
const asked: string[] = [];

beforeAll(async () => {
  service = await startService({ SEAT_BUDGET: '20', ADMIN_GROUPS: '["Data admins"]' });
  const safety = service.app.get(MetabaseSafety);
  safety.isolationVerdict = (tenant) => verdicts.get(tenant.slug) ?? proven;
  safety.identityProblem = async (email) => {
    asked.push(email);
    return problems.get(email) ?? null;
  };
  const apps = await seed(service.admin, {
    tenants: [
      { slug: 'globex', name: 'Globex', kind: 'external', tier: 'drill', customerId: 'globex-1' },
      { slug: 'strict', name: 'Strict', kind: 'external', tier: 'drill', customerId: 'strict-1', onSeatsExhausted: 'deny' },
      { slug: 'corp', name: 'Corp', kind: 'internal', emailDomains: ['corp.example', 'eu.corp.example'] },
      { slug: 'partner', name: 'Partner', kind: 'external', tier: 'drill', customerId: 'p-1', ssoEmailAlias: 'plus-tenant', emailDomains: ['partner.example'] },
    ],
    resources: [{ key: 'sales-overview', type: 'dashboard', metabaseId: 42, tenantParam: 'customer_id', guest: true }],
    apps: { host: { tenants: '*' } },
  });
  app = apps.host;
});

afterAll(() => service?.stop());

beforeEach(() => {
  verdicts.clear();
  problems.clear();
  asked.length = 0;
});

const seatsOf = async (slug: string): Promise<number> => (await service.admin.get(`/v1/tenants/${slug}`)).body.seatsHeld;
const withEmail = (tenant: string, userId: string, email: string) => ({ ...embedBody(tenant, userId), user: { id: userId, email } });

describe('POST /v1/embeds: fail closed (rule isolation-unverified)', () => {
  it('gives an external drill tenant whose group set is not proven isolated a guest embed, with the check’s reason, and takes no seat', async () => {
    verdicts.set('globex', unverified);
    const before = await seatsOf('globex');
    const answer = await app.post('/v1/embeds', embedBody('globex', 'iso-1'));
    expect(answer.status).toBe(201);
    expect(answer.body.mode).toBe('guest');
    expect(answer.body.decision.rule).toBe('isolation-unverified');
    expect(answer.body.decision.reasons.join(' ')).toContain('the last check did not prove it');
    expect(answer.body.jwt).toBeUndefined();
    expect(await seatsOf('globex')).toBe(before);
    expect(asked).toEqual([]);
  });

  it('falls back even for a user who already holds a seat', async () => {
    expect((await app.post('/v1/embeds', embedBody('globex', 'iso-2'))).body.mode).toBe('sso');
    verdicts.set('globex', unverified);
    const answer = await app.post('/v1/embeds', embedBody('globex', 'iso-2'));
    expect(answer.body).toMatchObject({ mode: 'guest', decision: { rule: 'isolation-unverified' } });
  });

  it('denies with 403 isolation_unverified and the decision when the tenant denies when seats run out', async () => {
    verdicts.set('strict', unverified);
    const answer = await app.post('/v1/embeds', embedBody('strict', 's-1'));
    expect(answer.status).toBe(403);
    expect(answer.body.error.code).toBe('isolation_unverified');
    expect(answer.body.decision).toMatchObject({ mode: 'deny', rule: 'isolation-unverified' });
    expect(await seatsOf('strict')).toBe(0);
  });

  it('gives the SDK no SSO identity (POST /v1/sso/jwt answers 403)', async () => {
    verdicts.set('globex', unverified);
    const answer = await app.post('/v1/sso/jwt', { tenant: 'globex', user: { id: 'iso-3', email: 'iso-3@globex.example' } });
    expect(answer.status).toBe(403);
    expect(answer.body.decision.rule).toBe('isolation-unverified');
  });

  it('gives SSO when isolation is proven, and when nothing is enforced (no API key, or fail-closed turned off)', async () => {
    expect((await app.post('/v1/embeds', embedBody('globex', 'iso-4'))).body.mode).toBe('sso');
    verdicts.set('globex', { ...unverified, enforced: false });
    expect((await app.post('/v1/embeds', embedBody('globex', 'iso-5'))).body.mode).toBe('sso');
  });

  it('says the same in /v1/embeds/explain, without a seat', async () => {
    verdicts.set('globex', unverified);
    const answer = await app.post('/v1/embeds/explain', embedBody('globex', 'iso-6'));
    expect(answer.body.decision).toMatchObject({ mode: 'guest', rule: 'isolation-unverified' });
  });
});

describe('POST /v1/embeds: identity safety', () => {
  it('refuses, with 403 identity_unsafe, an SSO login for a Metabase administrator’s email, and takes no seat', async () => {
    problems.set('admin@globex.example', 'the email belongs to a Metabase superuser');
    const before = await seatsOf('globex');
    const answer = await app.post('/v1/embeds', withEmail('globex', 'not-really-admin', 'Admin@Globex.example'));
    expect(answer.status).toBe(403);
    expect(answer.body.error.code).toBe('identity_unsafe');
    expect(answer.body.decision).toMatchObject({ mode: 'deny', rule: 'identity-unsafe' });
    expect(answer.body.decision.reasons).toContain('the email belongs to a Metabase superuser');
    expect(JSON.stringify(answer.body)).not.toMatch(/eyJ/);
    expect(await seatsOf('globex')).toBe(before);
    // The email was not bound to the tenant either: a later, safe request by the same email works.
    problems.clear();
    expect((await app.post('/v1/embeds', withEmail('globex', 'not-really-admin', 'admin@globex.example'))).body.mode).toBe('sso');
  });

  it('refuses the SDK identity for an unsafe email too', async () => {
    problems.set('other@globex.example', 'the user is in groups outside the tenant’s set');
    const answer = await app.post('/v1/sso/jwt', { tenant: 'globex', user: { id: 'o-1', email: 'other@globex.example' } });
    expect(answer.status).toBe(403);
    expect(answer.body.decision.rule).toBe('identity-unsafe');
  });

  it('asks Metabase about the email it would sign in (the tenant’s alias of it), and only for an SSO decision', async () => {
    expect((await app.post('/v1/embeds', withEmail('partner', 'p-1', 'Ana@Partner.example'))).body.mode).toBe('sso');
    expect(asked).toEqual(['ana+partner@partner.example']);
    verdicts.set('partner', unverified);
    expect((await app.post('/v1/embeds', withEmail('partner', 'p-2', 'bo@partner.example'))).body.mode).toBe('guest');
    expect(asked).toEqual(['ana+partner@partner.example']);
  });

  it('refuses SSO with 403 email_domain_not_allowed for an email outside the tenant’s domains, without asking Metabase', async () => {
    for (const email of ['admin@metabase.example', 'ana@sub.globex.example', 'ana@globex.example.evil.example', 'ana@xglobex.example']) {
      const answer = await app.post('/v1/embeds', withEmail('globex', 'd-1', email));
      expect(answer.status).toBe(403);
      expect(answer.body.error.code).toBe('email_domain_not_allowed');
      expect(answer.body.decision.rule).toBe('email-domain-not-allowed');
    }
    expect(asked).toEqual([]);
  });

  it('matches the domain the user gave, in any case, exactly; a subdomain only when listed; internal tenants too', async () => {
    expect((await app.post('/v1/embeds', withEmail('corp', 'c-1', 'Ana@CORP.example'))).body.mode).toBe('sso');
    expect((await app.post('/v1/embeds', withEmail('corp', 'c-2', 'bo@eu.corp.example'))).body.mode).toBe('sso');
    const outside = await app.post('/v1/embeds', withEmail('corp', 'c-3', 'cy@us.corp.example'));
    expect(outside.status).toBe(403);
    expect(outside.body.decision.rule).toBe('email-domain-not-allowed');
    // The plus-tenant alias is made after the check: the given email's domain is what counts.
    const answer = await app.post('/v1/embeds', withEmail('partner', 'p-3', 'cy@partner.example'));
    expect(verifySsoToken(answer.body.jwt, TEST_SECRETS.METABASE_JWT_SHARED_SECRET).email).toBe('cy+partner@partner.example');
  });

  it('applies a change of the tenant’s domains to the next embed', async () => {
    expect((await app.post('/v1/embeds', withEmail('globex', 'm-1', 'm@acquired.example'))).status).toBe(403);
    const patched = await service.admin.patch('/v1/tenants/globex', { emailDomains: ['globex.example', 'Acquired.example'] });
    expect(patched.status).toBe(200);
    expect(patched.body.emailDomains).toEqual(['globex.example', 'acquired.example']);
    expect((await app.post('/v1/embeds', withEmail('globex', 'm-1', 'm@acquired.example'))).body.mode).toBe('sso');
  });

  it('needs no allowed email for a guest embed', async () => {
    verdicts.set('globex', unverified);
    expect((await app.post('/v1/embeds', withEmail('globex', 'g-1', 'anyone@elsewhere.example'))).body.mode).toBe('guest');
  });
});

describe('tenants: email domains and administrator groups', () => {
  it.each([
    ['Administrators', { groups: ['Customers', 'Administrators'] }],
    ['administrators in another case', { groups: [' ADMINISTRATORS '] }],
    ['a group of ADMIN_GROUPS', { groups: ['data admins'] }],
  ])('refuses a tenant whose groups name %s with 400, on POST and PATCH', async (_what, body) => {
    const created = await service.admin.post('/v1/tenants', { slug: 'admins', name: 'A', kind: 'external', customerId: 'x', ...body });
    expect(created.status).toBe(400);
    expect(created.body.error.code).toBe('validation_error');
    expect(created.body.error.message).toMatch(/^groups: .*administrator group/);
    const patched = await service.admin.patch('/v1/tenants/globex', body);
    expect(patched.status).toBe(400);
    expect(patched.body.error.code).toBe('validation_error');
    expect((await service.admin.get('/v1/tenants/globex')).body.groups).toBeNull();
  });

  it('requires email domains for a tenant that can get SSO, and keeps them while it can', async () => {
    expect((await service.admin.post('/v1/tenants', { slug: 'nodom', name: 'N', kind: 'internal' })).status).toBe(400);
    expect((await service.admin.patch('/v1/tenants/globex', { emailDomains: [] })).status).toBe(400);
    const view = await service.admin.post('/v1/tenants', { slug: 'viewonly', name: 'V', kind: 'external', customerId: 'v-1' });
    expect(view.status).toBe(201);
    expect(view.body.emailDomains).toEqual([]);
    const up = await service.admin.put('/v1/tenants/viewonly/tier', { tier: 'drill' });
    expect(up.status).toBe(400);
    expect(up.body.error.message).toMatch(/^emailDomains: /);
    expect((await service.admin.patch('/v1/tenants/viewonly', { emailDomains: ['viewonly.example'] })).status).toBe(200);
    expect((await service.admin.put('/v1/tenants/viewonly/tier', { tier: 'drill' })).status).toBe(200);
  });
});

describe('boot: no configured group may be an administrator group', () => {
  const env = {
    METABASE_SITE_URL: TEST_SITE_URL,
    ...TEST_SECRETS,
  };
  const problem = (extra: Record<string, string>): string => {
    try {
      loadConfig({ ...env, ...extra });
    } catch (error) {
      if (error instanceof ConfigError) return error.message;
      throw error;
    }
    return '';
  };

  it.each([
    ['GROUPS_EXTERNAL', { GROUPS_EXTERNAL: '["Customers","Administrators"]' }],
    ['GROUPS_INTERNAL', { GROUPS_INTERNAL: '["administrators"]' }],
    ['ROLE_GROUPS', { ROLE_GROUPS: '{"analyst":["Analysts","Data admins"]}', ADMIN_GROUPS: '["Data Admins"]' }],
  ])('refuses %s naming one, and names the variable', (name, extra) => {
    expect(problem(extra)).toMatch(new RegExp(`${name}.* must not name an administrator group`));
  });

  it('boots with the default groups', () => {
    expect(problem({})).toBe('');
  });
});

describe('with the real MetabaseSafety and a Metabase API key (a fake Metabase)', () => {
  const METABASE_API_KEY = 'mb_identity_safety_key_0123';
  let metabase: FakeMetabase;
  let real: RunningService;
  let host: Api;

  beforeAll(async () => {
    metabase = await new FakeMetabase(METABASE_API_KEY, TEST_SECRETS.METABASE_JWT_SHARED_SECRET).start();
    metabase.addUser('boss@corp.example', { is_superuser: true });
    // All Users reads a whole warehouse: no check can prove an external tenant isolated, whenever it runs
    // (an instance with no data at all would be proven isolated, vacuously).
    const warehouse = metabase.admin.addDatabase('Warehouse', [{ name: 'ORDERS', fields: ['id', 'customer_id', 'total'] }]);
    metabase.admin.setPermission(1, warehouse.id, 'view-data', 'unrestricted');
    metabase.admin.setPermission(1, warehouse.id, 'create-queries', 'query-builder');
    real = await startService({ METABASE_API_URL: metabase.url, METABASE_API_KEY, OUTBOX_INTERVAL_SECONDS: '3600' });
    const apps = await seed(real.admin, {
      tenants: [
        { slug: 'globex', name: 'Globex', kind: 'external', tier: 'drill', customerId: 'globex-1' },
        { slug: 'corp', name: 'Corp', kind: 'internal' },
      ],
      resources: [{ key: 'sales-overview', type: 'dashboard', metabaseId: 42, tenantParam: 'customer_id', guest: true }],
      apps: { host: { tenants: '*' } },
    });
    host = apps.host;
  });

  afterAll(async () => {
    await real?.stop();
    await metabase?.stop();
  });

  it('fails closed: an external tenant Metabase’s check has not proven isolated gets a guest embed, no seat', async () => {
    const answer = await host.post('/v1/embeds', embedBody('globex', 'r-1'));
    expect(answer.status).toBe(201);
    expect(answer.body).toMatchObject({ mode: 'guest', decision: { rule: 'isolation-unverified' } });
    expect((await real.admin.get('/v1/tenants/globex')).body.seatsHeld).toBe(0);
  });

  it('refuses an SSO login for a Metabase administrator’s email with 403 identity_unsafe, and takes no seat', async () => {
    const answer = await host.post('/v1/embeds', withEmail('corp', 'boss', 'boss@corp.example'));
    expect(answer.status).toBe(403);
    expect(answer.body.error.code).toBe('identity_unsafe');
    expect(answer.body.decision.rule).toBe('identity-unsafe');
    expect((await real.admin.get('/v1/tenants/corp')).body.seatsHeld).toBe(0);
  });

  it('gives SSO to a new user once an admin turns fail-closed off (audited)', async () => {
    expect((await real.admin.put('/v1/metabase/fail-closed', { enabled: false, reason: 'identity-safety test' })).status).toBe(200);
    const answer = await host.post('/v1/embeds', embedBody('globex', 'r-2'));
    expect(answer.body).toMatchObject({ mode: 'sso', decision: { rule: 'external-drill-tier' } });
  });
});
