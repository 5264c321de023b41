/**
 * What embedgate expects of Metabase: plain data, built by the caller from its config and registry
 * (buildExpectations does it from plain inputs). The check and the sync plan read nothing else.
 */
import type { ItemType } from './metabase-admin.client.js';

export interface ExpectedResource {
  /** embedgate's resource key, for messages. */
  key: string;
  type: ItemType;
  /** Numeric id or 21-character entity id, as registered. */
  metabaseId: string;
  /** The guest resource's tenant parameter slug (to be locked); null for a resource that is never guest-embedded. */
  tenantParam: string | null;
}

/**
 * A set of group names one SSO user is given (tenant groups or its kind's default, plus its role's),
 * with the tenants and roles that get it: the unit the isolation proof is about.
 */
export interface ExpectedGroupSet {
  kind: 'internal' | 'external';
  groups: string[];
  tenants: string[];
  roles: string[];
}

/** Token features by their key in `token-features`. */
export type TokenFeature = 'sso_jwt' | 'sandboxes' | 'tenants' | (string & {});

export interface MetabaseExpectations {
  /** embedgate's own secrets: compared in constant time, never printed. */
  secrets: { embeddingSecretKey: string; jwtSharedSecret: string };
  resources: ExpectedResource[];
  groupSets: ExpectedGroupSet[];
  /** The user attribute sandboxes must be keyed on: 'customer_id', or '@tenant.slug' with Metabase tenants. */
  tenantAttribute: string;
  /** METABASE_TENANTS: embedgate sends `@tenant` and external users are Metabase tenant users. */
  metabaseTenants: boolean;
  features: TokenFeature[];
  /** External tenants that should exist as Metabase tenants (METABASE_TENANTS mode). */
  tenants: { slug: string; name: string }[];
  /** Question-based sandboxes an operator has read and vouches for (their filter lives in SQL). */
  reviewedSandboxIds?: number[];
  /** METABASE_USER_PROVISIONING: who creates SSO users' accounts, Metabase's JWT login or embedgate. */
  userProvisioning: 'metabase' | 'embedgate';
}

/** The claim names embedgate's SSO tokens use (metabase-tokens.ts), which Metabase's jwt-attribute-* must match. */
export const JWT_ATTRIBUTES = {
  'jwt-attribute-email': 'email',
  'jwt-attribute-firstname': 'first_name',
  'jwt-attribute-lastname': 'last_name',
  'jwt-attribute-groups': 'groups',
} as const;

export interface ExpectationInputs {
  secrets: MetabaseExpectations['secrets'];
  resources: ExpectedResource[];
  tenants: { slug: string; name: string; kind: 'internal' | 'external'; tier: 'view' | 'drill'; status?: 'active' | 'suspended'; groups: string[] | null }[];
  /** config.groups: the kinds' default groups and each role's extra groups (as SsoService.groupsFor combines them). */
  groups: { internal: string[]; external: string[]; byRole: Partial<Record<'viewer' | 'analyst', string[]>> };
  metabaseTenants: boolean;
  reviewedSandboxIds?: number[];
  /** Default 'metabase'. */
  userProvisioning?: 'metabase' | 'embedgate';
}

const ROLES = ['viewer', 'analyst'] as const;

/** Expectations from embedgate's tenants, resources and group config. Only drill tenants get SSO users. */
export function buildExpectations(input: ExpectationInputs): MetabaseExpectations {
  const sets = new Map<string, ExpectedGroupSet>();
  const drill = input.tenants.filter((t) => t.tier === 'drill' && t.status !== 'suspended');
  for (const tenant of drill) {
    for (const role of ROLES) {
      const groups = [...new Set([...(tenant.groups ?? input.groups[tenant.kind]), ...(input.groups.byRole[role] ?? [])])].sort();
      const id = `${tenant.kind}\u0000${groups.join('\u0000')}`;
      const set = sets.get(id) ?? { kind: tenant.kind, groups, tenants: [], roles: [] };
      if (!set.tenants.includes(tenant.slug)) set.tenants.push(tenant.slug);
      if (!set.roles.includes(role)) set.roles.push(role);
      sets.set(id, set);
    }
  }
  const features: TokenFeature[] = [];
  if (drill.length > 0) features.push('sso_jwt');
  if (drill.some((t) => t.kind === 'external')) features.push('sandboxes');
  if (input.metabaseTenants) features.push('tenants');
  return {
    secrets: input.secrets,
    resources: input.resources,
    groupSets: [...sets.values()],
    tenantAttribute: input.metabaseTenants ? '@tenant.slug' : 'customer_id',
    metabaseTenants: input.metabaseTenants,
    features,
    tenants: input.metabaseTenants ? input.tenants.filter((t) => t.kind === 'external').map(({ slug, name }) => ({ slug, name })) : [],
    reviewedSandboxIds: input.reviewedSandboxIds,
    userProvisioning: input.userProvisioning ?? 'metabase',
  };
}
