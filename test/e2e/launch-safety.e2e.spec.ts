import { FakeMetabase } from '../support/fake-metabase.js';
import { embedBody, seed, startService, TEST_SECRETS, type Api, type RunningService } from '../support/service.js';

/**
 * GET /v1/launch/{id}: a one-time link made by POST /v1/embeds asks again, when it is opened, what the
 * embed asked: the tenant still proven isolated (fail-closed on), the email still in the tenant's
 * domains, and the email still safe to sign in (asked of Metabase then, not from the kept answers).
 * With the real MetabaseSafety and a fake Metabase that holds no data (every tenant proven, vacuously).
 */
const METABASE_API_KEY = 'mb_launch_safety_key_0123456789';

let metabase: FakeMetabase;
let service: RunningService;
let app: Api;

const check = async () => {
  const answer = await service.admin.post('/v1/metabase/check');
  expect(answer.status).toBe(200);
  return answer.body.lastCheck;
};

/** An SSO embed's one-time link. */
async function launchLink(userId: string): Promise<string> {
  const answer = await app.post('/v1/embeds', embedBody('globex', userId));
  expect(answer.body.mode).toBe('sso');
  return answer.body.url;
}

/** All Users reads a whole warehouse: the check can no longer prove globex isolated. Returns the undo. */
async function loseProof(): Promise<() => Promise<void>> {
  const warehouse = metabase.admin.addDatabase('Warehouse', [{ name: 'ORDERS', fields: ['id', 'customer_id'] }]);
  metabase.admin.setPermission(1, warehouse.id, 'view-data', 'unrestricted');
  expect((await check()).tenants.unproven).toEqual(['globex']);
  return async () => {
    metabase.admin.databases.splice(metabase.admin.databases.indexOf(warehouse), 1);
    metabase.admin.permissions.get(1)?.delete(warehouse.id);
    expect((await check()).tenants.proven).toEqual(['globex']);
  };
}

beforeAll(async () => {
  metabase = await new FakeMetabase(METABASE_API_KEY, TEST_SECRETS.METABASE_JWT_SHARED_SECRET).start();
  metabase.admin.env.set('embedding-secret-key', TEST_SECRETS.METABASE_EMBEDDING_SECRET_KEY);
  metabase.admin.stored.set('jwt-enabled', true);
  metabase.admin.stored.set('jwt-group-sync', true);
  for (const name of ['Customers', 'Analysts', 'Internal analysts']) metabase.admin.addGroup(name);
  service = await startService({ METABASE_API_URL: metabase.url, METABASE_API_KEY, OUTBOX_INTERVAL_SECONDS: '3600' });
  ({ host: app } = await seed(service.admin, {
    tenants: [{ slug: 'globex', name: 'Globex', kind: 'external', tier: 'drill', customerId: 'globex-1' }],
    resources: [{ key: 'sales-overview', type: 'dashboard', metabaseId: 1, tenantParam: 'customer_id' }],
    apps: { host: { tenants: '*' } },
  }));
  expect((await check()).tenants.proven).toEqual(['globex']);
});

afterAll(async () => {
  await service?.stop();
  await metabase?.stop();
});

describe('GET /v1/launch/{id} re-checks safety when opened', () => {
  it('redirects to Metabase when nothing changed since the embed', async () => {
    const launch = await app.openLaunch(await launchLink('ann'));
    expect(launch.status).toBe(302);
    expect(launch.location).toMatch(/\/auth\/sso\?jwt=/);
  });

  it('refuses with 403 isolation_unverified when the proof was lost between the embed and the launch, and audits it', async () => {
    const url = await launchLink('bo');
    const restore = await loseProof();
    try {
      const launch = await app.openLaunch(url);
      expect(launch.status).toBe(403);
      expect(launch.location).toBeNull();
      expect(launch.body.error).toMatchObject({ code: 'isolation_unverified', message: expect.stringMatching(/did not prove tenant 'globex' isolated/) });
      const [entry] = (await service.admin.get('/v1/audit?type=launch.refused')).body.items;
      expect(entry).toMatchObject({ actor: 'browser', tenant: 'globex', data: { userId: 'bo', code: 'isolation_unverified' } });
      // The link is spent: opening it again is 410, as for any used link.
      expect((await app.openLaunch(url)).status).toBe(410);
    } finally {
      await restore();
    }
  });

  it('refuses when fail-closed was turned back on between the embed and the launch of an unproven tenant', async () => {
    const restore = await loseProof();
    try {
      expect((await service.admin.put('/v1/metabase/fail-closed', { enabled: false, reason: 'launch test: emergency' })).status).toBe(200);
      const url = await launchLink('cy');
      expect((await service.admin.put('/v1/metabase/fail-closed', { enabled: true, reason: 'launch test: over' })).status).toBe(200);
      const launch = await app.openLaunch(url);
      expect(launch.status).toBe(403);
      expect(launch.body.error.code).toBe('isolation_unverified');
    } finally {
      await service.admin.put('/v1/metabase/fail-closed', { enabled: true, reason: 'launch test: over' });
      await restore();
    }
  });

  it('refuses with 403 identity_unsafe when the Metabase user became a superuser after the embed (asked afresh, not from the 60 s answers)', async () => {
    // First login: Metabase's JWT provisioning creates the user.
    const first = await app.openLaunch(await launchLink('dee'));
    expect(first.status).toBe(302);
    const user = metabase.ssoLogin(first.location!);
    // The embed asks (and keeps the answer "safe" for 60 s); then the user is made an administrator.
    const url = await launchLink('dee');
    user.is_superuser = true;
    try {
      const launch = await app.openLaunch(url);
      expect(launch.status).toBe(403);
      expect(launch.body.error).toMatchObject({ code: 'identity_unsafe', message: expect.stringMatching(/administrator/) });
      expect(JSON.stringify(launch.body)).not.toMatch(/eyJ/);
    } finally {
      user.is_superuser = false;
    }
  });

  it('refuses with 403 email_domain_not_allowed when the tenant’s email domains no longer hold the email', async () => {
    const url = await launchLink('eve');
    expect((await service.admin.patch('/v1/tenants/globex', { emailDomains: ['elsewhere.example'] })).status).toBe(200);
    try {
      const launch = await app.openLaunch(url);
      expect(launch.status).toBe(403);
      expect(launch.body.error.code).toBe('email_domain_not_allowed');
    } finally {
      await service.admin.patch('/v1/tenants/globex', { emailDomains: ['globex.example'] });
    }
  });

  it('refuses with 410 launch_revoked when the tenant was suspended meanwhile (as before)', async () => {
    const url = await launchLink('fay');
    expect((await service.admin.patch('/v1/tenants/globex', { status: 'suspended' })).status).toBe(200);
    const launch = await app.openLaunch(url);
    expect(launch.status).toBe(410);
    expect(launch.body.error.code).toBe('launch_revoked');
  });
});
