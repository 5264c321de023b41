import { SsoTokenMinter } from '../../src/metabase/metabase-tokens.js';
import { FakeMetabase, type FakeMetabaseUser } from '../support/fake-metabase.js';
import { embedBody, seed, startService, TEST_SECRETS, type Api, type RunningService } from '../support/service.js';

/**
 * METABASE_USER_PROVISIONING=embedgate: Metabase runs with JWT user provisioning off, and embedgate
 * creates the Metabase account when the seat is first taken (the tenant's groups and attributes, no
 * invitation email), through POST /v1/embeds against the fake Metabase. Fail-closed stays on: the
 * fake holds no data, so the check proves every tenant isolated (vacuously).
 */
const METABASE_API_KEY = 'mb_accounts_api_key_0123456789';

/** A Metabase set up for embedgate's SSO, JWT user provisioning off; tenant groups with Metabase tenants. */
async function fakeMetabase(options: { tenants?: boolean } = {}): Promise<FakeMetabase> {
  const metabase = await new FakeMetabase(METABASE_API_KEY, TEST_SECRETS.METABASE_JWT_SHARED_SECRET).start();
  const admin = metabase.admin;
  admin.env.set('embedding-secret-key', TEST_SECRETS.METABASE_EMBEDDING_SECRET_KEY);
  admin.stored.set('jwt-enabled', true);
  admin.stored.set('jwt-group-sync', true);
  admin.env.set('jwt-user-provisioning-enabled?', false);
  for (const name of ['Customers', 'Analysts']) admin.addGroup(name, { is_tenant_group: options.tenants === true });
  admin.addGroup('Internal analysts');
  if (options.tenants) {
    admin.stored.set('use-tenants', true);
    admin.tenants.push({ id: 7, name: 'Globex', slug: 'globex', is_active: true, member_count: 0, attributes: {}, tenant_collection_id: 70 });
  }
  return metabase;
}

const posts = (metabase: FakeMetabase) => metabase.requestsFor('POST', '/api/user').length;
const groupIds = (metabase: FakeMetabase, ...names: string[]) => names.map((n) => metabase.admin.groupNamed(n).id);
const ssoToken = (email: string) =>
  new SsoTokenMinter(TEST_SECRETS.METABASE_JWT_SHARED_SECRET).mint({ email, groups: [], attributes: {} }, new Date(), 60).token;

describe('embedgate creates the Metabase account when the seat is first taken (no Metabase tenants)', () => {
  let metabase: FakeMetabase;
  let service: RunningService;
  let app: Api;

  const seatsOf = async (slug: string): Promise<{ userId: string }[]> => (await service.admin.get(`/v1/seats?tenant=${slug}`)).body.items;
  const audit = async (type: string) => (await service.admin.get(`/v1/audit?type=${type}`)).body.items;
  const check = async () => {
    const answer = await service.admin.post('/v1/metabase/check');
    expect(answer.status).toBe(200);
    return answer.body.lastCheck.findings as { code: string; severity: string; message: string }[];
  };

  beforeAll(async () => {
    metabase = await fakeMetabase();
    service = await startService({
      SEAT_BUDGET: '20',
      METABASE_API_URL: metabase.url,
      METABASE_API_KEY,
      METABASE_USER_PROVISIONING: 'embedgate',
      OUTBOX_INTERVAL_SECONDS: '3600',
    });
    ({ host: app } = await seed(service.admin, {
      tenants: [
        { slug: 'globex', name: 'Globex', kind: 'external', tier: 'drill', customerId: 'globex-1', attributes: { region: 'eu', tier_level: 2 } },
        { slug: 'corp', name: 'Corp', kind: 'internal', tier: 'drill' },
        { slug: 'odd', name: 'Odd', kind: 'internal', tier: 'drill', groups: ['Nowhere'] },
      ],
      resources: [{ key: 'sales-overview', type: 'dashboard', metabaseId: 1, tenantParam: 'customer_id' }],
      apps: { host: { tenants: '*' } },
    }));
    const findings = await check();
    expect(findings.filter((f) => f.severity === 'blocking').map((f) => f.code)).not.toContain('account_invite_email');
    expect((await service.admin.get('/v1/metabase/status')).body.lastCheck.tenants.proven).toContain('globex');
  });

  afterAll(async () => {
    await service?.stop();
    await metabase?.stop();
  });

  it('with JWT provisioning off, Metabase refuses the login of a user nobody created (the fake models sso_utils/check-user-provisioning)', () => {
    expect(() => metabase.ssoLogin(ssoToken('nobody@globex.example'))).toThrow(/^401 /);
  });

  it('the first SSO embed creates the account with the tenant’s groups and the token’s attributes, sends no invitation, and is audited', async () => {
    const answer = await app.post('/v1/embeds', embedBody('globex', 'ann'));
    expect(answer.status).toBe(201);
    expect(answer.body).toMatchObject({ mode: 'sso', seat: { new: true } });
    const user = metabase.byEmail('ann@globex.example')!;
    expect(user).toMatchObject({ is_active: true, is_superuser: false, tenant_id: null });
    expect(user.group_ids!.sort()).toEqual([1, ...groupIds(metabase, 'Customers')].sort());
    expect(user.login_attributes).toEqual({ customer_id: 'globex-1', region: 'eu', tier_level: '2' });
    expect(metabase.invitations).toEqual([]);
    // The JWT login now finds the account (provisioning off refuses only unknown or deactivated users).
    expect(metabase.ssoLogin(answer.body.jwt).id).toBe(user.id);
    const [entry] = await audit('metabase.account_created');
    expect(entry).toMatchObject({
      tenant: 'globex',
      data: { email: 'ann@globex.example', metabaseUserId: user.id, groups: ['Customers'], metabaseTenantId: null },
    });
  });

  it('a second embed of the same user does not create the account again', async () => {
    const before = posts(metabase);
    const answer = await app.post('/v1/embeds', embedBody('globex', 'ann'));
    expect(answer.body).toMatchObject({ mode: 'sso', seat: { new: false } });
    expect(posts(metabase)).toBe(before);
    expect(metabase.users.filter((u) => u.email === 'ann@globex.example')).toHaveLength(1);
  });

  it('two concurrent first embeds of one user make one account', async () => {
    const before = posts(metabase);
    const answers = await Promise.all([app.post('/v1/embeds', embedBody('globex', 'ivy')), app.post('/v1/embeds', embedBody('globex', 'ivy'))]);
    expect(answers.map((a) => a.body.mode)).toEqual(['sso', 'sso']);
    expect(metabase.users.filter((u) => u.email === 'ivy@globex.example')).toHaveLength(1);
    expect(posts(metabase)).toBe(before + 1);
  });

  it('an internal tenant’s user gets an internal account with the internal groups', async () => {
    expect((await app.post('/v1/embeds', embedBody('corp', 'cy'))).body.mode).toBe('sso');
    const user = metabase.byEmail('cy@corp.example')!;
    expect(user.group_ids!.sort()).toEqual([1, ...groupIds(metabase, 'Internal analysts')].sort());
    expect(user.login_attributes).toEqual({});
  });

  it('a deactivated account is reactivated, its groups and attributes reset, and it is audited', async () => {
    const stale: FakeMetabaseUser = metabase.addUser('bo@globex.example', {
      is_active: false,
      group_ids: [1],
      login_attributes: { customer_id: 'someone-else' },
    });
    const answer = await app.post('/v1/embeds', embedBody('globex', 'bo'));
    expect(answer.body.mode).toBe('sso');
    expect(metabase.requestsFor('PUT', `/api/user/${stale.id}/reactivate`)).toHaveLength(1);
    expect(stale.is_active).toBe(true);
    expect(stale.group_ids!.sort()).toEqual([1, ...groupIds(metabase, 'Customers')].sort());
    expect(stale.login_attributes).toEqual({ customer_id: 'globex-1', region: 'eu', tier_level: '2' });
    expect(metabase.users.filter((u) => u.email === 'bo@globex.example')).toHaveLength(1);
    const [entry] = await audit('metabase.account_reactivated');
    expect(entry).toMatchObject({ tenant: 'globex', data: { email: 'bo@globex.example', metabaseUserId: stale.id } });
  });

  it('an account that turned unsafe since the identity check (an administrator’s, made meanwhile) is neither written to nor signed in: 403, seat given back', async () => {
    // The identity check's answer ("no such account") is kept a minute; the account is read again before any write.
    expect((await app.post('/v1/embeds/explain', embedBody('globex', 'eve'))).body.decision.mode).toBe('sso');
    const admin = metabase.addUser('eve@globex.example', { is_superuser: true, group_ids: [1, 2], login_attributes: {} });
    const answer = await app.post('/v1/embeds', embedBody('globex', 'eve'));
    expect(answer.status).toBe(403);
    expect(answer.body.error.code).toBe('identity_unsafe');
    expect(answer.body.error.message).toMatch(/administrator/);
    expect(metabase.requestsFor('PUT', `/api/user/${admin.id}`)).toHaveLength(0);
    expect(admin.login_attributes).toEqual({});
    expect((await seatsOf('globex')).map((s) => s.userId)).not.toContain('eve');
  });

  it('a reactivation Metabase keeps refusing (400): 503, and the seat is given back', async () => {
    metabase.addUser('fay@globex.example', { is_active: false, group_ids: [1] });
    metabase.refuse.set(`PUT /api/user/${metabase.byEmail('fay@globex.example')!.id}/reactivate`, {
      status: 400,
      body: { message: 'Not able to reactivate an active user' },
    });
    let answer;
    try {
      answer = await app.post('/v1/embeds', embedBody('globex', 'fay'));
    } finally {
      metabase.refuse.clear();
    }
    expect(answer.status).toBe(503);
    expect(answer.body.error.message).toMatch(/could not be reactivated/);
    expect((await seatsOf('globex')).map((s) => s.userId)).not.toContain('fay');
  });

  it('when Metabase fails to create the account: 503 metabase_account_unavailable, no token, and the seat is given back', async () => {
    const seatsBefore = (await service.admin.get('/v1/tenants/globex')).body.seatsHeld;
    metabase.refuse.set('POST /api/user', { status: 500, body: 'Internal server error' });
    let answer;
    try {
      answer = await app.post('/v1/embeds', embedBody('globex', 'dee'));
    } finally {
      metabase.refuse.clear();
    }
    expect(answer.status).toBe(503);
    expect(answer.body.error.code).toBe('metabase_account_unavailable');
    expect(answer.body.error.message).toMatch(/could not be created \(POST \/api\/user answered 500/);
    expect(JSON.stringify(answer.body)).not.toMatch(/eyJ/);
    expect((await seatsOf('globex')).map((s) => s.userId)).not.toContain('dee');
    expect((await service.admin.get('/v1/tenants/globex')).body.seatsHeld).toBe(seatsBefore);
    const [released] = await audit('seat.released');
    expect(released).toMatchObject({ tenant: 'globex', data: { userId: 'dee', reason: 'metabase-account-unavailable' } });
    // Metabase back: the same user gets a seat, an account and a token.
    const again = await app.post('/v1/embeds', embedBody('globex', 'dee'));
    expect(again.body).toMatchObject({ mode: 'sso', seat: { new: true } });
    expect(metabase.byEmail('dee@globex.example')?.is_active).toBe(true);
  });

  it('when Metabase cannot be reached after the identity check, the same (503, seat given back)', async () => {
    // The identity check's answer for this email is kept 60 s: ask it first, then take Metabase down.
    expect((await app.post('/v1/embeds/explain', embedBody('globex', 'eli'))).body.decision.mode).toBe('sso');
    metabase.down = true;
    let answer;
    try {
      answer = await app.post('/v1/embeds', embedBody('globex', 'eli'));
    } finally {
      metabase.down = false;
    }
    expect(answer.status).toBe(503);
    expect(answer.body.error).toMatchObject({
      code: 'metabase_account_unavailable',
      message: expect.stringMatching(/Metabase could not be asked for the account/),
    });
    expect(answer.body.jwt).toBeUndefined();
    expect((await seatsOf('globex')).map((s) => s.userId)).not.toContain('eli');
  });

  it('a group Metabase does not have: 503 naming the group, and no seat', async () => {
    const answer = await app.post('/v1/embeds', embedBody('odd', 'fay'));
    expect(answer.status).toBe(503);
    expect(answer.body.error).toMatchObject({ code: 'metabase_account_unavailable', message: expect.stringMatching(/Metabase has no group 'Nowhere'/) });
    expect(await seatsOf('odd')).toEqual([]);
    expect(metabase.byEmail('fay@odd.example')).toBeUndefined();
  });

  it('with Metabase’s email configured: creates no account that would be sent an invitation (503), and the check says so', async () => {
    metabase.admin.stored.set('email-smtp-host', 'smtp.example');
    try {
      const before = posts(metabase);
      const answer = await app.post('/v1/embeds', embedBody('corp', 'gus'));
      expect(answer.status).toBe(503);
      expect(answer.body.error.message).toMatch(/Metabase has email \(SMTP\) configured, so creating the account could send the user an invitation/);
      expect(posts(metabase)).toBe(before);
      expect(metabase.invitations).toEqual([]);
      expect(await seatsOf('corp')).not.toContainEqual(expect.objectContaining({ userId: 'gus' }));
      const finding = (await check()).find((f) => f.code === 'account_invite_email');
      expect(finding).toMatchObject({ severity: 'blocking', message: expect.stringMatching(/new SSO users of corp, globex, odd get 503/) });
      // An account that exists is still made ready: reactivating sends no email.
      const gone = metabase.addUser('hal@corp.example', { is_active: false, group_ids: [1] });
      expect((await app.post('/v1/embeds', embedBody('corp', 'hal'))).body.mode).toBe('sso');
      expect(gone.is_active).toBe(true);
    } finally {
      metabase.admin.stored.delete('email-smtp-host');
    }
    expect((await check()).map((f) => f.code)).not.toContain('account_invite_email');
  });

  it('the check warns while Metabase’s JWT provisioning is still on: embedgate is not the only one deciding', async () => {
    metabase.admin.env.set('jwt-user-provisioning-enabled?', true);
    try {
      const finding = (await check()).find((f) => f.code === 'jwt_provisioning_on');
      expect(finding).toMatchObject({ severity: 'warning', message: expect.stringMatching(/embedgate is not the only one deciding/) });
    } finally {
      metabase.admin.env.set('jwt-user-provisioning-enabled?', false);
    }
    expect((await check()).map((f) => f.code)).not.toContain('jwt_provisioning_on');
  });
});

describe('embedgate creates the Metabase account (METABASE_TENANTS: a user of the tenant’s Metabase tenant)', () => {
  let metabase: FakeMetabase;
  let service: RunningService;
  let app: Api;

  beforeAll(async () => {
    metabase = await fakeMetabase({ tenants: true });
    // Email configured: a tenant user is created with tenant_id, which Metabase sends nothing.
    metabase.admin.stored.set('email-smtp-host', 'smtp.example');
    service = await startService({
      METABASE_API_URL: metabase.url,
      METABASE_API_KEY,
      METABASE_USER_PROVISIONING: 'embedgate',
      METABASE_TENANTS: 'true',
      OUTBOX_INTERVAL_SECONDS: '3600',
    });
    ({ host: app } = await seed(service.admin, {
      tenants: [{ slug: 'globex', name: 'Globex', kind: 'external', tier: 'drill', customerId: 'globex-1' }],
      resources: [{ key: 'sales-overview', type: 'dashboard', metabaseId: 1, tenantParam: 'customer_id' }],
      apps: { host: { tenants: '*' } },
    }));
    const check = await service.admin.post('/v1/metabase/check');
    expect(check.body.lastCheck.tenants.proven).toEqual(['globex']);
    expect(check.body.lastCheck.findings.map((f: { code: string }) => f.code)).not.toContain('account_invite_email');
  });

  afterAll(async () => {
    await service?.stop();
    await metabase?.stop();
  });

  it('creates the account in the Metabase tenant, with the tenant groups and All tenant users, and no invitation', async () => {
    const answer = await app.post('/v1/embeds', embedBody('globex', 'ann'));
    expect(answer.body).toMatchObject({ mode: 'sso', seat: { new: true } });
    const user = metabase.byEmail('ann@globex.example')!;
    expect(user.tenant_id).toBe(7);
    expect(user.group_ids!.sort()).toEqual([3, ...groupIds(metabase, 'Customers')].sort());
    expect(user.login_attributes).toEqual({ customer_id: 'globex-1' });
    expect(metabase.invitations).toEqual([]);
    const [entry] = (await service.admin.get('/v1/audit?type=metabase.account_created')).body.items;
    expect(entry.data).toMatchObject({ metabaseTenantId: 7 });
    // The identity check accepts the account it made: the next embed is SSO on the held seat.
    expect((await app.post('/v1/embeds', embedBody('globex', 'ann'))).body).toMatchObject({ mode: 'sso', seat: { new: false } });
  });
});
