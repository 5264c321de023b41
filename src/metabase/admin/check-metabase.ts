/**
 * checkMetabase(): does this Metabase do what embedgate relies on? Pure: a snapshot and plain
 * expectations in, findings out (findings.ts holds the codes). Secrets are compared in constant time
 * over fingerprints of equal length, and never appear in a finding.
 */
import { timingSafeEqual } from 'node:crypto';
import { JWT_ATTRIBUTES, type MetabaseExpectations } from './expectations.js';
import { finding, sortFindings, type Finding, type FindingCode } from './findings.js';
import { adminGroup, describeTable, groupMappingsOf, groupNamed, isolationProof, type GroupSetProof, type OffenceReason } from './isolation-proof.js';
import { fingerprintSecret, type MetabaseSnapshot, type SecretReading } from './metabase-snapshot.js';

/** Metabase's major version from `version.tag` ("v1.58.3" EE, "v0.58.3" OSS → 58); null when unknown. */
export function majorVersion(tag: string | null): number | null {
  const match = tag ? /^v?\d+\.(\d+)/.exec(tag) : null;
  return match ? Number(match[1]) : null;
}

/** True when the secret Metabase holds is embedgate's. Constant time: both sides are 32-byte HMACs. */
export function secretMatches(reading: SecretReading, expected: string): boolean {
  if (typeof reading !== 'object') return false;
  const theirs = Buffer.from(reading.fingerprint, 'hex');
  const ours = Buffer.from(fingerprintSecret(expected) ?? '', 'hex');
  return theirs.length === ours.length && ours.length > 0 && timingSafeEqual(theirs, ours);
}

const OFFENCE_CODES: Record<OffenceReason, FindingCode> = {
  unrestricted: 'table_unrestricted',
  impersonated: 'table_impersonated',
  sandbox_missing: 'sandbox_missing',
  sandbox_cancelled: 'sandbox_cancelled',
  sandbox_wrong_attribute: 'sandbox_wrong_attribute',
  sandbox_wrong_field: 'sandbox_wrong_field',
  sandbox_needs_review: 'sandbox_needs_review',
  native_query: 'native_query_allowed',
  legacy_graph: 'permissions_graph_legacy',
};

const usesGuest = (e: MetabaseExpectations) => e.resources.some((r) => r.tenantParam !== null);
const usesSso = (e: MetabaseExpectations) => e.groupSets.length > 0;

export function checkMetabase(snapshot: MetabaseSnapshot, expectations: MetabaseExpectations): Finding[] {
  if (!snapshot.reachable) {
    const refused = snapshot.failure?.status === 401 || snapshot.failure?.status === 403;
    return [
      refused
        ? finding(
            'api_key_refused',
            'metabase',
            `Metabase refused the API key (${snapshot.failure!.status})`,
            'Use an API key of the Administrators group (Admin > Settings > Authentication > API keys).',
          )
        : finding(
            'metabase_unreachable',
            'metabase',
            snapshot.failure?.message ?? 'Metabase did not answer',
            'Check METABASE_API_URL and that Metabase is up.',
          ),
    ];
  }
  const findings = [
    ...checkInstance(snapshot, expectations),
    ...checkSecrets(snapshot, expectations),
    ...checkResources(snapshot, expectations),
    ...checkJwt(snapshot, expectations),
    ...checkGroups(snapshot, expectations),
    ...checkTenants(snapshot, expectations),
    ...isolationFindings(snapshot, isolationProof(snapshot, expectations)),
  ];
  return sortFindings(findings);
}

function checkInstance(snapshot: MetabaseSnapshot, expectations: MetabaseExpectations): Finding[] {
  const findings: Finding[] = [];
  const major = majorVersion(snapshot.version);
  if (major !== null && major < 50) {
    findings.push(
      finding(
        'version_unsupported',
        `metabase ${snapshot.version}`,
        `Metabase ${snapshot.version} predates the v50 permissions graph`,
        'Upgrade Metabase to v50 or later.',
      ),
    );
  }
  for (const feature of expectations.features) {
    if (snapshot.tokenFeatures[feature] !== true) {
      findings.push(
        finding(
          'feature_missing',
          `token feature ${feature}`,
          `the license token lacks "${feature}", which embedgate's tenants need`,
          `Use a Pro/Enterprise token with "${feature}" (and the EE jar), or change the tenants that need it.`,
        ),
      );
    }
  }
  for (const part of snapshot.unread) {
    findings.push(
      finding(
        'snapshot_incomplete',
        `metabase ${part.part}`,
        `could not read ${part.part}: ${part.message}`,
        "Make sure the API key is an administrator's and the feature is licensed; then check again.",
      ),
    );
  }
  return findings;
}

function checkSecrets(snapshot: MetabaseSnapshot, expectations: MetabaseExpectations): Finding[] {
  const findings: Finding[] = [];
  const state = (reading: SecretReading) =>
    reading === 'unset' ? 'is not set' : reading === 'unreadable' ? 'cannot be read with this API key' : "differs from embedgate's";
  if (!secretMatches(snapshot.secrets.embeddingSecretKey, expectations.secrets.embeddingSecretKey)) {
    findings.push(
      finding(
        'embedding_secret_mismatch',
        'setting embedding-secret-key',
        `Metabase's embedding secret key ${state(snapshot.secrets.embeddingSecretKey)}`,
        'Set MB_EMBEDDING_SECRET_KEY (or Admin > Embedding) to METABASE_EMBEDDING_SECRET_KEY.',
      ),
    );
  }
  if (!secretMatches(snapshot.secrets.jwtSharedSecret, expectations.secrets.jwtSharedSecret)) {
    findings.push(
      finding(
        'jwt_secret_mismatch',
        'setting jwt-shared-secret',
        `Metabase's JWT shared secret ${state(snapshot.secrets.jwtSharedSecret)}`,
        'Set MB_JWT_SHARED_SECRET (or Admin > Authentication > JWT) to METABASE_JWT_SHARED_SECRET.',
      ),
    );
  }
  return findings;
}

function checkResources(snapshot: MetabaseSnapshot, expectations: MetabaseExpectations): Finding[] {
  const findings: Finding[] = [];
  const guestOn = snapshot.settings['enable-embedding-static'] ?? snapshot.settings['enable-embedding'];
  if (usesGuest(expectations) && guestOn !== true) {
    findings.push(
      finding(
        'guest_embedding_off',
        'setting enable-embedding-static',
        'static (guest) embedding is off: every guest embed fails',
        'Turn on Admin > Embedding > Static embedding (MB_ENABLE_EMBEDDING_STATIC=true), or run the sync.',
      ),
    );
  }
  for (const resource of expectations.resources) {
    const object = `${resource.type} ${resource.metabaseId} (${resource.key})`;
    const read = snapshot.items.find((i) => i.type === resource.type && i.ref === resource.metabaseId);
    if (!read) continue; // unread: reported as snapshot_incomplete
    const item = read.item;
    if (!item) {
      findings.push(
        finding(
          'resource_missing',
          object,
          `Metabase has no ${resource.type} ${resource.metabaseId}`,
          `Fix the resource's metabaseId in embedgate, or restore the ${resource.type}.`,
        ),
      );
      continue;
    }
    if (item.archived)
      findings.push(
        finding(
          'resource_archived',
          object,
          `${resource.type} '${item.name}' is in the Trash`,
          `Restore it from Metabase's Trash, or unregister the resource.`,
        ),
      );
    if (resource.tenantParam === null) continue;
    if (!item.enable_embedding)
      findings.push(
        finding(
          'resource_embedding_off',
          object,
          `${resource.type} '${item.name}' is not published for embedding`,
          'Publish it (Sharing > Embed > Static), or run the sync.',
        ),
      );
    const slug = resource.tenantParam;
    if (item.parameters && !item.parameters.some((p) => p.slug === slug)) {
      findings.push(
        finding(
          'tenant_param_missing',
          object,
          `${resource.type} '${item.name}' has no parameter '${slug}': its guest embeds fail`,
          `Add a filter with slug '${slug}' wired to the tenant column, or fix the resource's tenantParam.`,
        ),
      );
    } else if (item.embedding_params?.[slug] !== 'locked') {
      findings.push(
        finding(
          'tenant_param_not_locked',
          object,
          `parameter '${slug}' is ${item.embedding_params?.[slug] ?? 'disabled'}, not locked: guest embeds are refused`,
          `Lock '${slug}' in the ${resource.type}'s embedding settings, or run the sync.`,
        ),
      );
    }
  }
  return findings;
}

function checkJwt(snapshot: MetabaseSnapshot, expectations: MetabaseExpectations): Finding[] {
  if (!usesSso(expectations)) return [];
  const findings: Finding[] = [];
  const s = snapshot.settings;
  if (s['jwt-enabled'] !== true) {
    findings.push(
      finding(
        'jwt_disabled',
        'setting jwt-enabled',
        'JWT sign-in is off: drill tenants get no SSO embeds',
        'Set the JWT shared secret and turn on Admin > Authentication > JWT (MB_JWT_ENABLED=true).',
      ),
    );
  }
  const renamed: [string, string][] = Object.entries(JWT_ATTRIBUTES);
  if (expectations.metabaseTenants) renamed.push(['jwt-attribute-tenant', '@tenant']);
  for (const [key, expected] of renamed) {
    const value = s[key];
    // A setting at its default may read as null; the defaults are embedgate's names.
    if (value !== undefined && value !== null && value !== expected) {
      findings.push(
        finding(
          'jwt_attribute_renamed',
          `setting ${key}`,
          `${key} is '${String(value)}', but embedgate sends '${expected}'`,
          `Set ${key} back to '${expected}', or run the sync.`,
        ),
      );
    }
  }
  if (s['jwt-group-sync'] !== true) {
    findings.push(
      finding(
        'jwt_group_sync_off',
        'setting jwt-group-sync',
        'JWT group sync is off: the groups embedgate sends are ignored',
        'Turn on "Synchronize group memberships" for JWT (or run the sync).',
      ),
    );
  }
  findings.push(...checkProvisioning(snapshot, expectations));
  return findings;
}

/**
 * Who creates SSO users' accounts. 'metabase': the JWT login (provisioning must be on). 'embedgate':
 * embedgate when the seat is first taken, so Metabase's JWT provisioning should be off, and no account
 * may be created that Metabase would send an invitation: one without tenant_id while its email is
 * configured (users_rest/api.clj `invite-user`). embedgate refuses to create those (fail closed).
 */
function checkProvisioning(snapshot: MetabaseSnapshot, expectations: MetabaseExpectations): Finding[] {
  const s = snapshot.settings;
  const provisioningOn = s['jwt-user-provisioning-enabled?'] !== false;
  const object = 'setting jwt-user-provisioning-enabled?';
  if (expectations.userProvisioning === 'metabase') {
    return [
      provisioningOn
        ? finding(
            'jwt_provisioning_reactivates',
            object,
            'a JWT login creates users and reactivates deactivated ones',
            'Expected: embedgate mints SSO tokens only for seat holders.',
          )
        : finding(
            'jwt_provisioning_off',
            object,
            "Metabase's JWT user provisioning is off and METABASE_USER_PROVISIONING is metabase: a new or deactivated SSO user's login is refused (401)",
            'Set METABASE_USER_PROVISIONING=embedgate (embedgate creates the accounts), or turn JWT user provisioning back on (MB_JWT_USER_PROVISIONING_ENABLED=true).',
          ),
    ];
  }
  const findings: Finding[] = [];
  if (provisioningOn) {
    findings.push(
      finding(
        'jwt_provisioning_on',
        object,
        "METABASE_USER_PROVISIONING is embedgate, but Metabase's JWT login still creates users and reactivates deactivated ones: embedgate is not the only one deciding who has an account",
        'Turn JWT user provisioning off: MB_JWT_USER_PROVISIONING_ENABLED=false, or Admin > Authentication > JWT > User provisioning.',
      ),
    );
  }
  // Tenant users (METABASE_TENANTS, external tenants) are created with tenant_id: Metabase sends them nothing.
  const uninvited = [...new Set(expectations.groupSets.filter((g) => g.kind === 'internal' || !expectations.metabaseTenants).flatMap((g) => g.tenants))];
  if (uninvited.length > 0 && s['email-configured?'] !== false) {
    findings.push(
      finding(
        'account_invite_email',
        'setting email-configured?',
        `${s['email-configured?'] === true ? 'Metabase has email (SMTP) configured' : "whether Metabase's email is configured could not be read"}: an account created without a Metabase tenant would be sent an invitation, so embedgate creates none, and new SSO users of ${uninvited.sort().join(', ')} get 503 metabase_account_unavailable`,
        'Remove the SMTP settings from Metabase (Admin > Settings > Email, or MB_EMAIL_SMTP_HOST), use Metabase tenants for external tenants (METABASE_TENANTS=true), or let Metabase provision (METABASE_USER_PROVISIONING=metabase).',
      ),
    );
  }
  return findings;
}

function checkGroups(snapshot: MetabaseSnapshot, expectations: MetabaseExpectations): Finding[] {
  if (!usesSso(expectations) || snapshot.groups === null) return [];
  const findings: Finding[] = [];
  const groups = snapshot.groups;
  const admin = adminGroup(groups);
  const mappings = groupMappingsOf(snapshot.settings);
  const mapped = Object.keys(mappings).length > 0;
  const kinds = new Map<string, Set<'internal' | 'external'>>();
  for (const set of expectations.groupSets) for (const name of set.groups) kinds.set(name, (kinds.get(name) ?? new Set()).add(set.kind));
  for (const [name, kindsOf] of kinds) {
    const object = `group '${name}'`;
    const group = groupNamed(groups, name);
    if (mapped) {
      const ids = mappings[name];
      if (admin && ids?.includes(admin.id)) {
        findings.push(
          finding(
            'group_maps_to_admin',
            object,
            `jwt-group-mappings maps '${name}' to Administrators: its SSO users become superusers`,
            `Remove group ${admin.id} from the mapping of '${name}' (the sync maps it to its own group).`,
          ),
        );
      } else if (!group || !ids || ids.length !== 1 || ids[0] !== group.id) {
        findings.push(
          finding(
            'group_mapping_mismatch',
            object,
            ids
              ? `'${name}' is mapped to groups ${ids.join(', ')}, not to its own group`
              : `'${name}' has no JWT group mapping: with mappings in use, it is ignored`,
            `Map '${name}' to the group of that name (run the sync).`,
          ),
        );
      }
    } else if (admin && sameGroupName(admin.name, name)) {
      findings.push(
        finding(
          'group_maps_to_admin',
          object,
          `without mappings, the claim name '${name}' is matched to the Administrators group`,
          'Rename the group in embedgate, and set JWT group mappings (run the sync).',
        ),
      );
    }
    if (!group) {
      findings.push(
        finding('group_missing', object, `Metabase has no group '${name}': its SSO users are not put in it`, `Create the group '${name}' (run the sync).`),
      );
      continue;
    }
    if (expectations.metabaseTenants) {
      const external = kindsOf.has('external');
      if (external !== (group.is_tenant_group === true) || kindsOf.size > 1) {
        findings.push(
          finding(
            'group_tenancy_mismatch',
            object,
            kindsOf.size > 1
              ? `'${name}' is given to internal and external users alike; Metabase tenant users join only tenant groups`
              : external
                ? `'${name}' is not a tenant group: tenant users are not added to it`
                : `'${name}' is a tenant group: internal users are not added to it`,
            'Give external tenants tenant groups and internal tenants regular groups.',
          ),
        );
      }
    }
  }
  return findings;
}

const sameGroupName = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

function checkTenants(snapshot: MetabaseSnapshot, expectations: MetabaseExpectations): Finding[] {
  if (!expectations.metabaseTenants) return [];
  const findings: Finding[] = [];
  if (snapshot.settings['use-tenants'] !== true) {
    findings.push(
      finding(
        'tenants_disabled',
        'setting use-tenants',
        "METABASE_TENANTS is on, but Metabase's tenants are off: every SSO login with @tenant is refused",
        'Turn on Admin > People > Multi-tenant strategy (use-tenants), or run the sync.',
      ),
    );
    return findings;
  }
  for (const tenant of expectations.tenants) {
    const found = snapshot.tenants?.find((t) => t.slug === tenant.slug);
    if (snapshot.tenants && !found)
      findings.push(
        finding(
          'metabase_tenant_missing',
          `tenant ${tenant.slug}`,
          `Metabase has no tenant '${tenant.slug}' yet`,
          'Run the sync (or let the first JWT login create it).',
        ),
      );
    else if (found && !found.is_active)
      findings.push(
        finding(
          'metabase_tenant_inactive',
          `tenant ${tenant.slug}`,
          `Metabase's tenant '${tenant.slug}' is deactivated: its users are deactivated`,
          'Reactivate it in Admin > People > Tenants if the tenant is active in embedgate.',
        ),
      );
  }
  return findings;
}

/** One finding per (code, group, table): group sets share groups, so the same offence is reported once. */
export function isolationFindings(snapshot: MetabaseSnapshot, proofs: GroupSetProof[]): Finding[] {
  const findings = new Map<string, Finding>();
  for (const proof of proofs) {
    const who = `tenants ${proof.set.tenants.join(', ')} (roles ${proof.set.roles.join(', ')})`;
    for (const offence of proof.offences) {
      const code = OFFENCE_CODES[offence.reason];
      const where = offence.table ? describeTable(offence.database, offence.table) : `database '${offence.database.name}' #${offence.database.id}`;
      const object = `${where} for group '${offence.group.name}' (#${offence.group.id})`;
      const key = `${code}\u0000${object}`;
      const existing = findings.get(key);
      if (existing) {
        existing.message = existing.message.replace(/ \[affects (.*)\]$/, (_, before) => ` [affects ${before}; ${who}]`);
        continue;
      }
      findings.set(key, finding(code, object, `${offenceMessage(offence.reason, offence.cancelledBy)} [affects ${who}]`, offenceFix(offence.reason)));
    }
    for (const conflict of proof.conflicts) {
      const object = describeTable(conflict.database, conflict.table);
      findings.set(
        `sandbox_conflict\u0000${object}`,
        finding(
          'sandbox_conflict',
          object,
          `groups ${conflict.groups.join(', ')} both sandbox it: queries of ${who} fail`,
          'Keep one sandbox per table among the groups one user holds.',
        ),
      );
    }
  }
  const unread = [...new Set(proofs.flatMap((p) => p.unread))];
  if (unread.length > 0 && !snapshot.unread.length) {
    findings.set(
      'unread',
      finding(
        'snapshot_incomplete',
        `metabase ${unread.join(', ')}`,
        `the isolation proof needs ${unread.join(', ')}, which could not be read`,
        'Check the API key and the sandboxes feature; then check again.',
      ),
    );
  }
  return [...findings.values()];
}

function offenceMessage(reason: OffenceReason, cancelledBy?: { name: string }[]): string {
  switch (reason) {
    case 'unrestricted':
      return 'external SSO users can read every row of it';
    case 'impersonated':
      return 'it is isolated by database impersonation, which embedgate cannot prove';
    case 'sandbox_missing':
      return 'it reads "sandboxed" but no sandbox exists: it is fully readable';
    case 'sandbox_cancelled':
      return `its sandbox is not enforced: ${(cancelledBy ?? []).map((g) => `'${g.name}'`).join(', ')} grant${(cancelledBy ?? []).length === 1 ? 's' : ''} it unrestricted to the same users`;
    case 'sandbox_wrong_attribute':
      return "its sandbox is not keyed on the tenant's attribute";
    case 'sandbox_wrong_field':
      return 'its sandbox filters on a field of another table';
    case 'sandbox_needs_review':
      return 'its sandbox filters in a saved question (SQL): not provable';
    case 'native_query':
      return 'the group may write native (SQL) queries there, which no sandbox filters';
    case 'legacy_graph':
      return 'its permissions graph entry has the pre-v50 shape';
  }
}

function offenceFix(reason: OffenceReason): string {
  switch (reason) {
    case 'unrestricted':
    case 'sandbox_missing':
    case 'sandbox_cancelled':
      return 'Block the table for every group external users hold, or sandbox it for one of them on the tenant attribute (the sync proposes sandboxes in a file to edit and apply).';
    case 'impersonated':
      return 'Replace impersonation with a sandbox or block the table for external groups.';
    case 'sandbox_wrong_attribute':
    case 'sandbox_wrong_field':
      return "Edit the sandbox: filter a column of this table by the tenant's attribute.";
    case 'sandbox_needs_review':
      return "Read the sandbox question's SQL; if it filters by the tenant's attribute, add the sandbox id to the reviewed list.";
    case 'native_query':
      return 'Set "Create queries" to "Query builder only" (or "No") for this group on this database.';
    case 'legacy_graph':
      return 'Upgrade Metabase to v50 or later.';
  }
}
