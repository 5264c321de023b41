import { buildExpectations, type MetabaseExpectations } from '../../src/metabase/admin/expectations.js';
import { fingerprintSecret, type MetabaseSnapshot } from '../../src/metabase/admin/metabase-snapshot.js';
import { planSync, planTableSecurity } from '../../src/metabase/admin/sync-plan.js';
import { cleanSnapshotFixture, FIXTURE_EXPECTATION_INPUTS } from '../support/fake-metabase.js';

const clean = (): MetabaseSnapshot => cleanSnapshotFixture(fingerprintSecret) as MetabaseSnapshot;
const expectations = (change: Partial<typeof FIXTURE_EXPECTATION_INPUTS> = {}): MetabaseExpectations =>
  buildExpectations({ ...FIXTURE_EXPECTATION_INPUTS, ...change });
const actions = (s: MetabaseSnapshot, e = expectations()) => planSync(s, e).steps.map((step) => `${step.action} ${step.object}`);

describe('planSync', () => {
  it('plans nothing for an instance already in step', () => {
    expect(planSync(clean(), expectations())).toEqual({ steps: [], manual: [], proposedSandboxes: [] });
  });

  it('creates a missing group, then maps every claim name to its own group (others kept when applied)', () => {
    const s = clean();
    s.groups = s.groups!.filter((g) => g.name !== 'Analysts');
    s.settings['jwt-group-mappings'] = { Customers: [10], 'Internal analysts': [12] };
    const plan = planSync(s, expectations());
    expect(plan.steps).toEqual([
      {
        action: 'create_group',
        object: "group 'Analysts'",
        detail: { name: 'Analysts', isTenantGroup: false, note: "a new regular group starts with All Users' data permissions" },
      },
      { action: 'set_jwt_group_mappings', object: 'setting jwt-group-mappings', detail: { names: ['Customers', 'Analysts', 'Internal analysts'] } },
    ]);
  });

  it('never maps a claim name to Administrators: that is left to the operator', () => {
    const s = clean();
    const e = expectations({ groups: { ...FIXTURE_EXPECTATION_INPUTS.groups, byRole: { analyst: ['Administrators'] } } });
    const plan = planSync(s, e);
    expect(plan.manual.map((m) => m.object)).toContain("group 'Administrators'");
    const mapping = plan.steps.find((step) => step.action === 'set_jwt_group_mappings');
    expect(mapping && 'names' in mapping.detail ? mapping.detail.names : []).not.toContain('Administrators');
  });

  it('turns embedding on and locks the tenant parameter, keeping the other parameters as they were', () => {
    const s = clean();
    s.items[0].item!.enable_embedding = false;
    s.items[0].item!.embedding_params = { region: 'enabled', customer_id: 'enabled' };
    expect(planSync(s, expectations()).steps).toEqual([
      {
        action: 'update_embedding',
        object: 'dashboard 1 (sales-overview)',
        detail: { type: 'dashboard', id: 1, enable_embedding: true, embedding_params: { region: 'enabled', customer_id: 'locked' } },
      },
    ]);
  });

  it('turns static embedding on before touching resources, and leaves missing, archived or filterless ones to the operator', () => {
    const s = clean();
    s.settings['enable-embedding-static'] = false;
    s.items[0].item!.embedding_params = {};
    expect(actions(s)).toEqual(['set_setting setting enable-embedding-static', 'update_embedding dashboard 1 (sales-overview)']);
    s.items[0].item!.archived = true;
    expect(planSync(s, expectations()).manual.map((m) => m.detail)).toEqual([expect.stringMatching(/archived/)]);
    s.items[0].item = null;
    expect(planSync(s, expectations()).manual.map((m) => m.detail)).toEqual([expect.stringMatching(/missing/)]);
  });

  it('does not try to change a setting set by environment variable: it tells the operator', () => {
    const s = clean();
    s.settings['jwt-group-sync'] = false;
    s.envSettings = ['jwt-group-sync'];
    const plan = planSync(s, expectations());
    expect(plan.steps).toEqual([]);
    expect(plan.manual).toEqual([{ object: 'setting jwt-group-sync', detail: expect.stringMatching(/environment variable/) }]);
  });

  it('restores renamed claim attributes and turns group sync on', () => {
    const s = clean();
    s.settings['jwt-attribute-email'] = 'mail';
    s.settings['jwt-group-sync'] = false;
    expect(planSync(s, expectations()).steps.map((step) => step.detail)).toEqual([
      { key: 'jwt-attribute-email', value: 'email' },
      { key: 'jwt-group-sync', value: true },
    ]);
  });

  it('in METABASE_TENANTS mode: turns tenants on, creates tenant groups and the missing tenants; a bad slug goes to the operator', () => {
    const s = clean();
    s.groups = s.groups!.filter((g) => g.name !== 'Customers');
    s.tenants = [];
    const e = expectations({
      metabaseTenants: true,
      tenants: [
        { slug: 'acme', name: 'Acme', kind: 'external', tier: 'drill', groups: null },
        { slug: 'Big Corp', name: 'Big Corp', kind: 'external', tier: 'view', groups: null },
      ] as typeof FIXTURE_EXPECTATION_INPUTS.tenants,
      groups: { internal: [], external: ['Customers'], byRole: {} },
    });
    const plan = planSync(s, e);
    expect(plan.steps.map((step) => [step.action, step.detail])).toEqual([
      ['set_setting', { key: 'use-tenants', value: true }],
      ['create_group', { name: 'Customers', isTenantGroup: true }],
      ['set_jwt_group_mappings', { names: ['Customers'] }],
      ['create_tenant', { slug: 'acme', name: 'Acme' }],
    ]);
    expect(plan.manual.map((m) => m.object)).toEqual(['tenant Big Corp']);
  });

  it('never writes a secret: an unset one is left to the operator', () => {
    const s = clean();
    s.settings['enable-embedding-static'] = false;
    s.settings['jwt-enabled'] = false;
    s.settings['jwt-configured'] = false;
    s.secrets.embeddingSecretKey = 'unset';
    const plan = planSync(s, expectations());
    expect(plan.steps.map((step) => step.object)).toEqual(['setting enable-embedding-static']);
    expect(plan.manual.map((m) => m.object)).toEqual(['setting embedding-secret-key', 'setting jwt-enabled']);
  });
});

describe('sandbox proposals', () => {
  it('proposes a sandbox on the shared external group, on the field named like the attribute, and blocking All Users', () => {
    const s = clean();
    s.graph!.groups['1'] = { '1': { 'view-data': 'unrestricted' } };
    const proposals = planSync(s, expectations()).proposedSandboxes;
    expect(proposals).toEqual([
      expect.objectContaining({
        group: 'Customers',
        tableId: 101,
        table: 'PUBLIC.ORDERS',
        fieldId: 1001,
        field: 'customer_id',
        attribute: 'customer_id',
        alsoBlock: ['All Users'],
      }),
      expect.objectContaining({ group: 'Customers', tableId: 102, fieldId: 1011, alsoBlock: ['All Users'] }),
    ]);
  });

  it('proposes no field (block the table) when the table has no tenant column', () => {
    const s = clean();
    s.databases![0].tables.push({ id: 103, name: 'PRODUCTS', schema: 'PUBLIC', fields: [{ id: 1031, name: 'sku' }] });
    s.graph!.groups['10']['1']['view-data'] = { PUBLIC: { '101': 'sandboxed', '102': 'sandboxed', '103': 'unrestricted' } };
    expect(planSync(s, expectations()).proposedSandboxes).toEqual([expect.objectContaining({ tableId: 103, fieldId: null, field: null, alsoBlock: [] })]);
  });

  it('turns the edited file into one graph change per group and database, and plans nothing once done', () => {
    const s = clean();
    s.graph!.groups['1'] = { '1': { 'view-data': 'unrestricted' } };
    const file = planSync(s, expectations()).proposedSandboxes;
    const plan = planTableSecurity(s, file);
    expect(plan.steps.map((step) => step.object)).toEqual(["group 'All Users' on database #1"]);
    // Customers already hold valid sandboxes on both tables: only All Users is blocked.
    expect(plan.steps[0].detail).toMatchObject({
      groupName: 'All Users',
      changes: [
        { tableId: 101, mode: 'block' },
        { tableId: 102, mode: 'block' },
      ],
    });
    s.graph!.groups['1'] = {};
    expect(planTableSecurity(s, file).steps).toEqual([]);
  });
});
