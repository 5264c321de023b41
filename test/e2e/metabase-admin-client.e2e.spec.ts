import { checkMetabase } from '../../src/metabase/admin/check-metabase.js';
import { buildExpectations } from '../../src/metabase/admin/expectations.js';
import { isolationProof } from '../../src/metabase/admin/isolation-proof.js';
import { MetabaseAdminClient, MetabaseAdminError } from '../../src/metabase/admin/metabase-admin.client.js';
import { collectSnapshot } from '../../src/metabase/admin/metabase-snapshot.js';
import { applySync, planSync, planTableSecurity } from '../../src/metabase/admin/sync-plan.js';
import { FakeMetabase, FIXTURE_EXPECTATION_INPUTS, FIXTURE_SECRETS, type FakeItem, presetBeforeSync } from '../support/fake-metabase.js';

const API_KEY = 'mb_admin_key_0123456789';
const expectations = buildExpectations(FIXTURE_EXPECTATION_INPUTS);

let metabase: FakeMetabase;
let client: MetabaseAdminClient;
let dashboard: FakeItem;

const snapshot = () => collectSnapshot(client, { resources: expectations.resources });
const problems = async () => checkMetabase(await snapshot(), expectations).filter((f) => f.severity !== 'info');

beforeAll(async () => {
  metabase = await new FakeMetabase(API_KEY, FIXTURE_SECRETS.jwtSharedSecret).start();
  client = new MetabaseAdminClient({ url: metabase.url, key: API_KEY, timeoutMs: 2_000 });
  ({ dashboard } = presetBeforeSync(metabase.admin, FIXTURE_SECRETS.embeddingSecretKey));
});
afterAll(() => metabase.stop());

describe('MetabaseAdminClient against the fake Metabase', () => {
  it('reads env-set settings only through /api/session/properties', async () => {
    const properties = await client.sessionProperties();
    expect(properties['embedding-secret-key']).toBe(FIXTURE_SECRETS.embeddingSecretKey);
    expect(properties['token-features']).toMatchObject({ sso_jwt: true, sandboxes: true });
    const settings = await client.settings();
    expect(settings.find((s) => s.key === 'embedding-secret-key')).toMatchObject({ value: null, is_env_setting: true });
  });

  it('shows absent keys for blocked groups, and Administrators injected', async () => {
    const graph = await client.permissionsGraph();
    const warehouse = metabase.admin.databases[0].id;
    expect(graph.groups['1'][warehouse]).toEqual({ 'view-data': 'unrestricted', 'create-queries': 'query-builder' });
    expect(graph.groups['2'][warehouse]['view-data']).toBe('unrestricted');
    expect(graph.groups['3']).toBeUndefined();
    expect((await client.groups()).map((g) => [g.name, g.magic_group_type])).toEqual([
      ['Administrators', 'admin'],
      ['All Users', 'all-internal-users'],
    ]);
  });

  it('finds items by id or entity id, and answers null for a missing one', async () => {
    expect((await client.item('dashboard', dashboard.entity_id))?.id).toBe(1);
    expect(await client.item('dashboard', 999)).toBeNull();
  });

  it('fails with a typed error carrying the status: 402 for a missing premium feature', async () => {
    metabase.admin.tokenFeatures.sandboxes = false;
    try {
      const error = await client.sandboxes().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(MetabaseAdminError);
      expect(error).toMatchObject({ status: 402, call: 'GET /api/mt/gtap' });
      const s = await collectSnapshot(client, { resources: [], sandboxes: true });
      expect(s.unread).toEqual([expect.objectContaining({ part: 'sandboxes', status: 402 })]);
    } finally {
      metabase.admin.tokenFeatures.sandboxes = true;
    }
  });

  it('bounds every call by its timeout, and reports a refused key and an unreachable Metabase', async () => {
    metabase.delayMs = 400;
    try {
      const slow = new MetabaseAdminClient({ url: metabase.url, key: API_KEY, timeoutMs: 100 });
      await expect(slow.groups()).rejects.toMatchObject({ status: undefined, message: expect.stringMatching(/did not answer within 100 ms/) });
    } finally {
      metabase.delayMs = 0;
    }
    const wrongKey = new MetabaseAdminClient({ url: metabase.url, key: 'not-the-key', timeoutMs: 2_000 });
    expect(checkMetabase(await collectSnapshot(wrongKey, { resources: [] }), expectations).map((f) => f.code)).toEqual(['api_key_refused']);
    const nowhere = new MetabaseAdminClient({ url: 'http://127.0.0.1:9', key: API_KEY, timeoutMs: 2_000 });
    expect(checkMetabase(await collectSnapshot(nowhere, { resources: [] }), expectations).map((f) => f.code)).toEqual(['metabase_unreachable']);
  });
});

describe('check, sync and sandboxes over HTTP', () => {
  it('a fresh instance fails the check, and its secrets appear in neither the snapshot nor the findings', async () => {
    const s = await snapshot();
    const findings = checkMetabase(s, expectations);
    expect([...new Set(findings.filter((f) => f.severity !== 'info').map((f) => f.code))].sort()).toEqual([
      'group_missing',
      'guest_embedding_off',
      'jwt_group_sync_off',
      'resource_embedding_off',
      'table_unrestricted',
      'tenant_param_not_locked',
    ]);
    const printed = JSON.stringify(s) + JSON.stringify(findings);
    expect(printed).not.toContain(FIXTURE_SECRETS.embeddingSecretKey);
    expect(printed).not.toContain(FIXTURE_SECRETS.jwtSharedSecret);
  });

  it('applies the sync, then plans nothing: the sync is idempotent', async () => {
    const plan = planSync(await snapshot(), expectations);
    expect(plan.manual).toEqual([]);
    const outcome = await applySync(client, plan);
    expect(outcome.failed).toBeUndefined();
    expect(outcome.applied.map((a) => a.step.action)).toEqual([
      'set_setting',
      'set_setting',
      'create_group',
      'create_group',
      'create_group',
      'set_jwt_group_mappings',
      'update_embedding',
    ]);
    // embedding_params is replaced wholesale: region kept, customer_id locked.
    expect(dashboard).toMatchObject({ enable_embedding: true, embedding_params: { region: 'enabled', customer_id: 'locked' } });
    const again = planSync(await snapshot(), expectations);
    expect(again.steps).toEqual([]);
    expect(again.manual).toEqual([]);
  });

  it('leaves only isolation to fix; the edited sandbox file fixes it, and applying it again changes nothing', async () => {
    expect(new Set((await problems()).map((f) => f.code))).toEqual(new Set(['table_unrestricted']));
    const file = planSync(await snapshot(), expectations).proposedSandboxes;
    expect(file.map((p) => [p.group, p.table, p.field, p.alsoBlock.sort()])).toEqual([
      ['Customers', 'PUBLIC.ORDERS', 'customer_id', ['All Users', 'Analysts']],
      ['Customers', 'PUBLIC.INVOICES', 'customer_id', ['All Users', 'Analysts']],
    ]);
    const outcome = await applySync(client, planTableSecurity(await snapshot(), file));
    expect(outcome.failed).toBeUndefined();
    expect(metabase.admin.sandboxes.map((s) => s.attribute_remappings)).toEqual([
      { customer_id: ['dimension', ['field', metabase.admin.table('ORDERS').fields[1].id, null]] },
      { customer_id: ['dimension', ['field', metabase.admin.table('INVOICES').fields[1].id, null]] },
    ]);
    const s = await snapshot();
    expect(checkMetabase(s, expectations).filter((f) => f.severity !== 'info')).toEqual([]);
    expect(isolationProof(s, expectations).every((p) => p.proven)).toBe(true);
    expect(planTableSecurity(s, file).steps).toEqual([]);
    expect(planSync(s, expectations)).toEqual({ steps: [], manual: [], proposedSandboxes: [] });
  });

  it('catches "sandboxed" written without a sandbox: Metabase stores it as unrestricted', async () => {
    const graph = await client.permissionsGraph();
    const customers = (await client.groups()).find((g) => g.name === 'Customers')!;
    const warehouse = metabase.admin.databases[0];
    const orders = metabase.admin.table('ORDERS');
    const sandbox = metabase.admin.sandboxes.find((x) => x.table_id === orders.id)!;
    // An operator "re-saves" ORDERS as blocked then sandboxed, without a sandbox in the body.
    const entry = graph.groups[String(customers.id)][String(warehouse.id)];
    await client.updatePermissionsGraph({
      revision: graph.revision,
      groups: { [customers.id]: { [warehouse.id]: { ...entry, 'view-data': { PUBLIC: { [orders.id]: 'blocked' } } } } },
    });
    const next = await client.permissionsGraph();
    await client.updatePermissionsGraph({
      revision: next.revision,
      groups: { [customers.id]: { [warehouse.id]: { 'view-data': { PUBLIC: { [orders.id]: 'sandboxed' } } } } },
    });
    expect(metabase.admin.sandboxes.some((x) => x.id === sandbox.id)).toBe(false);
    const findings = await problems();
    expect(findings.map((f) => [f.code, f.object])).toEqual([
      ['table_unrestricted', `table PUBLIC.ORDERS (#${orders.id}, database 'Warehouse' #${warehouse.id}) for group 'Customers' (#${customers.id})`],
    ]);
    await expect(client.updatePermissionsGraph({ revision: graph.revision, groups: {} })).rejects.toMatchObject({ status: 409 });
  });
});
