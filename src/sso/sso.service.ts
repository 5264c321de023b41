import { randomBytes } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { AuditService } from '../audit/audit.service.js';
import { ApiError } from '../common/api-error.js';
import { CONFIG, type Config } from '../config/config.js';
import type { Tenant } from '../tenants/tenant.js';
import { RESERVED_CLAIMS, type MintedToken, type SsoIdentity } from '../metabase/metabase-tokens.js';
import { MetabaseTokens } from '../metabase/metabase-tokens.service.js';
import { MetabaseAccounts, type AccountSpec } from '../metabase-status/metabase-accounts.service.js';
import { MetabaseSafety } from '../metabase-status/metabase-safety.service.js';
import { SeatLedger, type AcquireResult } from '../seats/seat-ledger.service.js';
import { TenantsService } from '../tenants/tenants.service.js';
import { emailDomainAllowed, ssoEmailFor } from './sso-email.js';
import { SsoLaunchRepository } from './sso-launch.repository.js';
import { sha256 } from '../common/hash.js';

/** A seat outcome once the identity is settled (conflicts are thrown as 409). */
export type SeatOutcome = Exclude<AcquireResult, { outcome: 'identity-conflict' | 'identity-retry' }>;

export interface SsoUser {
  id: string;
  email: string;
  firstName?: string;
  lastName?: string;
  role: 'viewer' | 'analyst';
}

/** Launch links live this long and work once. */
export const LAUNCH_TTL_SECONDS = 60;
const LAUNCH_ID = /^[A-Za-z0-9_-]{43}$/;

/**
 * Everything about SSO identities: the email a tenant's user gets in Metabase (and which tenant owns
 * it), the token's groups and attributes (only from embedgate's data), and one-time launch links.
 */
@Injectable()
export class SsoService {
  private readonly logger = new Logger('SsoService');
  /** Bindings never change once made: a confirmed (email, tenant) needs no second look. */
  private readonly bound = new Map<string, string>();

  constructor(
    @Inject(CONFIG) private readonly config: Config,
    private readonly launches: SsoLaunchRepository,
    private readonly audit: AuditService,
    private readonly seats: SeatLedger,
    private readonly tenants: TenantsService,
    private readonly tokens: MetabaseTokens,
    private readonly accounts: MetabaseAccounts,
    private readonly safety: MetabaseSafety,
  ) {}

  /** The email this tenant's user has in Metabase (normalized, aliased when the tenant says so). */
  emailFor(tenant: Tenant, email: string): string {
    return ssoEmailFor(email, tenant.slug, tenant.ssoEmailAlias);
  }

  /**
   * The seat of a tenant's SSO user: reused or taken by the seat ledger, which also binds the user's
   * Metabase email to the tenant on first use, in the same statement. Metabase matches SSO users by
   * email: the same email minted for a second tenant would hand it the first one's account, so that
   * is refused with 409 identity_conflict. Bindings never change once made: one confirmed here is not
   * asked for again. With METABASE_USER_PROVISIONING=embedgate, the user's Metabase account is then
   * made ready (created, or reactivated and reset); when it cannot be, the request fails with 503
   * metabase_account_unavailable and a seat it took is given back: no seat without a token.
   */
  async acquireSeat(tenant: Tenant, user: { id: string; email: string; role?: SsoUser['role'] }, actor: string): Promise<SeatOutcome> {
    const ssoEmail = this.emailFor(tenant, user.email);
    const bindEmail = this.bound.get(ssoEmail) !== tenant.id;
    const result = await this.seats.acquire(tenant, { id: user.id, email: ssoEmail }, actor, { bindEmail });
    if (result.outcome === 'identity-conflict') {
      throw new ApiError(
        409,
        'identity_conflict',
        'this email is already the SSO identity of another tenant; an admin can give this tenant an email alias scheme (ssoEmailAlias)',
      );
    }
    if (result.outcome === 'identity-retry') throw new ApiError(409, 'conflict', 'the SSO identity is being created by a concurrent request; retry');
    if (bindEmail) {
      if (this.bound.size > 100_000) this.bound.clear();
      this.bound.set(ssoEmail, tenant.id);
    }
    if (result.outcome === 'allocated' || result.outcome === 'held') await this.ensureAccount(tenant, ssoEmail, user.role ?? 'viewer', result, actor);
    return result;
  }

  /** The Metabase account for a seat (embedgate provisioning only): a new seat asks Metabase afresh; a seat it took is given back on failure. */
  private async ensureAccount(
    tenant: Tenant,
    ssoEmail: string,
    role: SsoUser['role'],
    seat: Extract<AcquireResult, { outcome: 'allocated' | 'held' }>,
    actor: string,
  ) {
    if (!this.accounts.enabled) return;
    try {
      await this.accounts.ensure(this.accountFor(tenant, ssoEmail, role), { fresh: seat.outcome === 'allocated', actor });
    } catch (error) {
      if (seat.outcome === 'allocated') {
        await this.seats.release(seat.seat.id, 'metabase-account-unavailable', actor).catch((failure: unknown) => {
          // Left held without a token: idle reclamation takes it back.
          this.logger.error(`seat ${seat.seat.id} could not be given back after its Metabase account failed: ${(failure as Error).message}`);
        });
      }
      throw error;
    }
  }

  /** The Metabase account a tenant's SSO user gets: the token's groups (the role's included) and attributes. */
  private accountFor(tenant: Tenant, ssoEmail: string, role: SsoUser['role']): AccountSpec {
    return { email: ssoEmail, tenant: { slug: tenant.slug, kind: tenant.kind }, groups: this.groupsFor(tenant, role), attributes: this.attributesFor(tenant) };
  }

  /** The tenant's groups, or its kind's default. */
  private tenantGroups(tenant: Tenant): string[] {
    return (tenant.groups as string[] | null) ?? this.config.groups[tenant.kind];
  }

  /** The attributes an SSO token of the tenant carries (SsoTokenMinter's claims), as the strings Metabase stores. */
  private attributesFor(tenant: Tenant): Record<string, string> {
    const attributes: Record<string, string> = {};
    for (const [key, value] of Object.entries(tenant.attributes as Record<string, string | number | boolean>)) {
      if (!key.startsWith('@') && !RESERVED_CLAIMS.has(key)) attributes[key] = String(value);
    }
    if (tenant.customerId !== null) attributes.customer_id = tenant.customerId;
    return attributes;
  }

  /** Groups: the tenant's (or its kind's default), plus the role's extra groups. Never from the request. */
  groupsFor(tenant: Tenant, role: SsoUser['role']): string[] {
    return [...new Set([...this.tenantGroups(tenant), ...(this.config.groups.byRole[role] ?? [])])];
  }

  /** What the user's SSO token says: the tenant's email, groups and attributes (never the request's). */
  identityFor(tenant: Tenant, user: SsoUser): SsoIdentity {
    return {
      email: this.emailFor(tenant, user.email),
      firstName: user.firstName || undefined,
      lastName: user.lastName || undefined,
      groups: this.groupsFor(tenant, user.role),
      customerId: tenant.customerId ?? undefined,
      attributes: tenant.attributes as Record<string, string | number | boolean>,
      metabaseTenant: this.config.metabaseTenants ? tenant.slug : undefined,
    };
  }

  /** A fresh SSO token for the user (iat now, its own jti). */
  mint(tenant: Tenant, user: SsoUser, now = new Date()): MintedToken {
    return this.tokens.ssoToken(this.identityFor(tenant, user), now);
  }

  /** A one-time launch link: `{PUBLIC_URL}/v1/launch/{id}`, 60 s, usable once. */
  async createLaunch(tenant: Tenant, user: SsoUser, returnTo: string): Promise<{ url: string; expiresAt: Date }> {
    const id = randomBytes(32).toString('base64url');
    const expiresAt = new Date(Date.now() + LAUNCH_TTL_SECONDS * 1000);
    await this.launches.create({
      idHash: sha256(id),
      tenantId: tenant.id,
      userId: user.id,
      email: user.email,
      firstName: user.firstName ?? null,
      lastName: user.lastName ?? null,
      role: user.role,
      returnTo,
      expiresAt,
    });
    return { url: `${this.config.publicUrl}/v1/launch/${id}`, expiresAt };
  }

  /**
   * Redeems a launch link: marks it used (atomically: two concurrent opens get one login), checks
   * the user still holds a seat in an active drill tenant, asks again what the embed asked (below),
   * and returns the Metabase login URL.
   */
  async redeemLaunch(id: string): Promise<string> {
    const idHash = LAUNCH_ID.test(id) ? sha256(id) : null;
    const launch = idHash ? await this.launches.redeem(idHash) : null;
    if (!launch) {
      const existing = idHash ? await this.launches.find(idHash) : null;
      const problem = !existing ? 'unknown' : existing.usedAt ? 'replayed' : 'expired';
      await this.audit.record(undefined, {
        type: `launch.${problem}`,
        actor: 'browser',
        data: existing ? { userId: existing.userId, tenantId: existing.tenantId } : {},
      });
      if (!existing) throw new ApiError(404, 'launch_not_found', 'no such launch link');
      throw new ApiError(
        410,
        existing.usedAt ? 'launch_used' : 'launch_expired',
        existing.usedAt ? 'this launch link was already used' : 'this launch link has expired',
      );
    }
    const tenant = await this.tenants.findById(launch.tenantId);
    const seated = await this.seats.holds(launch.tenantId, launch.userId);
    if (!tenant || tenant.status !== 'active' || tenant.tier !== 'drill' || !seated) {
      throw new ApiError(410, 'launch_revoked', 'the seat or the tenant’s drill-through tier was withdrawn since this link was made');
    }
    const refusal = await this.launchRefusal(tenant, launch.email);
    if (refusal) {
      await this.audit.record(undefined, {
        type: 'launch.refused',
        actor: 'browser',
        tenantSlug: tenant.slug,
        data: { userId: launch.userId, code: refusal.code, reason: refusal.message },
      });
      throw new ApiError(403, refusal.code, refusal.message);
    }
    const user: SsoUser = {
      id: launch.userId,
      email: launch.email,
      firstName: launch.firstName ?? undefined,
      lastName: launch.lastName ?? undefined,
      role: launch.role === 'analyst' ? 'analyst' : 'viewer',
    };
    const minted = this.mint(tenant, user);
    return this.tokens.ssoLoginUrl(minted.token, launch.returnTo);
  }

  /**
   * What the embed checked before the link was made, asked again when it is opened (up to 60 s later):
   * the email still in the tenant's domains, the tenant still proven isolated (while fail-closed is
   * on), and the email still safe to sign in, asked of Metabase now, not from the kept answers.
   */
  private async launchRefusal(tenant: Tenant, email: string): Promise<{ code: string; message: string } | null> {
    if (!emailDomainAllowed(email, tenant.emailDomains)) {
      return { code: 'email_domain_not_allowed', message: `the email is no longer in tenant '${tenant.slug}'s email domains` };
    }
    const verdict = this.safety.isolationVerdict(tenant);
    if (verdict.enforced && !verdict.proven) return { code: 'isolation_unverified', message: `no SSO for tenant '${tenant.slug}': ${verdict.reason}` };
    const problem = await this.safety.identityProblem(this.emailFor(tenant, email), tenant, { fresh: true });
    return problem ? { code: 'identity_unsafe', message: `no SSO for this email: ${problem}` } : null;
  }
}
