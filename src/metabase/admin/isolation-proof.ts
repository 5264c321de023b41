/**
 * The isolation proof: for the full set of groups an external tenant's SSO user ends up in, every
 * table of every database is blocked, or sandboxed on the tenant's attribute and not cancelled by
 * another group of the set, and no group of the set may write native queries. Pure.
 * Rules: /work/shared/docs/metabase-admin-api.md §3 ("Deciding …") and §4, after Metabase's
 * permissions_rest/data_permissions/graph.clj (absent key = blocked) and
 * enterprise/backend/src/metabase_enterprise/sandbox/api/util.clj (`enforce-sandbox?`).
 */
import type { ExpectedGroupSet, MetabaseExpectations } from './expectations.js';
import type { DatabasePermissions, NestedPermission, PermissionsGroup, SandboxRow, TableMetadata } from './metabase-admin.client.js';
import type { MetabaseSnapshot } from './metabase-snapshot.js';

export type OffenceReason =
  | 'unrestricted'
  | 'impersonated'
  | 'sandbox_missing'
  | 'sandbox_cancelled'
  | 'sandbox_wrong_attribute'
  | 'sandbox_wrong_field'
  | 'sandbox_needs_review'
  | 'native_query'
  | 'legacy_graph';

export interface Offence {
  database: { id: number; name: string };
  /** null for a database-wide offence (native queries, a legacy graph entry). */
  table: { id: number; schema: string | null; name: string } | null;
  group: { id: number; name: string };
  reason: OffenceReason;
  /** For sandbox_cancelled: the groups whose unrestricted access cancels the sandbox. */
  cancelledBy?: { id: number; name: string }[];
}

export interface GroupSetProof {
  set: ExpectedGroupSet;
  /** The Metabase groups a user of this set is in: the implicit all-users group plus those the claim reaches. */
  groups: { id: number; name: string }[];
  proven: boolean;
  offences: Offence[];
  /** Snapshot parts the proof needed and did not have: never proven while any is missing. */
  unread: string[];
  /** Tables where two groups of the set hold enforced sandboxes: their queries fail (not a leak). */
  conflicts: { database: { id: number; name: string }; table: { id: number; schema: string | null; name: string }; groups: string[] }[];
}

export type ProofExpectations = Pick<MetabaseExpectations, 'groupSets' | 'tenantAttribute' | 'metabaseTenants' | 'reviewedSandboxIds'>;

const UNRESTRICTED = new Set(['unrestricted', 'legacy-no-self-service']);
const NATIVE = 'query-builder-and-native';

/** jwt-group-mappings as Metabase holds it: {"<jwt group>": [groupId, …]} (a JSON string on some reads). */
export function groupMappingsOf(settings: Record<string, unknown>): Record<string, number[]> {
  let value = settings['jwt-group-mappings'];
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value);
    } catch {
      return {};
    }
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) return {};
  const mappings: Record<string, number[]> = {};
  for (const [name, ids] of Object.entries(value)) if (Array.isArray(ids)) mappings[name] = ids.map(Number);
  return mappings;
}

export const sameName = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

/** Metabase refuses two group names that differ only in case, so a case-insensitive match is unambiguous. */
export const groupNamed = (groups: PermissionsGroup[], name: string) => groups.find((g) => sameName(g.name, name));

/** All Users (internal) or All tenant users (external, with Metabase tenants), told by magic_group_type, else by name. */
export function implicitGroup(groups: PermissionsGroup[], kind: 'internal' | 'external', metabaseTenants: boolean): PermissionsGroup | undefined {
  const magic = kind === 'external' && metabaseTenants ? 'all-external-users' : 'all-internal-users';
  // Before magic_group_type (version UNCONFIRMED), the special groups were known by name.
  const legacyName = magic === 'all-external-users' ? 'All tenant users' : 'All Users';
  return groups.find((g) => g.magic_group_type === magic) ?? groups.find((g) => g.magic_group_type === undefined && g.name === legacyName);
}

export const adminGroup = (groups: PermissionsGroup[]) =>
  groups.find((g) => g.magic_group_type === 'admin') ?? groups.find((g) => g.magic_group_type === undefined && g.name === 'Administrators');

/**
 * The groups a user given these claim names is in after a JWT login (providers/jwt.clj, sso/common.clj):
 * the implicit group, plus — with group sync on — the mapped groups (mappings set) or the groups
 * named like the claim (no mappings, Administrators included). Group sync off: the claim is ignored.
 */
export function groupsReached(
  snapshot: Pick<MetabaseSnapshot, 'groups' | 'settings'>,
  set: Pick<ExpectedGroupSet, 'kind' | 'groups'>,
  metabaseTenants: boolean,
): { groups: PermissionsGroup[]; unreached: string[] } {
  const all = snapshot.groups ?? [];
  const reached = new Map<number, PermissionsGroup>();
  const implicit = implicitGroup(all, set.kind, metabaseTenants);
  if (implicit) reached.set(implicit.id, implicit);
  const unreached: string[] = [];
  if (snapshot.settings['jwt-group-sync'] !== true) return { groups: [...reached.values()], unreached: [...set.groups] };
  const mappings = groupMappingsOf(snapshot.settings);
  const mapped = Object.keys(mappings).length > 0;
  for (const name of set.groups) {
    const targets = mapped ? (mappings[name] ?? []).map((id) => all.find((g) => g.id === id)) : [groupNamed(all, name)];
    const found = targets.filter((g): g is PermissionsGroup => g !== undefined);
    if (found.length === 0) unreached.push(name);
    for (const group of found) reached.set(group.id, group);
  }
  return { groups: [...reached.values()], unreached };
}

/** A view-data or create-queries value at one table: a missing key at any level is the least permissive value. */
export function valueAt(nested: NestedPermission | undefined, schema: string | null, tableId: number, least: string): string {
  if (nested === undefined || nested === null) return least;
  if (typeof nested === 'string') return nested;
  const bySchema = nested[schema ?? ''];
  if (bySchema === undefined || bySchema === null) return least;
  if (typeof bySchema === 'string') return bySchema;
  return bySchema[String(tableId)] ?? least;
}

export function dbEntry(snapshot: Pick<MetabaseSnapshot, 'graph'>, groupId: number, databaseId: number): DatabasePermissions | undefined {
  return snapshot.graph?.groups[String(groupId)]?.[String(databaseId)];
}

/** The field a table sandbox filters on, or why it cannot be told (parameter target shapes: sandbox/schema.clj). */
function sandboxTarget(target: unknown, table: TableMetadata): 'ok' | 'wrong_field' | 'needs_review' {
  const fields = table.fields ?? [];
  if (typeof target === 'number') return fields.some((f) => f.id === target) ? 'ok' : 'wrong_field';
  if (typeof target === 'string') return fields.some((f) => f.name === target) ? 'ok' : 'wrong_field';
  if (Array.isArray(target) && target[0] === 'dimension' && Array.isArray(target[1]) && target[1][0] === 'field') {
    const ref = target[1][1];
    if (typeof ref === 'number') return fields.some((f) => f.id === ref) ? 'ok' : 'wrong_field';
    if (typeof ref === 'string') return fields.some((f) => f.name === ref) ? 'ok' : 'wrong_field';
  }
  // ["variable", ["template-tag", …]] or ["dimension", ["template-tag", …]]: the filter is in the card's SQL.
  return 'needs_review';
}

export type SandboxVerdict = 'valid' | 'sandbox_missing' | 'sandbox_wrong_attribute' | 'sandbox_wrong_field' | 'sandbox_needs_review';

export function judgeSandbox(row: SandboxRow | undefined, table: TableMetadata, attribute: string, reviewed: number[]): SandboxVerdict {
  if (!row) return 'sandbox_missing';
  const remappings = row.attribute_remappings ?? {};
  if (!(attribute in remappings)) return 'sandbox_wrong_attribute';
  if (reviewed.includes(row.id)) return 'valid';
  if (row.card_id !== null && row.card_id !== undefined) return 'sandbox_needs_review';
  const target = sandboxTarget(remappings[attribute], table);
  return target === 'ok' ? 'valid' : target === 'wrong_field' ? 'sandbox_wrong_field' : 'sandbox_needs_review';
}

const ref = (g: { id: number; name: string }) => ({ id: g.id, name: g.name });
const tableRef = (t: TableMetadata) => ({ id: t.id, schema: t.schema, name: t.name });

/** The proof for one group set (see the module comment). */
export function proveGroupSet(snapshot: MetabaseSnapshot, set: ExpectedGroupSet, expectations: ProofExpectations): GroupSetProof {
  const unread = (['groups', 'graph', 'databases'] as const).filter((part) => snapshot[part] === null);
  const { groups } = groupsReached(snapshot, set, expectations.metabaseTenants);
  const proof: GroupSetProof = { set, groups: groups.map(ref), proven: false, offences: [], unread: [...unread], conflicts: [] };
  if (unread.length > 0) return proof;
  const reviewed = expectations.reviewedSandboxIds ?? [];
  let sandboxUnread = false;
  for (const database of snapshot.databases!) {
    const db = { id: database.id, name: database.name };
    const entries = groups.map((group) => ({ group, entry: dbEntry(snapshot, group.id, database.id) }));
    for (const { group, entry } of entries) {
      if (!entry) continue;
      if (entry.data !== undefined && entry['view-data'] === undefined)
        proof.offences.push({ database: db, table: null, group: ref(group), reason: 'legacy_graph' });
      // Native queries are granted per database only, and bypass every sandbox.
      if (entry['create-queries'] === NATIVE) proof.offences.push({ database: db, table: null, group: ref(group), reason: 'native_query' });
    }
    for (const table of database.tables) {
      const values = entries.map(({ group, entry }) => ({ group, value: valueAt(entry?.['view-data'], table.schema, table.id, 'blocked') }));
      const open = values.filter((v) => UNRESTRICTED.has(v.value));
      const enforced: string[] = [];
      for (const { group, value } of values) {
        if (value === 'blocked') continue;
        if (value === 'impersonated') {
          proof.offences.push({ database: db, table: tableRef(table), group: ref(group), reason: 'impersonated' });
        } else if (value === 'sandboxed') {
          if (snapshot.sandboxes === null) {
            sandboxUnread = true;
            continue;
          }
          const row = snapshot.sandboxes.find((s) => s.group_id === group.id && s.table_id === table.id);
          const verdict = judgeSandbox(row, table, expectations.tenantAttribute, reviewed);
          if (verdict !== 'valid') proof.offences.push({ database: db, table: tableRef(table), group: ref(group), reason: verdict });
          else if (open.length > 0) {
            proof.offences.push({
              database: db,
              table: tableRef(table),
              group: ref(group),
              reason: 'sandbox_cancelled',
              cancelledBy: open.map((o) => ref(o.group)),
            });
          } else enforced.push(group.name);
        } else {
          // unrestricted, legacy-no-self-service, or a value this code does not know: fail closed.
          proof.offences.push({ database: db, table: tableRef(table), group: ref(group), reason: 'unrestricted' });
        }
      }
      if (enforced.length > 1) proof.conflicts.push({ database: db, table: tableRef(table), groups: enforced });
    }
  }
  if (sandboxUnread) proof.unread.push('sandboxes');
  proof.proven = proof.offences.length === 0 && proof.unread.length === 0;
  return proof;
}

/** The proof for every external group set (internal staff are not isolated by tenant). */
export function isolationProof(snapshot: MetabaseSnapshot, expectations: ProofExpectations): GroupSetProof[] {
  return expectations.groupSets.filter((set) => set.kind === 'external').map((set) => proveGroupSet(snapshot, set, expectations));
}

/** Tenants whose SSO users are not proven isolated: the policy refuses them SSO (fail closed). */
export function unprovenTenants(proofs: GroupSetProof[]): string[] {
  return [...new Set(proofs.filter((p) => !p.proven).flatMap((p) => p.set.tenants))].sort();
}

export const describeTable = (database: { id: number; name: string }, table: { id: number; schema: string | null; name: string }) =>
  `table ${table.schema ? `${table.schema}.` : ''}${table.name} (#${table.id}, database '${database.name}' #${database.id})`;
