import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MetabaseSafety } from '../../src/metabase/metabase-safety.service.js';
import { FakeMetabase, type FakeItem, presetBeforeSync } from '../support/fake-metabase.js';
import { runCli } from '../support/process.js';
import { seed, startService, TEST_SECRETS, type Api, type RunningService } from '../support/service.js';
import { TestIdp } from '../support/test-idp.js';

const METABASE_API_KEY = 'mb_status_api_key_0123456789';

let metabase: FakeMetabase;
let service: RunningService;
let finance: Api;
let app: Api;
let dashboard: FakeItem;
let safety: MetabaseSafety;
let idp: TestIdp;
let sp: { entityId: string; acsUrl: string };
const dir = mkdtempSync(join(tmpdir(), 'embedgate-sandboxes-'));

const cli = (...args: string[]) => runCli(args, { DATABASE_URL: service.db.url, METABASE_API_URL: metabase.url, METABASE_API_KEY, ...TEST_SECRETS });
const writes = () => metabase.requests.filter((r) => !r.startsWith('GET '));
const check = async () => {
  const answer = await service.admin.post('/v1/metabase/check');
  expect(answer.status).toBe(200);
  return answer.body;
};
const codes = (status: { lastCheck: { findings: { code: string; severity: string }[] } }, severity = 'blocking') =>
  status.lastCheck.findings.filter((f) => f.severity === severity).map((f) => f.code);
const acme = { slug: 'acme', kind: 'external' as const };

beforeAll(async () => {
  metabase = await new FakeMetabase(METABASE_API_KEY, TEST_SECRETS.METABASE_JWT_SHARED_SECRET).start();
  ({ dashboard } = presetBeforeSync(metabase.admin, TEST_SECRETS.METABASE_EMBEDDING_SECRET_KEY));
  idp = await TestIdp.create();
  await idp.start(() => sp);
  service = await startService({
    METABASE_API_URL: metabase.url,
    METABASE_API_KEY,
    SAML_SP_ENTITY_ID: 'https://embedgate.test.example/saml',
    SAML_IDP_ENTRY_POINT: `${idp.url}/sso`,
    SAML_IDP_ISSUER: idp.entityId,
    SAML_IDP_CERT: idp.cert,
    SAML_ROLE_MAP: JSON.stringify({ 'bi-admins': 'admin', finance: 'finance', analysts: 'analyst' }),
    SESSION_SECRET: 'console-session-secret-0123456789abcdef',
    PUBLIC_URL: 'http://embedgate.test.example',
  });
  sp = { entityId: 'https://embedgate.test.example/saml', acsUrl: `${service.config.publicUrl}/auth/saml/acs` };
  const apps = await seed(service.admin, {
    tenants: [
      { slug: 'acme', name: 'Acme', kind: 'external', tier: 'drill', customerId: 'acme-1' },
      { slug: 'staff', name: 'Staff', kind: 'internal', tier: 'drill' },
    ],
    resources: [{ key: 'sales-overview', type: 'dashboard', metabaseId: 1, tenantParam: 'customer_id' }],
    apps: { host: { tenants: '*' } },
  });
  app = apps.host;
  finance = service.admin.as(await service.createKey('finance'));
  safety = service.app.get(MetabaseSafety);
});
afterAll(async () => {
  await service?.stop();
  await metabase?.stop();
  await idp?.stop();
});

/** A console session for an IdP user in these groups (the SAML flow of saml-sign-in.e2e.spec.ts). */
async function signIn(groups: string[]): Promise<string> {
  const login = await fetch(`${service.baseUrl}/auth/saml/login?RelayState=${encodeURIComponent('/console/metabase')}`, { redirect: 'manual' });
  const { id } = TestIdp.requestIdOf(login.headers.get('location')!);
  const answer = await fetch(`${service.baseUrl}/auth/saml/acs`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ SAMLResponse: await idp.response(sp, { inResponseTo: id, groups }), RelayState: '/console/metabase' }).toString(),
  });
  return answer.headers
    .getSetCookie()
    .find((c) => c.startsWith('embedgate_session='))!
    .split(';')[0];
}

describe('GET /v1/metabase/status', () => {
  it('is for admin and finance keys; an app key is refused', async () => {
    expect((await service.admin.get('/v1/metabase/status')).status).toBe(200);
    expect((await finance.get('/v1/metabase/status')).status).toBe(200);
    expect((await app.get('/v1/metabase/status')).status).toBe(403);
    expect((await finance.post('/v1/metabase/check')).status).toBe(403);
  });

  it('flags a Metabase not yet set up, and the external tenant is not proven isolated (fail closed)', async () => {
    const status = await check();
    expect(status.configured).toBe(true);
    expect(codes(status)).toEqual(expect.arrayContaining(['guest_embedding_off', 'tenant_param_not_locked', 'group_missing', 'table_unrestricted']));
    for (const f of status.lastCheck.findings)
      expect(f).toEqual({
        code: expect.any(String),
        severity: expect.any(String),
        object: expect.any(String),
        message: expect.any(String),
        fix: expect.any(String),
      });
    expect(status.lastCheck.tenants.unproven).toEqual(['acme']);
    expect(safety.isolationVerdict(acme)).toMatchObject({ enforced: true, proven: false });
    expect(safety.isolationVerdict({ slug: 'staff', kind: 'internal' })).toMatchObject({ enforced: false });
    const metrics = await service.anonymous.get('/metrics');
    if (metrics.status === 200) expect(metrics.body).toMatch(/embedgate_metabase_findings\{severity="blocking"\} [1-9]/);
  });
});

describe('the console page /console/metabase', () => {
  it('shows the findings with their codes and fixes to admin and finance staff; analysts are refused', async () => {
    for (const groups of [['bi-admins'], ['finance']]) {
      const answer = await fetch(`${service.baseUrl}/console/metabase`, { headers: { cookie: await signIn(groups) } });
      expect(answer.status).toBe(200);
      const page = await answer.text();
      expect(page).toContain('<code>table_unrestricted</code>');
      expect(page).toMatch(/Not proven: acme/);
      for (const secret of Object.values(TEST_SECRETS)) expect(page).not.toContain(secret);
    }
    expect((await fetch(`${service.baseUrl}/console/metabase`, { headers: { cookie: await signIn(['analysts']) } })).status).toBe(403);
  });
});

describe('npm run cli -- metabase check', () => {
  it('exits 1 on a blocking finding, with the findings as JSON and no secret in its output', async () => {
    const result = await cli('metabase', 'check');
    expect(result.status).toBe(1);
    expect(JSON.parse(result.stdout).lastCheck.counts.blocking).toBeGreaterThan(0);
    expect(result.stderr).toMatch(/\[blocking\] table_unrestricted/);
    for (const secret of Object.values(TEST_SECRETS)) expect(result.stdout + result.stderr).not.toContain(secret);
  });

  it('refuses to run without embedgate secrets to compare with', async () => {
    const result = await runCli(['metabase', 'check'], { DATABASE_URL: service.db.url, METABASE_API_URL: metabase.url, METABASE_API_KEY });
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/METABASE_EMBEDDING_SECRET_KEY/);
  });
});

describe('npm run cli -- metabase sync', () => {
  it('--dry-run prints the plan and changes nothing', async () => {
    const before = writes().length;
    const result = await cli('metabase', 'sync', '--dry-run');
    expect(result.status).toBe(0);
    const plan = JSON.parse(result.stdout);
    expect(plan.dryRun).toBe(true);
    expect(plan.plan.steps.map((s: { action: string }) => s.action)).toEqual(
      expect.arrayContaining(['set_setting', 'create_group', 'set_jwt_group_mappings', 'update_embedding']),
    );
    expect(plan.applied).toEqual([]);
    expect(writes().length).toBe(before);
  });

  it('applies the plan, audits every step, and a second sync plans nothing', async () => {
    const result = await cli('metabase', 'sync');
    expect(result.status).toBe(0);
    const outcome = JSON.parse(result.stdout);
    expect(outcome.applied.length).toBe(outcome.plan.steps.length);
    expect(outcome.applied.length).toBeGreaterThan(0);
    // Metabase replaces embedding_params wholesale: the other parameter kept its visibility.
    expect(dashboard.embedding_params).toEqual({ region: 'enabled', customer_id: 'locked' });

    const audit = await service.admin.get('/v1/audit?type=metabase.sync_step&limit=200');
    expect(audit.status).toBe(200);
    expect(audit.body.items).toHaveLength(outcome.applied.length);
    expect(audit.body.items.map((e: { data: { object: string } }) => e.data.object).sort()).toEqual(
      outcome.applied.map((s: { object: string }) => s.object).sort(),
    );
    for (const entry of audit.body.items) expect(entry.actor).toBe('cli');

    const again = await cli('metabase', 'sync', '--dry-run');
    expect(JSON.parse(again.stdout).plan.steps).toEqual([]);
    const idle = await cli('metabase', 'sync');
    expect(JSON.parse(idle.stdout).applied).toEqual([]);
    expect((await service.admin.get('/v1/audit?type=metabase.sync_step&limit=200')).body.items).toHaveLength(outcome.applied.length);
  });

  it('POST /v1/metabase/sync plans by default (dry run) and is for admins', async () => {
    const answer = await service.admin.post('/v1/metabase/sync', {});
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ dryRun: true, plan: { steps: [] } });
    expect((await finance.post('/v1/metabase/sync', {})).status).toBe(403);
  });
});

describe('sandboxes: proposed in a file, applied after the operator edits it', () => {
  it('proposes, applies (audited), and the tenant is then proven isolated', async () => {
    const file = join(dir, 'sandboxes.json');
    const proposed = await cli('metabase', 'sandboxes', 'propose', '--out', file);
    expect(proposed.status).toBe(0);
    const proposals = JSON.parse(readFileSync(file, 'utf8'));
    expect(proposals.map((p: { table: string; field: string }) => [p.table, p.field]).sort()).toEqual([
      ['PUBLIC.INVOICES', 'customer_id'],
      ['PUBLIC.ORDERS', 'customer_id'],
    ]);
    writeFileSync(file, JSON.stringify(proposals)); // the operator's review: kept as proposed
    const applied = await cli('metabase', 'sandboxes', 'apply', '--file', file);
    expect(applied.status).toBe(0);
    expect(JSON.parse(applied.stdout).applied.length).toBeGreaterThan(0);
    const status = await check();
    expect(codes(status)).toEqual([]);
    expect(status.lastCheck.tenants.proven).toEqual(['acme']);
    expect(safety.isolationVerdict(acme)).toMatchObject({ enforced: true, proven: true });
    expect((await cli('metabase', 'check')).status).toBe(0);
  });

  it('flags a broken setup again: an unlocked tenant parameter, and All Users reading a table', async () => {
    dashboard.embedding_params = { region: 'enabled', customer_id: 'enabled' };
    expect(codes(await check())).toEqual(['tenant_param_not_locked']);
    metabase.admin.setPermission(1, metabase.admin.databases[0].id, 'view-data', 'unrestricted');
    const status = await check();
    expect(codes(status)).toEqual(expect.arrayContaining(['tenant_param_not_locked']));
    expect(status.lastCheck.tenants.unproven).toEqual(['acme']);
    expect(safety.isolationVerdict(acme)).toMatchObject({ enforced: true, proven: false });
  });
});

describe('PUT /v1/metabase/fail-closed', () => {
  it('turns enforcement off and on, admins only, audited with its reason', async () => {
    expect((await finance.put('/v1/metabase/fail-closed', { enabled: false, reason: 'migration weekend' })).status).toBe(403);
    expect((await service.admin.put('/v1/metabase/fail-closed', { enabled: false })).status).toBe(400);
    const off = await service.admin.put('/v1/metabase/fail-closed', { enabled: false, reason: 'migration weekend' });
    expect(off.status).toBe(200);
    expect(off.body).toMatchObject({ enabled: false, reason: 'migration weekend' });
    expect(safety.isolationVerdict(acme)).toMatchObject({ enforced: false, proven: false });
    expect((await finance.get('/v1/metabase/status')).body.failClosed).toMatchObject({ enabled: false, reason: 'migration weekend' });
    expect((await service.admin.put('/v1/metabase/fail-closed', { enabled: true, reason: 'back to normal' })).status).toBe(200);
    expect(safety.isolationVerdict(acme).enforced).toBe(true);
    const audit = await service.admin.get('/v1/audit?type=metabase.fail_closed_changed');
    expect(audit.body.items.map((e: { data: { enabled: boolean; reason: string } }) => [e.data.enabled, e.data.reason])).toEqual([
      [true, 'back to normal'],
      [false, 'migration weekend'],
    ]);
  });
});

describe('MetabaseSafety.identityProblem', () => {
  it('refuses a superuser, a user in groups outside the tenant, and a user of another Metabase tenant; a new email is safe', async () => {
    const customers = metabase.admin.groupNamed('Customers').id;
    metabase.addUser('boss@acme.example', { is_superuser: true });
    metabase.addUser('ann@acme.example', { group_ids: [1, customers] } as never);
    metabase.addUser('eve@acme.example', { group_ids: [1, customers, metabase.admin.groupNamed('Internal analysts').id] } as never);
    metabase.addUser('tim@acme.example', { tenant_id: 4 } as never);
    expect(await safety.identityProblem('boss@acme.example', acme)).toMatch(/administrator/);
    expect(await safety.identityProblem('ann@acme.example', acme)).toBeNull();
    expect(await safety.identityProblem('eve@acme.example', acme)).toMatch(/Internal analysts/);
    expect(await safety.identityProblem('tim@acme.example', acme)).toMatch(/Metabase tenant #4/);
    expect(await safety.identityProblem('new@acme.example', acme)).toBeNull();
  });

  it('fails closed when Metabase cannot answer', async () => {
    metabase.down = true;
    try {
      expect(await safety.identityProblem('someone@acme.example', acme)).toMatch(/could not be asked/);
    } finally {
      metabase.down = false;
    }
  });
});
