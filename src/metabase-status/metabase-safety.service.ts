import { Inject, Injectable } from '@nestjs/common';
import { CONFIG, type Config } from '../config/config.js';
import { MetabaseApiClient, type MetabaseUser } from '../metabase/metabase-api.client.js';
import { TenantsService } from '../tenants/tenants.service.js';
import { groupsKey, MetabaseStatusService } from './metabase-status.service.js';

/** Whether Metabase was proven to isolate a tenant's SSO users (the last check, kept fresh on a schedule). */
export interface IsolationVerdict {
  /** False when nothing is enforced: no METABASE_API_KEY, or an admin turned fail-closed off (audited). */
  enforced: boolean;
  /** The tenant's group set was proven isolated by the last check. */
  proven: boolean;
  /** Why not proven (for the decision's reasons), or what was proven. */
  reason: string;
  checkedAt: Date | null;
}

/** The tenant as the embed path has it; `groups` (its own, null for its kind's default) must be those the check proved. */
type TenantRef = { slug: string; kind: 'internal' | 'external'; groups?: readonly string[] | null };

/** How long one email's verdict is reused: the embed path makes no Metabase call per embed. */
const IDENTITY_TTL_MS = 60_000;
const IDENTITY_CACHE_MAX = 10_000;

/**
 * What the embed path asks of Metabase's side before it gives an SSO login: isolation proven for
 * the tenant's group set, and an email that is safe to sign in (not a superuser's, not a user in
 * groups outside the tenant's set, not another Metabase tenant's). Without METABASE_API_KEY nothing
 * can be checked, and nothing is enforced.
 */
@Injectable()
export class MetabaseSafety {
  private readonly users?: MetabaseApiClient;
  private readonly identities = new Map<string, { expires: number; problem: Promise<string | null> }>();

  constructor(
    @Inject(CONFIG) private readonly config: Pick<Config, 'metabase' | 'groups' | 'metabaseTenants'>,
    private readonly status: MetabaseStatusService,
    private readonly tenants: TenantsService,
  ) {
    if (config.metabase.api) this.users = new MetabaseApiClient(config.metabase.api);
  }

  /** Synchronous, from the last check in memory: before the first one, or when it is stale, an enforced verdict is unproven. */
  isolationVerdict(tenant: TenantRef, now = Date.now()): IsolationVerdict {
    if (!this.status.configured) return { enforced: false, proven: false, reason: 'Metabase is not checked (no METABASE_API_KEY)', checkedAt: null };
    const check = this.status.lastCheck();
    const checkedAt = check?.checkedAt ?? null;
    if (tenant.kind === 'internal') return { enforced: false, proven: false, reason: 'internal tenants are not isolated by tenant', checkedAt };
    const failClosed = this.status.failClosed();
    const enforced = failClosed.enabled;
    const off = enforced ? '' : ` (not enforced: fail-closed turned off by ${failClosed.actor ?? 'an admin'}: ${failClosed.reason})`;
    if (!check) return { enforced, proven: false, reason: `Metabase has not been checked yet since this instance started${off}`, checkedAt };
    if (this.status.isStale(check, now)) {
      return {
        enforced,
        proven: false,
        reason: `the last Metabase check (${check.checkedAt.toISOString()}) is older than three check intervals${off}`,
        checkedAt,
      };
    }
    // Proven only when the last check proved it: a tenant created (or made drill) since is unproven until the next check.
    if (check.provenTenants.includes(tenant.slug)) {
      if (check.provenGroups[tenant.slug] === groupsKey(tenant.groups)) {
        return { enforced, proven: true, reason: `Metabase isolates tenant '${tenant.slug}' (checked ${check.checkedAt.toISOString()})`, checkedAt };
      }
      this.status.requestCheck(now);
      return {
        enforced,
        proven: false,
        reason: `tenant '${tenant.slug}' changed its groups since the last Metabase check: a check is on its way${off}`,
        checkedAt,
      };
    }
    const covered = check.unprovenTenants.includes(tenant.slug);
    if (!covered) this.status.requestCheck(now);
    const why = covered
      ? `the last Metabase check did not prove tenant '${tenant.slug}' isolated (see GET /v1/metabase/status)`
      : `tenant '${tenant.slug}' was not part of the last Metabase check (new or changed since): a check is on its way`;
    return { enforced, proven: false, reason: `${why}${off}`, checkedAt };
  }

  /**
   * Null when the email is safe to sign in to Metabase for this tenant (or nothing can be checked), else
   * why not. `fresh` asks Metabase even when an answer is kept (a launch link re-checks when opened).
   */
  async identityProblem(email: string, tenant: TenantRef, options: { fresh?: boolean } = {}): Promise<string | null> {
    if (!this.users) return null;
    const key = `${tenant.slug}\u0000${email.toLowerCase()}`;
    const now = Date.now();
    const cached = this.identities.get(key);
    if (cached && cached.expires > now && !options.fresh) return cached.problem;
    const problem = this.lookUp(email, tenant);
    this.identities.delete(key);
    if (this.identities.size >= IDENTITY_CACHE_MAX) this.identities.delete(this.identities.keys().next().value!);
    this.identities.set(key, { expires: now + IDENTITY_TTL_MS, problem });
    return problem;
  }

  /**
   * Every Metabase account with this email, active or not, asked now (needs the API key); tenant users
   * included where Metabase's tenants are on. Rejects when Metabase does not answer in time.
   */
  usersByEmail(email: string): Promise<MetabaseUser[]> {
    const check = this.status.lastCheck();
    const tenancy = check?.tenantsOn || this.config.metabaseTenants ? ('all' as const) : undefined;
    return this.users!.usersByEmail(email, { tenancy, signal: AbortSignal.timeout(this.config.metabase.api!.timeoutMs) });
  }

  private async lookUp(email: string, tenant: TenantRef): Promise<string | null> {
    const key = `${tenant.slug}\u0000${email.toLowerCase()}`;
    try {
      const users = await this.usersByEmail(email);
      if (users.length === 0) return null; // a new user: embedgate or the JWT login creates it with embedgate's groups
      for (const user of users) {
        const problem = await this.problemOf(user, tenant);
        if (problem) return problem;
      }
      return null;
    } catch (error) {
      // Fail closed, and do not keep the answer: the next embed asks again.
      this.identities.delete(key);
      return `Metabase could not be asked about this email (${(error as Error).message}): SSO is refused until it can`;
    }
  }

  /** Why this Metabase user (as just read) must not be signed in, or have its account written to, for the tenant; null when safe. */
  async problemOf(user: MetabaseUser, tenant: TenantRef): Promise<string | null> {
    if (user.is_superuser) return 'the email belongs to a Metabase administrator';
    const check = this.status.lastCheck();
    const tenantId = user.tenant_id ?? null;
    if (tenant.kind === 'internal' || !this.config.metabaseTenants) {
      if (tenantId !== null) return `the email belongs to a user of Metabase tenant #${tenantId}`;
    } else {
      const own = check?.metabaseTenants?.find((t) => t.slug === tenant.slug);
      if (tenantId === null) return 'the email belongs to an internal Metabase user, not a user of this tenant';
      if (!own) return `Metabase tenant '${tenant.slug}' is not known from the last check: the email's tenant cannot be confirmed`;
      if (own.id !== tenantId) return `the email belongs to a user of another Metabase tenant (#${tenantId})`;
    }
    const groupIds = user.group_ids ?? [];
    if (groupIds.length === 0) return null;
    const groups = check?.groups;
    if (!groups) return "Metabase's groups are not known from the last check: the email's groups cannot be confirmed";
    const expected = await this.expectedGroupNames(tenant);
    const outside: string[] = [];
    for (const id of groupIds) {
      const group = groups.find((g) => g.id === id);
      if (!group) outside.push(`#${id}`);
      else if (!isImplicit(group.magic_group_type) && !expected.has(group.name.toLowerCase())) outside.push(`'${group.name}'`);
    }
    return outside.length > 0 ? `the email's Metabase user is in groups outside the tenant's: ${outside.join(', ')}` : null;
  }

  /** The groups embedgate gives this tenant's users, whatever their role (lower-case names). */
  private async expectedGroupNames(tenant: TenantRef): Promise<Set<string>> {
    const row = await this.tenants.findCached(tenant.slug);
    const base = row?.groups ?? this.config.groups[tenant.kind];
    const byRole = Object.values(this.config.groups.byRole).flat();
    return new Set([...base, ...byRole].map((n) => n.toLowerCase()));
  }
}

const isImplicit = (type: string | null | undefined) => type === 'all-internal-users' || type === 'all-external-users';
