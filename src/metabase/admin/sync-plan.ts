/**
 * Provisioning: planSync() works out, purely, what to change in Metabase so that it matches embedgate
 * (groups, JWT group mappings, settings, Metabase tenants, resources' embedding); applySync() does it
 * in order. An in-step instance plans nothing, so running the sync twice changes nothing the second time.
 * Sandboxes are never guessed into place: the plan proposes them (table, field), an operator edits the
 * proposals, and planTableSecurity() turns the edited file into steps.
 */
import type { MetabaseExpectations } from './expectations.js';
import { JWT_ATTRIBUTES } from './expectations.js';
import {
  adminGroup,
  dbEntry,
  groupMappingsOf,
  groupNamed,
  implicitGroup,
  isolationProof,
  judgeSandbox,
  sameName,
  valueAt,
  type Offence,
} from './isolation-proof.js';
import { MetabaseAdminError, type EmbeddingVisibility, type ItemType, type MetabaseAdminClient, type NestedPermission } from './metabase-admin.client.js';
import type { MetabaseSnapshot } from './metabase-snapshot.js';

export type SyncStep =
  | { action: 'set_setting'; object: string; detail: { key: string; value: boolean | string } }
  | { action: 'create_group'; object: string; detail: { name: string; isTenantGroup: boolean; note?: string } }
  /** Map each claim name to the group of the same name (resolved when applied: the group may be created by an earlier step); other mappings are kept. */
  | { action: 'set_jwt_group_mappings'; object: string; detail: { names: string[] } }
  | { action: 'create_tenant'; object: string; detail: { slug: string; name: string } }
  /** embedding_params is the full map to write: Metabase replaces it wholesale. */
  | {
      action: 'update_embedding';
      object: string;
      detail: { type: ItemType; id: number; enable_embedding: true; embedding_params: Record<string, EmbeddingVisibility> };
    }
  | { action: 'secure_tables'; object: string; detail: TableSecurityDetail };

export interface TableSecurityDetail {
  groupName: string;
  databaseId: number;
  /** Every table of the database, to spell out a database- or schema-wide value table by table. */
  allTables: { id: number; schema: string | null }[];
  changes: { tableId: number; schema: string | null; mode: 'sandbox' | 'block'; fieldId: number | null }[];
  attribute: string;
}

/** Something the sync must not or cannot do itself: the operator does it. */
export interface ManualAction {
  object: string;
  detail: string;
}

/** One line of the operator's sandbox file: edit `fieldId` (null: block the table) and `alsoBlock`, then apply. */
export interface ProposedSandbox {
  group: string;
  databaseId: number;
  database: string;
  tableId: number;
  table: string;
  schema: string | null;
  /** A field named like the tenant attribute, when the table has one; null: block the table instead. */
  fieldId: number | null;
  field: string | null;
  attribute: string;
  /** Other groups of the same users that grant the table unrestricted: blocked too, or the sandbox is not enforced. */
  alsoBlock: string[];
  why: string[];
}

export interface SyncPlan {
  steps: SyncStep[];
  manual: ManualAction[];
  proposedSandboxes: ProposedSandbox[];
}

const TENANT_SLUG = /^[-_a-z0-9]{1,255}$/;

export function planSync(snapshot: MetabaseSnapshot, expectations: MetabaseExpectations): SyncPlan {
  const plan: SyncPlan = { steps: [], manual: [], proposedSandboxes: [] };
  if (!snapshot.reachable) {
    plan.manual.push({ object: 'metabase', detail: `Metabase is unreachable: ${snapshot.failure?.message ?? 'no answer'}` });
    return plan;
  }
  const s = snapshot.settings;
  const setting = (key: string, value: boolean | string, why: string) => {
    if (s[key] === value) return;
    if (snapshot.envSettings.includes(key))
      plan.manual.push({ object: `setting ${key}`, detail: `set by an environment variable: set it to ${JSON.stringify(value)} there (${why})` });
    else plan.steps.push({ action: 'set_setting', object: `setting ${key}`, detail: { key, value } });
  };
  const sso = expectations.groupSets.length > 0;
  const guest = expectations.resources.some((r) => r.tenantParam !== null);

  // Settings first: resources' embedding fields can only change while static embedding is on.
  if (expectations.metabaseTenants) setting('use-tenants', true, 'METABASE_TENANTS');
  if (guest) {
    if ((s['enable-embedding-static'] ?? s['enable-embedding']) !== true) {
      setting('enable-embedding-static', true, 'guest embeds');
      // Its setter generates a random embedding-secret-key when none is set: embedgate's must replace it.
      if (snapshot.secrets.embeddingSecretKey === 'unset')
        plan.manual.push({ object: 'setting embedding-secret-key', detail: 'set it to METABASE_EMBEDDING_SECRET_KEY (the sync never writes secrets)' });
    }
  }
  if (sso) {
    for (const [key, expected] of Object.entries(JWT_ATTRIBUTES))
      if (s[key] !== undefined && s[key] !== null && s[key] !== expected) setting(key, expected, 'the claim embedgate sends');
    if (
      expectations.metabaseTenants &&
      s['jwt-attribute-tenant'] !== undefined &&
      s['jwt-attribute-tenant'] !== null &&
      s['jwt-attribute-tenant'] !== '@tenant'
    ) {
      setting('jwt-attribute-tenant', '@tenant', 'the claim embedgate sends');
    }
    setting('jwt-group-sync', true, 'embedgate assigns groups');
    if (s['jwt-enabled'] !== true) {
      if (s['jwt-configured'] === true) setting('jwt-enabled', true, 'SSO embeds');
      else
        plan.manual.push({
          object: 'setting jwt-enabled',
          detail: 'set jwt-shared-secret to METABASE_JWT_SHARED_SECRET, then turn JWT on (the sync never writes secrets)',
        });
    }
  }

  if (sso && snapshot.groups) planGroups(snapshot, expectations, plan);
  if (expectations.metabaseTenants && snapshot.tenants) {
    for (const tenant of expectations.tenants) {
      if (snapshot.tenants.some((t) => t.slug === tenant.slug)) continue;
      if (!TENANT_SLUG.test(tenant.slug))
        plan.manual.push({ object: `tenant ${tenant.slug}`, detail: 'not a valid Metabase tenant slug (^[-_a-z0-9]{1,255}$): Metabase refuses its logins' });
      else plan.steps.push({ action: 'create_tenant', object: `tenant ${tenant.slug}`, detail: { slug: tenant.slug, name: tenant.name } });
    }
  }
  planResources(snapshot, expectations, plan);
  plan.proposedSandboxes = proposeSandboxes(snapshot, expectations);
  return plan;
}

function planGroups(snapshot: MetabaseSnapshot, expectations: MetabaseExpectations, plan: SyncPlan) {
  const groups = snapshot.groups!;
  const admin = adminGroup(groups);
  const kinds = new Map<string, Set<string>>();
  for (const set of expectations.groupSets) for (const name of set.groups) kinds.set(name, (kinds.get(name) ?? new Set()).add(set.kind));
  const names = [...kinds.keys()];
  const mappable: string[] = [];
  for (const name of names) {
    if (admin && sameName(admin.name, name)) {
      plan.manual.push({ object: `group '${name}'`, detail: 'embedgate assigns the Administrators group: rename it in embedgate (never mapped by the sync)' });
      continue;
    }
    mappable.push(name);
    if (groupNamed(groups, name)) continue;
    const external = kinds.get(name)!.has('external');
    if (expectations.metabaseTenants && kinds.get(name)!.size > 1) {
      plan.manual.push({
        object: `group '${name}'`,
        detail: 'given to internal and external tenants alike: with Metabase tenants, give them different groups',
      });
      continue;
    }
    const isTenantGroup = expectations.metabaseTenants && external;
    plan.steps.push({
      action: 'create_group',
      object: `group '${name}'`,
      detail: isTenantGroup ? { name, isTenantGroup } : { name, isTenantGroup, note: "a new regular group starts with All Users' data permissions" },
    });
  }
  const mappings = groupMappingsOf(snapshot.settings);
  const stale = mappable.filter((name) => {
    const group = groupNamed(groups, name);
    const ids = mappings[name];
    return !group || !ids || ids.length !== 1 || ids[0] !== group.id;
  });
  if (stale.length === 0) return;
  if (snapshot.envSettings.includes('jwt-group-mappings')) {
    plan.manual.push({
      object: 'setting jwt-group-mappings',
      detail: `set by MB_JWT_GROUP_MAPPINGS: map ${stale.map((n) => `'${n}'`).join(', ')} to the groups of the same names there`,
    });
  } else {
    plan.steps.push({ action: 'set_jwt_group_mappings', object: 'setting jwt-group-mappings', detail: { names: mappable } });
  }
}

function planResources(snapshot: MetabaseSnapshot, expectations: MetabaseExpectations, plan: SyncPlan) {
  for (const resource of expectations.resources) {
    if (resource.tenantParam === null) continue;
    const object = `${resource.type} ${resource.metabaseId} (${resource.key})`;
    const item = snapshot.items.find((i) => i.type === resource.type && i.ref === resource.metabaseId)?.item;
    if (item === undefined) continue; // unread
    if (item === null) {
      plan.manual.push({ object, detail: 'missing in Metabase: fix its metabaseId' });
      continue;
    }
    if (item.archived) {
      plan.manual.push({ object, detail: 'archived: restore it from the Trash or unregister it' });
      continue;
    }
    if (item.parameters && !item.parameters.some((p) => p.slug === resource.tenantParam)) {
      plan.manual.push({ object, detail: `has no parameter '${resource.tenantParam}': add the tenant filter first` });
      continue;
    }
    if (item.enable_embedding && item.embedding_params?.[resource.tenantParam] === 'locked') continue;
    // Metabase replaces embedding_params wholesale: carry every other parameter's visibility over.
    const embedding_params = { ...(item.embedding_params ?? {}), [resource.tenantParam]: 'locked' as const };
    plan.steps.push({ action: 'update_embedding', object, detail: { type: resource.type, id: item.id, enable_embedding: true, embedding_params } });
  }
}

/** For each table an external group set is not proven on: a sandbox on the set's main group, or a block. */
export function proposeSandboxes(snapshot: MetabaseSnapshot, expectations: MetabaseExpectations): ProposedSandbox[] {
  if (!snapshot.groups || !snapshot.databases) return [];
  const proofs = isolationProof(snapshot, expectations);
  const external = expectations.groupSets.filter((s) => s.kind === 'external');
  // The group most external sets share carries the sandbox: one sandbox per user and table.
  const counts = new Map<string, number>();
  for (const set of external) for (const name of set.groups) counts.set(name, (counts.get(name) ?? 0) + 1);
  const proposals = new Map<string, ProposedSandbox>();
  for (const proof of proofs) {
    const tableOffences = proof.offences.filter(
      (o): o is Offence & { table: NonNullable<Offence['table']> } => o.table !== null && o.reason !== 'sandbox_needs_review',
    );
    const main = [...proof.set.groups]
      .filter((n) => groupNamed(snapshot.groups!, n))
      .sort((a, b) => (counts.get(b) ?? 0) - (counts.get(a) ?? 0) || a.localeCompare(b))[0];
    if (!main) continue;
    const implicit = implicitGroup(snapshot.groups, proof.set.kind, expectations.metabaseTenants);
    for (const offence of tableOffences) {
      const key = `${main}\u0000${offence.table.id}`;
      const database = snapshot.databases.find((d) => d.id === offence.database.id)!;
      const table = database.tables.find((t) => t.id === offence.table.id)!;
      let proposal = proposals.get(key);
      if (!proposal) {
        const field = guessField(table.fields ?? [], expectations.tenantAttribute);
        proposal = {
          group: main,
          databaseId: database.id,
          database: database.name,
          tableId: table.id,
          table: `${table.schema ? `${table.schema}.` : ''}${table.name}`,
          schema: table.schema,
          fieldId: field?.id ?? null,
          field: field?.name ?? null,
          attribute: expectations.tenantAttribute,
          alsoBlock: [],
          why: [],
        };
        proposals.set(key, proposal);
      }
      const why = `${offence.group.name}: ${offence.reason}`;
      if (!proposal.why.includes(why)) proposal.why.push(why);
      const other =
        offence.group.name !== main && (offence.reason === 'unrestricted' || offence.reason === 'sandbox_missing' || offence.reason === 'sandbox_cancelled');
      if (other && !proposal.alsoBlock.includes(offence.group.name)) proposal.alsoBlock.push(offence.group.name);
      if (
        implicit &&
        offence.group.id === implicit.id &&
        !proposal.why.includes('note: blocking an all-users group also blocks internal users without another group')
      ) {
        proposal.why.push('note: blocking an all-users group also blocks internal users without another group');
      }
    }
  }
  return [...proposals.values()];
}

/** A field named like the attribute (customer_id; tenant_slug or tenant for @tenant.slug), case-insensitively. */
function guessField(fields: { id: number; name: string }[], attribute: string) {
  const names = attribute === '@tenant.slug' ? ['tenant_slug', 'tenant'] : [attribute];
  for (const name of names) {
    const field = fields.find((f) => f.name.toLowerCase() === name.toLowerCase());
    if (field) return field;
  }
  return undefined;
}

/**
 * Steps from the operator's edited sandbox file: per group and database, the tables to sandbox on a
 * field (fieldId) or to block (fieldId null), plus the alsoBlock groups blocked on those tables.
 */
export function planTableSecurity(snapshot: MetabaseSnapshot, file: ProposedSandbox[]): SyncPlan {
  const plan: SyncPlan = { steps: [], manual: [], proposedSandboxes: [] };
  if (!snapshot.groups || !snapshot.databases || !snapshot.graph) {
    plan.manual.push({ object: 'metabase', detail: 'groups, databases or the permissions graph could not be read' });
    return plan;
  }
  const byKey = new Map<string, TableSecurityDetail>();
  const add = (groupName: string, databaseId: number, change: TableSecurityDetail['changes'][number], attribute: string) => {
    const key = `${groupName}\u0000${databaseId}`;
    const database = snapshot.databases!.find((d) => d.id === databaseId)!;
    const detail = byKey.get(key) ?? { groupName, databaseId, allTables: database.tables.map((t) => ({ id: t.id, schema: t.schema })), changes: [], attribute };
    if (!detail.changes.some((c) => c.tableId === change.tableId)) detail.changes.push(change);
    byKey.set(key, detail);
  };
  for (const line of file) {
    const group = groupNamed(snapshot.groups, line.group);
    const database = snapshot.databases.find((d) => d.id === line.databaseId);
    const table = database?.tables.find((t) => t.id === line.tableId);
    if (!group || !database || !table) {
      plan.manual.push({ object: `${line.group} / ${line.table}`, detail: 'group, database or table not found in Metabase' });
      continue;
    }
    if (line.fieldId !== null && !(table.fields ?? []).some((f) => f.id === line.fieldId)) {
      plan.manual.push({ object: `${line.group} / ${line.table}`, detail: `field ${line.fieldId} is not a field of this table` });
      continue;
    }
    const current = valueAt(dbEntry(snapshot, group.id, database.id)?.['view-data'], table.schema, table.id, 'blocked');
    const row = snapshot.sandboxes?.find((s) => s.group_id === group.id && s.table_id === table.id);
    const done =
      line.fieldId === null
        ? current === 'blocked'
        : current === 'sandboxed' &&
          judgeSandbox(row, table, line.attribute, []) === 'valid' &&
          targetField(row?.attribute_remappings?.[line.attribute]) === line.fieldId;
    if (!done)
      add(
        group.name,
        database.id,
        { tableId: table.id, schema: table.schema, mode: line.fieldId === null ? 'block' : 'sandbox', fieldId: line.fieldId },
        line.attribute,
      );
    for (const name of line.alsoBlock) {
      const other = groupNamed(snapshot.groups, name);
      if (!other) continue;
      if (valueAt(dbEntry(snapshot, other.id, database.id)?.['view-data'], table.schema, table.id, 'blocked') === 'blocked') continue;
      add(other.name, database.id, { tableId: table.id, schema: table.schema, mode: 'block', fieldId: null }, line.attribute);
    }
  }
  for (const detail of byKey.values()) {
    plan.steps.push({ action: 'secure_tables', object: `group '${detail.groupName}' on database #${detail.databaseId}`, detail });
  }
  return plan;
}

const targetField = (target: unknown): number | null =>
  Array.isArray(target) && Array.isArray(target[1]) && typeof target[1][1] === 'number' ? target[1][1] : null;

export interface AppliedStep {
  step: SyncStep;
  /** What Metabase answered with, for the audit log (never a secret: the sync writes none). */
  result: string;
}

export interface SyncOutcome {
  applied: AppliedStep[];
  /** The step that failed, if one did; the steps after it were not tried. */
  failed?: { step: SyncStep; status?: number; message: string };
}

/** Performs the steps in order, stopping at the first failure. Returns what was done, for auditing. */
export async function applySync(client: MetabaseAdminClient, plan: Pick<SyncPlan, 'steps'>): Promise<SyncOutcome> {
  const outcome: SyncOutcome = { applied: [] };
  for (const step of plan.steps) {
    try {
      outcome.applied.push({ step, result: await applyStep(client, step) });
    } catch (error) {
      outcome.failed = { step, status: error instanceof MetabaseAdminError ? error.status : undefined, message: (error as Error).message };
      break;
    }
  }
  return outcome;
}

async function applyStep(client: MetabaseAdminClient, step: SyncStep): Promise<string> {
  switch (step.action) {
    case 'set_setting':
      await client.putSetting(step.detail.key, step.detail.value);
      return `set ${step.detail.key} to ${JSON.stringify(step.detail.value)}`;
    case 'create_group': {
      const group = await client.createGroup(step.detail.name, step.detail.isTenantGroup);
      return `created group '${group.name}' #${group.id}`;
    }
    case 'set_jwt_group_mappings': {
      const groups = await client.groups();
      const admin = adminGroup(groups);
      const properties = await client.sessionProperties();
      const mappings = groupMappingsOf({ 'jwt-group-mappings': properties['jwt-group-mappings'] });
      for (const name of step.detail.names) {
        const group = groupNamed(groups, name);
        if (!group) throw new Error(`group '${name}' does not exist: it cannot be mapped`);
        if (admin && group.id === admin.id) throw new Error(`refusing to map '${name}' to Administrators`);
        mappings[name] = [group.id];
      }
      await client.putSetting('jwt-group-mappings', mappings);
      return `mapped ${step.detail.names.map((n) => `'${n}' → #${mappings[n][0]}`).join(', ')}`;
    }
    case 'create_tenant': {
      const tenant = await client.createTenant({ name: step.detail.name, slug: step.detail.slug });
      return `created tenant '${tenant.slug}' #${tenant.id}`;
    }
    case 'update_embedding': {
      const { type, id, enable_embedding, embedding_params } = step.detail;
      await client.updateEmbedding(type, id, { enable_embedding, embedding_params });
      return `published ${type} #${id} with ${Object.entries(embedding_params)
        .map(([k, v]) => `${k}=${v}`)
        .join(', ')}`;
    }
    case 'secure_tables':
      return secureTables(client, step.detail);
  }
}

/**
 * One PUT /api/permissions/graph per group and database, with the sandboxes in the same body (the
 * UI's way): "sandboxed" without a sandbox would store unrestricted (permissions_rest api, api-val->db-val).
 */
async function secureTables(client: MetabaseAdminClient, detail: TableSecurityDetail): Promise<string> {
  const [graph, groups] = await Promise.all([client.permissionsGraph(), client.groups()]);
  const group = groupNamed(groups, detail.groupName);
  if (!group) throw new Error(`group '${detail.groupName}' does not exist`);
  const entry = { ...(graph.groups[String(group.id)]?.[String(detail.databaseId)] ?? {}) };
  const viewData = spell(entry['view-data'], detail.allTables, 'blocked');
  const createQueries = spell(entry['create-queries'], detail.allTables, 'no');
  for (const change of detail.changes) {
    const schema = change.schema ?? '';
    viewData[schema][change.tableId] = change.mode === 'sandbox' ? 'sandboxed' : 'blocked';
    const queries = createQueries[schema][change.tableId];
    createQueries[schema][change.tableId] = change.mode === 'block' ? 'no' : queries === 'query-builder-and-native' ? 'query-builder' : queries;
  }
  entry['view-data'] = viewData;
  entry['create-queries'] = createQueries;
  const sandboxes = detail.changes
    .filter((c) => c.mode === 'sandbox')
    .map((c) => ({
      group_id: group.id,
      table_id: c.tableId,
      card_id: null,
      attribute_remappings: { [detail.attribute]: ['dimension', ['field', c.fieldId, null]] },
    }));
  await client.updatePermissionsGraph({
    revision: graph.revision,
    groups: { [String(group.id)]: { [String(detail.databaseId)]: entry } },
    ...(sandboxes.length ? { sandboxes } : {}),
  });
  return detail.changes
    .map((c) => `${c.mode === 'sandbox' ? `sandboxed table #${c.tableId} on field #${c.fieldId}` : `blocked table #${c.tableId}`} for '${group.name}'`)
    .join('; ');
}

/** A database- or schema-wide value written out table by table, so one table can differ. */
function spell(nested: NestedPermission | undefined, tables: { id: number; schema: string | null }[], least: string): Record<string, Record<string, string>> {
  const out: Record<string, Record<string, string>> = {};
  for (const table of tables) (out[table.schema ?? ''] ??= {})[String(table.id)] = valueAt(nested, table.schema, table.id, least);
  return out;
}
