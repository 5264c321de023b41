/**
 * What `checkMetabase()` reports. Every finding carries a stable code from FINDING_CODES: the
 * console, the CLI and the policy match on the code, never on the message.
 */

export type Severity = 'blocking' | 'warning' | 'info';

export interface Finding {
  code: FindingCode;
  severity: Severity;
  /** What the finding is about, e.g. "dashboard 12 (sales-overview)", "group 'Customers'", "table PUBLIC.ORDERS (db 1)". */
  object: string;
  message: string;
  fix: string;
}

/**
 * Every code, its severity and what it means. Codes are stable: add new ones, never rename one.
 * "blocking": a tenant is exposed or an embed fails; "warning": degraded or unproven; "info": worth knowing.
 */
export const FINDING_CODES = {
  metabase_unreachable: { severity: 'blocking', meaning: 'Metabase did not answer /api/session/properties' },
  api_key_refused: { severity: 'blocking', meaning: 'Metabase refused the API key (401/403): it must belong to Administrators' },
  version_unsupported: { severity: 'blocking', meaning: 'Metabase is older than v50: the permissions graph has another shape' },
  feature_missing: { severity: 'blocking', meaning: 'a token feature the tenants need (sso_jwt, sandboxes, tenants) is off' },
  snapshot_incomplete: { severity: 'blocking', meaning: 'a part of Metabase needed for the check could not be read' },
  embedding_secret_mismatch: { severity: 'blocking', meaning: "embedding-secret-key is unset or differs from embedgate's" },
  jwt_secret_mismatch: { severity: 'blocking', meaning: "jwt-shared-secret is unset or differs from embedgate's" },
  guest_embedding_off: { severity: 'blocking', meaning: 'static (guest) embedding is turned off' },
  resource_missing: { severity: 'blocking', meaning: 'a registered resource does not exist in Metabase' },
  resource_archived: { severity: 'blocking', meaning: 'a registered resource is in the Trash' },
  resource_embedding_off: { severity: 'blocking', meaning: 'a guest resource is not published for embedding' },
  tenant_param_missing: { severity: 'blocking', meaning: "a guest resource has no parameter with the tenant parameter's slug" },
  tenant_param_not_locked: { severity: 'blocking', meaning: "a guest resource's tenant parameter is not locked in its embedding settings" },
  jwt_disabled: { severity: 'blocking', meaning: 'JWT sign-in is off while drill tenants need SSO' },
  jwt_attribute_renamed: { severity: 'blocking', meaning: 'a jwt-attribute-* setting differs from the claim names embedgate sends' },
  jwt_group_sync_off: { severity: 'blocking', meaning: 'jwt-group-sync is off: the groups embedgate sends are ignored' },
  group_missing: { severity: 'blocking', meaning: 'a group embedgate assigns does not exist' },
  group_maps_to_admin: { severity: 'blocking', meaning: 'a group embedgate assigns reaches Administrators (by mapping or by name)' },
  group_mapping_mismatch: { severity: 'warning', meaning: 'a group embedgate assigns is unmapped or mapped to another group while mappings are in use' },
  group_tenancy_mismatch: { severity: 'warning', meaning: 'with Metabase tenants, an external group is not a tenant group (or an internal one is)' },
  tenants_disabled: { severity: 'blocking', meaning: "METABASE_TENANTS is on but Metabase's use-tenants is off: every tenant login fails" },
  metabase_tenant_missing: { severity: 'info', meaning: 'an external tenant has no Metabase tenant yet (JWT provisioning would create it)' },
  metabase_tenant_inactive: { severity: 'warning', meaning: "an external tenant's Metabase tenant is deactivated" },
  table_unrestricted: { severity: 'blocking', meaning: 'a group an external SSO user holds can read a table unfiltered' },
  table_impersonated: { severity: 'blocking', meaning: 'a table is isolated by impersonation, which cannot be proven from Metabase' },
  sandbox_missing: { severity: 'blocking', meaning: 'a table reads "sandboxed" but has no sandbox row: fully readable' },
  sandbox_cancelled: { severity: 'blocking', meaning: 'another group of the same user grants the sandboxed table unrestricted: the sandbox is not enforced' },
  sandbox_wrong_attribute: { severity: 'blocking', meaning: "a sandbox is not keyed on the tenant's attribute" },
  sandbox_wrong_field: { severity: 'blocking', meaning: "a sandbox filters on a field that is not the sandboxed table's" },
  sandbox_needs_review: { severity: 'blocking', meaning: 'a question-based sandbox filters in SQL: it cannot be proven until an operator reviews it' },
  sandbox_conflict: { severity: 'warning', meaning: 'two groups of one user sandbox the same table: its queries fail' },
  native_query_allowed: { severity: 'blocking', meaning: 'a group an external SSO user holds may write native queries, which bypass sandboxes' },
  permissions_graph_legacy: { severity: 'blocking', meaning: 'a database entry in the permissions graph has the pre-v50 shape' },
  jwt_provisioning_reactivates: { severity: 'info', meaning: 'JWT provisioning is on: a login reactivates a deactivated Metabase user' },
  jwt_provisioning_off: {
    severity: 'blocking',
    meaning: "METABASE_USER_PROVISIONING is metabase but Metabase's JWT provisioning is off: a new SSO user's login is refused",
  },
  jwt_provisioning_on: {
    severity: 'warning',
    meaning: "METABASE_USER_PROVISIONING is embedgate but Metabase's JWT login still creates and reactivates users: embedgate is not the only one deciding",
  },
  account_invite_email: {
    severity: 'blocking',
    meaning:
      'embedgate would create accounts without a Metabase tenant while Metabase has email configured: it refuses to, since Metabase would send invitations',
  },
} as const satisfies Record<string, { severity: Severity; meaning: string }>;

export type FindingCode = keyof typeof FINDING_CODES;

export const finding = (code: FindingCode, object: string, message: string, fix: string): Finding => ({
  code,
  severity: FINDING_CODES[code].severity,
  object,
  message,
  fix,
});

/** Blocking findings first, then warnings, then info; stable within a severity. */
export function sortFindings(findings: Finding[]): Finding[] {
  const rank: Record<Severity, number> = { blocking: 0, warning: 1, info: 2 };
  return findings
    .map((f, i) => [f, i] as const)
    .sort((a, b) => rank[a[0].severity] - rank[b[0].severity] || a[1] - b[1])
    .map(([f]) => f);
}
