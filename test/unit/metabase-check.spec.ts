import { checkMetabase, majorVersion, secretMatches } from '../../src/metabase/admin/check-metabase.js';
import { buildExpectations, type MetabaseExpectations } from '../../src/metabase/admin/expectations.js';
import { FINDING_CODES, type FindingCode } from '../../src/metabase/admin/findings.js';
import { groupsReached, isolationProof, unprovenTenants } from '../../src/metabase/admin/isolation-proof.js';
import { fingerprintSecret, type MetabaseSnapshot } from '../../src/metabase/admin/metabase-snapshot.js';
import { cleanSnapshotFixture, FIXTURE_EXPECTATION_INPUTS, FIXTURE_SECRETS } from '../support/fake-metabase.js';

const clean = (): MetabaseSnapshot => cleanSnapshotFixture(fingerprintSecret) as MetabaseSnapshot;
const expectations = (change: Partial<typeof FIXTURE_EXPECTATION_INPUTS> = {}): MetabaseExpectations =>
  buildExpectations({ ...FIXTURE_EXPECTATION_INPUTS, ...change });

const codes = (snapshot: MetabaseSnapshot, e = expectations()) => checkMetabase(snapshot, e).map((f) => f.code);
const problems = (snapshot: MetabaseSnapshot, e = expectations()) => checkMetabase(snapshot, e).filter((f) => f.severity !== 'info');
const only = (snapshot: MetabaseSnapshot, e = expectations()) => [...new Set(problems(snapshot, e).map((f) => f.code))].sort();
const viewData = (s: MetabaseSnapshot, group: number) => s.graph!.groups[String(group)]['1']['view-data'] as Record<string, Record<string, string>>;

describe('checkMetabase: a clean instance', () => {
  it('has no blocking finding and no warning; only the provisioning note', () => {
    expect(problems(clean())).toEqual([]);
    expect(codes(clean())).toEqual(['jwt_provisioning_reactivates']);
  });

  it('proves isolation for both external group sets, and says nothing of internal ones', () => {
    const proofs = isolationProof(clean(), expectations());
    expect(proofs.map((p) => [p.set.groups, p.proven])).toEqual([
      [['Customers'], true],
      [['Analysts', 'Customers'], true],
    ]);
    expect(proofs[0].groups.map((g) => g.name).sort()).toEqual(['All Users', 'Customers']);
    expect(unprovenTenants(proofs)).toEqual([]);
  });

  it('every code it can emit is in the documented table, with its severity', () => {
    for (const finding of checkMetabase(clean(), expectations())) expect(FINDING_CODES[finding.code].severity).toBe(finding.severity);
  });
});

describe('checkMetabase: reachability and instance', () => {
  it('reports an unreachable Metabase and nothing else', () => {
    const s = { ...clean(), reachable: false, failure: { message: 'Metabase is unreachable (ECONNREFUSED)' } };
    expect(codes(s)).toEqual(['metabase_unreachable']);
  });

  it('tells a refused API key apart', () => {
    expect(codes({ ...clean(), reachable: false, failure: { status: 403, message: 'GET /api/session/properties answered 403' } })).toEqual(['api_key_refused']);
  });

  it('flags a Metabase older than v50', () => {
    expect(majorVersion('v1.58.3')).toBe(58);
    expect(majorVersion('v0.49.12')).toBe(49);
    expect(only({ ...clean(), version: 'v0.49.12' })).toEqual(['version_unsupported']);
  });

  it('flags each token feature the tenants need and the license lacks', () => {
    const s = clean();
    s.tokenFeatures = { sso_jwt: true, sandboxes: false };
    expect(
      checkMetabase(s, expectations())
        .filter((f) => f.code === 'feature_missing')
        .map((f) => f.object),
    ).toEqual(['token feature sandboxes']);
    const tenants = expectations({ metabaseTenants: true });
    expect(
      checkMetabase(s, tenants)
        .filter((f) => f.code === 'feature_missing')
        .map((f) => f.object),
    ).toEqual(['token feature sandboxes', 'token feature tenants']);
  });

  it('asks only for sso_jwt when no external tenant drills, and for nothing without drill tenants', () => {
    expect(expectations({ tenants: [FIXTURE_EXPECTATION_INPUTS.tenants[2]] }).features).toEqual(['sso_jwt']);
    expect(expectations({ tenants: [FIXTURE_EXPECTATION_INPUTS.tenants[1]] }).features).toEqual([]);
  });

  it('flags a part it could not read as incomplete, and does not prove isolation without it', () => {
    const s = { ...clean(), graph: null, unread: [{ part: 'graph' as const, status: 500, message: 'GET /api/permissions/graph answered 500' }] };
    expect(only(s)).toEqual(['snapshot_incomplete']);
    expect(isolationProof(s, expectations()).every((p) => !p.proven && p.unread.includes('graph'))).toBe(true);
  });
});

describe('checkMetabase: secrets', () => {
  it('flags a wrong embedding secret and a wrong JWT secret, without printing either', () => {
    const s = clean();
    s.secrets = {
      embeddingSecretKey: { fingerprint: fingerprintSecret('f'.repeat(64))! },
      jwtSharedSecret: { fingerprint: fingerprintSecret('another-jwt-secret-0123456789-abcdef')! },
    };
    const findings = checkMetabase(s, expectations());
    expect(
      findings
        .filter((f) => f.severity === 'blocking')
        .map((f) => f.code)
        .sort(),
    ).toEqual(['embedding_secret_mismatch', 'jwt_secret_mismatch']);
    const printed = JSON.stringify(findings) + JSON.stringify(s);
    for (const secret of [FIXTURE_SECRETS.embeddingSecretKey, FIXTURE_SECRETS.jwtSharedSecret, 'f'.repeat(64)]) expect(printed).not.toContain(secret);
  });

  it('treats an unset or unreadable secret as a mismatch', () => {
    const s = clean();
    s.secrets = { embeddingSecretKey: 'unset', jwtSharedSecret: 'unreadable' };
    const findings = checkMetabase(s, expectations());
    expect(findings.find((f) => f.code === 'embedding_secret_mismatch')?.message).toMatch(/is not set/);
    expect(findings.find((f) => f.code === 'jwt_secret_mismatch')?.message).toMatch(/cannot be read/);
  });

  it('compares fingerprints of equal length only', () => {
    expect(secretMatches({ fingerprint: fingerprintSecret('abc')! }, 'abc')).toBe(true);
    expect(secretMatches({ fingerprint: 'ab' }, 'abc')).toBe(false);
    expect(secretMatches('unset', '')).toBe(false);
  });
});

describe('checkMetabase: guest embedding and resources', () => {
  const item = (s: MetabaseSnapshot) => s.items[0].item!;

  it('flags static embedding turned off', () => {
    const s = clean();
    s.settings['enable-embedding-static'] = false;
    expect(only(s)).toEqual(['guest_embedding_off']);
  });

  it('flags a missing resource', () => {
    const s = clean();
    s.items[0].item = null;
    expect(only(s)).toEqual(['resource_missing']);
  });

  it('flags an archived resource (Metabase returns it, with archived: true)', () => {
    const s = clean();
    item(s).archived = true;
    expect(only(s)).toEqual(['resource_archived']);
  });

  it('flags a guest resource not published for embedding', () => {
    const s = clean();
    item(s).enable_embedding = false;
    expect(only(s)).toEqual(['resource_embedding_off']);
  });

  it('flags a tenant parameter left editable, or absent from embedding_params (disabled)', () => {
    const s = clean();
    item(s).embedding_params = { customer_id: 'enabled', region: 'enabled' };
    expect(only(s)).toEqual(['tenant_param_not_locked']);
    item(s).embedding_params = null;
    expect(checkMetabase(s, expectations()).find((f) => f.code === 'tenant_param_not_locked')?.message).toMatch(/is disabled/);
  });

  it('flags a resource without the tenant parameter at all', () => {
    const s = clean();
    item(s).parameters = [{ id: 'p2', slug: 'region' }];
    expect(only(s)).toEqual(['tenant_param_missing']);
  });

  it('does not ask an SSO-only resource to be published', () => {
    const s = clean();
    item(s).enable_embedding = false;
    const e = expectations({ resources: [{ ...FIXTURE_EXPECTATION_INPUTS.resources[0], tenantParam: null as unknown as string }] });
    expect(only(s, e)).toEqual([]);
  });
});

describe('checkMetabase: JWT sign-in', () => {
  it('flags JWT turned off', () => {
    const s = clean();
    s.settings['jwt-enabled'] = false;
    expect(only(s)).toEqual(['jwt_disabled']);
  });

  it('flags a renamed claim attribute', () => {
    const s = clean();
    s.settings['jwt-attribute-groups'] = 'roles';
    const findings = problems(s);
    expect(findings.map((f) => [f.code, f.object])).toEqual([['jwt_attribute_renamed', 'setting jwt-attribute-groups']]);
  });

  it('flags group sync off: the groups embedgate sends would be ignored', () => {
    const s = clean();
    s.settings['jwt-group-sync'] = false;
    expect(only(s)).toEqual(['jwt_group_sync_off']);
  });

  it('asks nothing of JWT when no tenant drills', () => {
    const s = clean();
    s.settings['jwt-enabled'] = false;
    s.settings['jwt-group-sync'] = false;
    expect(only(s, expectations({ tenants: [FIXTURE_EXPECTATION_INPUTS.tenants[1]] }))).toEqual([]);
  });
});

describe('checkMetabase: who creates SSO users’ accounts (METABASE_USER_PROVISIONING)', () => {
  const embedgate = (change: Partial<typeof FIXTURE_EXPECTATION_INPUTS> = {}) => expectations({ userProvisioning: 'embedgate', ...change });
  const provisioningOff = () => {
    const s = clean();
    s.settings['jwt-user-provisioning-enabled?'] = false;
    s.settings['email-configured?'] = false;
    return s;
  };

  it('metabase (the default): JWT provisioning on is only a note; off is blocking, since a new user’s login is refused', () => {
    expect(codes(clean())).toEqual(['jwt_provisioning_reactivates']);
    const findings = checkMetabase(provisioningOff(), expectations());
    expect(findings.map((f) => [f.code, f.severity])).toEqual([['jwt_provisioning_off', 'blocking']]);
    expect(findings[0].fix).toMatch(/METABASE_USER_PROVISIONING=embedgate/);
  });

  it('embedgate: nothing to say when Metabase’s JWT provisioning is off and its email is not configured', () => {
    expect(codes(provisioningOff(), embedgate())).toEqual([]);
  });

  it('embedgate: warns while Metabase’s JWT provisioning is still on (embedgate is not the only one deciding)', () => {
    const s = provisioningOff();
    s.settings['jwt-user-provisioning-enabled?'] = true;
    const findings = checkMetabase(s, embedgate());
    expect(findings.map((f) => [f.code, f.severity, f.object])).toEqual([['jwt_provisioning_on', 'warning', 'setting jwt-user-provisioning-enabled?']]);
    expect(findings[0].fix).toMatch(/MB_JWT_USER_PROVISIONING_ENABLED=false/);
  });

  it('embedgate: blocks when accounts would be created without a Metabase tenant while Metabase’s email is configured (or unknown)', () => {
    const s = provisioningOff();
    s.settings['email-configured?'] = true;
    const [finding] = checkMetabase(s, embedgate());
    expect(finding).toMatchObject({ code: 'account_invite_email', severity: 'blocking', object: 'setting email-configured?' });
    // acme (external) and staff (internal) drill: both would be created without tenant_id.
    expect(finding.message).toMatch(/new SSO users of acme, staff get 503 metabase_account_unavailable/);
    delete s.settings['email-configured?'];
    expect(codes(s, embedgate())).toEqual(['account_invite_email']);
  });

  it('embedgate with Metabase tenants: external users are tenant users (no invitation); internal drill tenants still count', () => {
    const s = provisioningOff();
    s.settings['email-configured?'] = true;
    const tenantsOnly = embedgate({ metabaseTenants: true, tenants: FIXTURE_EXPECTATION_INPUTS.tenants.filter((t) => t.kind === 'external') });
    expect(checkMetabase(s, tenantsOnly).filter((f) => f.code === 'account_invite_email')).toEqual([]);
    const withStaff = embedgate({ metabaseTenants: true });
    expect(checkMetabase(s, withStaff).find((f) => f.code === 'account_invite_email')?.message).toMatch(/new SSO users of staff get/);
  });
});

describe('checkMetabase: groups', () => {
  it('flags a group embedgate assigns that does not exist', () => {
    const s = clean();
    s.groups = s.groups!.filter((g) => g.name !== 'Analysts');
    s.settings['jwt-group-mappings'] = { Customers: [10], 'Internal analysts': [12] };
    expect(
      problems(s)
        .filter((f) => f.code === 'group_missing')
        .map((f) => f.object),
    ).toEqual(["group 'Analysts'"]);
  });

  it('flags a group mapped to Administrators', () => {
    const s = clean();
    s.settings['jwt-group-mappings'] = { Customers: [10, 2], Analysts: [11], 'Internal analysts': [12] };
    expect(problems(s).map((f) => f.code)).toContain('group_maps_to_admin');
  });

  it('flags the Administrators name without mappings: the claim is matched literally', () => {
    const s = clean();
    s.settings['jwt-group-mappings'] = {};
    const e = expectations({ groups: { ...FIXTURE_EXPECTATION_INPUTS.groups, byRole: { analyst: ['Administrators'] } } });
    const findings = problems(s, e);
    expect(findings.find((f) => f.code === 'group_maps_to_admin')?.object).toBe("group 'Administrators'");
    // And the proof sees it: an analyst of an external tenant would be a superuser.
    expect(isolationProof(s, e).find((p) => p.set.roles.includes('analyst'))?.proven).toBe(false);
  });

  it('flags a group unmapped while mappings are in use, or mapped to another group', () => {
    const s = clean();
    s.settings['jwt-group-mappings'] = { Customers: [11], 'Internal analysts': [12] };
    expect(
      problems(s)
        .filter((f) => f.code === 'group_mapping_mismatch')
        .map((f) => f.object)
        .sort(),
    ).toEqual(["group 'Analysts'", "group 'Customers'"]);
  });

  it('with Metabase tenants, flags an external group that is not a tenant group', () => {
    const s = tenantSnapshot();
    s.groups!.find((g) => g.name === 'Customers')!.is_tenant_group = false;
    expect(problems(s, tenantExpectations()).map((f) => f.code)).toContain('group_tenancy_mismatch');
  });
});

describe('checkMetabase: Metabase tenants', () => {
  it('is clean in tenant mode, with sandboxes keyed on @tenant.slug', () => {
    expect(problems(tenantSnapshot(), tenantExpectations())).toEqual([]);
  });

  it('flags use-tenants off', () => {
    const s = tenantSnapshot();
    s.settings['use-tenants'] = false;
    expect(only(s, tenantExpectations())).toContain('tenants_disabled');
  });

  it('notes a tenant not yet in Metabase, and warns of a deactivated one', () => {
    const s = tenantSnapshot();
    s.tenants = [{ id: 4, name: 'Acme', slug: 'acme', is_active: false }];
    const e = tenantExpectations();
    e.tenants.push({ slug: 'initech', name: 'Initech' });
    const findings = checkMetabase(s, e);
    expect(findings.find((f) => f.code === 'metabase_tenant_inactive')?.object).toBe('tenant acme');
    expect(findings.find((f) => f.code === 'metabase_tenant_missing')?.object).toBe('tenant initech');
  });

  it('does not count All Users against tenant users (they are in All tenant users instead)', () => {
    const s = tenantSnapshot();
    s.graph!.groups['1'] = { '1': { 'view-data': 'unrestricted' } };
    expect(problems(s, tenantExpectations())).toEqual([]);
    s.graph!.groups['3'] = { '1': { 'view-data': 'unrestricted' } };
    expect(only(s, tenantExpectations())).toEqual(['sandbox_cancelled', 'table_unrestricted']);
  });
});

describe('isolation proof', () => {
  it('flags a table left unrestricted to the tenant group', () => {
    const s = clean();
    viewData(s, 10).PUBLIC['102'] = 'unrestricted';
    s.sandboxes = s.sandboxes!.filter((x) => x.table_id !== 102);
    const findings = problems(s);
    expect(findings.map((f) => [f.code, f.object])).toEqual([
      ['table_unrestricted', "table PUBLIC.INVOICES (#102, database 'Warehouse' #1) for group 'Customers' (#10)"],
    ]);
    expect(unprovenTenants(isolationProof(s, expectations()))).toEqual(['acme']);
  });

  it('treats a key absent from the graph as blocked, at group, database, schema and table level', () => {
    const s = clean();
    s.graph!.groups['10']['1']['view-data'] = { PUBLIC: { '101': 'sandboxed' } };
    s.sandboxes = s.sandboxes!.filter((x) => x.table_id === 101);
    expect(problems(s)).toEqual([]);
  });

  it('flags "sandboxed" without a sandbox row: Metabase stores it as unrestricted', () => {
    const s = clean();
    s.sandboxes = s.sandboxes!.filter((x) => x.table_id !== 101);
    expect(only(s)).toEqual(['sandbox_missing']);
  });

  it('flags a sandbox cancelled by the all-users group granting the table unrestricted', () => {
    const s = clean();
    s.graph!.groups['1'] = { '1': { 'view-data': 'unrestricted', 'create-queries': 'query-builder' } };
    const findings = problems(s);
    expect(findings.filter((f) => f.code === 'sandbox_cancelled').map((f) => f.object)).toEqual([
      "table PUBLIC.ORDERS (#101, database 'Warehouse' #1) for group 'Customers' (#10)",
      "table PUBLIC.INVOICES (#102, database 'Warehouse' #1) for group 'Customers' (#10)",
    ]);
    expect(findings.find((f) => f.code === 'sandbox_cancelled')!.message).toMatch(/'All Users' grants it unrestricted/);
    expect(findings.filter((f) => f.code === 'table_unrestricted').every((f) => f.object.endsWith("group 'All Users' (#1)"))).toBe(true);
  });

  it('treats legacy-no-self-service like unrestricted', () => {
    const s = clean();
    s.graph!.groups['11'] = { '1': { 'view-data': { PUBLIC: 'legacy-no-self-service' } } };
    expect(only(s)).toEqual(['sandbox_cancelled', 'table_unrestricted']);
  });

  it('flags a native-query permission on the database', () => {
    const s = clean();
    s.graph!.groups['10']['1']['create-queries'] = 'query-builder-and-native';
    const findings = problems(s);
    expect(findings.map((f) => [f.code, f.object])).toEqual([['native_query_allowed', "database 'Warehouse' #1 for group 'Customers' (#10)"]]);
  });

  it('flags a sandbox keyed on another attribute', () => {
    const s = clean();
    s.sandboxes![0].attribute_remappings = { account: ['dimension', ['field', 1001, null]] };
    expect(only(s)).toEqual(['sandbox_wrong_attribute']);
  });

  it('flags a sandbox filtering on a field of another table', () => {
    const s = clean();
    s.sandboxes![0].attribute_remappings = { customer_id: ['dimension', ['field', 1011, null]] };
    expect(only(s)).toEqual(['sandbox_wrong_field']);
  });

  it('holds a question-based sandbox unproven until an operator has reviewed it', () => {
    const s = clean();
    s.sandboxes![0] = { ...s.sandboxes![0], card_id: 55, attribute_remappings: { customer_id: ['variable', ['template-tag', 'cid']] } };
    expect(only(s)).toEqual(['sandbox_needs_review']);
    expect(only(s, { ...expectations(), reviewedSandboxIds: [7] })).toEqual([]);
  });

  it('flags impersonation as unprovable', () => {
    const s = clean();
    s.graph!.groups['10']['1']['view-data'] = 'impersonated';
    expect(only(s)).toEqual(['table_impersonated']);
  });

  it('warns of two sandboxes one user holds on the same table', () => {
    const s = clean();
    s.graph!.groups['11'] = { '1': { 'view-data': { PUBLIC: { '101': 'sandboxed' } } } };
    s.sandboxes!.push({ id: 9, group_id: 11, table_id: 101, card_id: null, attribute_remappings: { customer_id: ['dimension', ['field', 1001, null]] } });
    expect(problems(s).map((f) => [f.code, f.severity])).toEqual([['sandbox_conflict', 'warning']]);
  });

  it('flags a legacy (pre-v50) graph entry', () => {
    const s = clean();
    s.graph!.groups['10']['1'] = { data: { native: 'none', schemas: 'all' } };
    expect(only(s)).toContain('permissions_graph_legacy');
  });

  it('ignores the claim when group sync is off: the user is in All Users only', () => {
    const s = clean();
    s.settings['jwt-group-sync'] = false;
    expect(groupsReached(s, { kind: 'external', groups: ['Customers'] }, false).groups.map((g) => g.name)).toEqual(['All Users']);
  });

  it('with mappings, reaches only mapped groups; without, groups of the same name', () => {
    const s = clean();
    s.settings['jwt-group-mappings'] = { Customers: [10] };
    expect(groupsReached(s, { kind: 'external', groups: ['Customers', 'Analysts'] }, false)).toMatchObject({ unreached: ['Analysts'] });
    s.settings['jwt-group-mappings'] = {};
    expect(
      groupsReached(s, { kind: 'external', groups: ['customers', 'Analysts'] }, false)
        .groups.map((g) => g.id)
        .sort(),
    ).toEqual([1, 10, 11]);
  });
});

describe('finding codes', () => {
  it('the listed codes each have a failing fixture above', () => {
    const covered: FindingCode[] = [
      'metabase_unreachable',
      'api_key_refused',
      'version_unsupported',
      'feature_missing',
      'snapshot_incomplete',
      'embedding_secret_mismatch',
      'jwt_secret_mismatch',
      'guest_embedding_off',
      'resource_missing',
      'resource_archived',
      'resource_embedding_off',
      'tenant_param_missing',
      'tenant_param_not_locked',
      'jwt_disabled',
      'jwt_attribute_renamed',
      'jwt_group_sync_off',
      'group_missing',
      'group_maps_to_admin',
      'group_mapping_mismatch',
      'group_tenancy_mismatch',
      'tenants_disabled',
      'metabase_tenant_missing',
      'metabase_tenant_inactive',
      'table_unrestricted',
      'table_impersonated',
      'sandbox_missing',
      'sandbox_cancelled',
      'sandbox_wrong_attribute',
      'sandbox_wrong_field',
      'sandbox_needs_review',
      'sandbox_conflict',
      'native_query_allowed',
      'permissions_graph_legacy',
      'jwt_provisioning_reactivates',
      'jwt_provisioning_off',
      'jwt_provisioning_on',
      'account_invite_email',
    ];
    expect([...covered].sort()).toEqual(Object.keys(FINDING_CODES).sort());
  });
});

/** Tenant mode: Customers and Analysts are tenant groups, sandboxes key on @tenant.slug, All tenant users #3. */
function tenantSnapshot(): MetabaseSnapshot {
  const s = clean();
  s.settings['use-tenants'] = true;
  s.groups!.push({ id: 3, name: 'All tenant users', magic_group_type: 'all-external-users', is_tenant_group: true });
  for (const g of s.groups!) if (g.name === 'Customers' || g.name === 'Analysts') g.is_tenant_group = true;
  s.groups!.push({ id: 13, name: 'Tenant analysts', magic_group_type: null, is_tenant_group: true });
  s.settings['jwt-group-mappings'] = { Customers: [10], 'Tenant analysts': [13], 'Internal analysts': [12], Analysts: [11] };
  for (const row of s.sandboxes!) row.attribute_remappings = { '@tenant.slug': Object.values(row.attribute_remappings!)[0] };
  s.tenants = [{ id: 4, name: 'Acme', slug: 'acme', is_active: true }];
  return s;
}

function tenantExpectations(): MetabaseExpectations {
  return expectations({
    metabaseTenants: true,
    tenants: [
      { slug: 'acme', name: 'Acme', kind: 'external', tier: 'drill', groups: ['Customers'] },
      { slug: 'staff', name: 'Staff', kind: 'internal', tier: 'drill', groups: null },
    ] as typeof FIXTURE_EXPECTATION_INPUTS.tenants,
    groups: { internal: ['Internal analysts'], external: ['Customers'], byRole: {} },
  });
}
