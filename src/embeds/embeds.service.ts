import { Injectable } from '@nestjs/common';
import { AppsService } from '../apps/apps.service.js';
import type { Principal } from '../auth/principal.js';
import { actorOf } from '../auth/principal.js';
import { ApiError } from '../common/api-error.js';
import type { Resource } from '../resources/resource.js';
import type { Tenant } from '../tenants/tenant.js';
import { ssoReturnPath, type EmbedTarget } from '../metabase/metabase-tokens.js';
import { MetabaseSafety } from '../metabase/metabase-safety.service.js';
import { MetabaseTokens } from '../metabase/metabase-tokens.service.js';
import { decideEmbed, publicDecision, viewerDecision, type Decision, type IsolationState, type SeatAvailability } from '../policy/decide-embed.js';
import { MetricsService } from '../metrics/metrics.service.js';
import { ResourcesService } from '../resources/resources.service.js';
import { SeatLedger, type HeldSeat } from '../seats/seat-ledger.service.js';
import { emailDomainAllowed } from '../sso/sso-email.js';
import { SsoService, type SsoUser } from '../sso/sso.service.js';
import { TenantsService } from '../tenants/tenants.service.js';
import { ATTR, inSpan, SPAN } from '../tracing/spans.js';
import { UsageRollup } from '../usage/usage-rollup.service.js';
import type { EmbedRequest, SsoJwtRequest } from './embed-request.dto.js';

type Purpose = 'embed' | 'sso-identity' | 'guest-token';

interface Subject {
  tenant: Tenant | null;
  inScope: boolean;
  resource: Resource | null;
}

/** A request decided, its seat taken when the decision is SSO. */
interface Resolved {
  tenant: Tenant;
  resource: Resource | null;
  decision: Decision;
  seat?: { held: HeldSeat; isNew: boolean };
}

const denied = (decision: Decision, principal: Principal) => {
  const denial = decision.denial ?? { status: 403, code: 'denied' };
  if (principal.viewer) {
    return new ApiError(denial.status, denial.code, `refused by rule ${decision.rule}`, { decision: viewerDecision(decision) });
  }
  return new ApiError(denial.status, denial.code, decision.reasons.join('; '), { decision: publicDecision(decision) });
};

/**
 * POST /v1/embeds, /v1/embeds/explain and /v1/sso/jwt, top-down: load the tenant, resource and
 * scope; decide once (the policy also says what to do for each answer of the seat ledger); for SSO,
 * take the seat (binding the identity); mint once (MetabaseTokens).
 */
@Injectable()
export class EmbedsService {
  constructor(
    private readonly tenants: TenantsService,
    private readonly resources: ResourcesService,
    private readonly apps: AppsService,
    private readonly seats: SeatLedger,
    private readonly sso: SsoService,
    private readonly tokens: MetabaseTokens,
    private readonly metrics: MetricsService,
    private readonly safety: MetabaseSafety,
    private readonly usage: UsageRollup,
  ) {}

  /** The decision alone: no token, no seat change. */
  async explain(principal: Principal, request: EmbedRequest) {
    const subject = await this.load(principal, request.tenant, request.resource);
    let seat: SeatAvailability = 'available';
    if (subject.tenant && subject.inScope && subject.tenant.tier === 'drill') {
      seat = await this.seats.availability(subject.tenant.id, request.user.id);
    }
    return { decision: publicDecision(await this.decide(subject, request.user.email, seat, 'embed')) };
  }

  async embed(principal: Principal, request: EmbedRequest) {
    const user = this.ssoUser(request);
    // The launch link is written before the seat is taken (unused, it is inert: it works only for a
    // user who holds a seat, and nobody has its id), so a failed write leaves no seat behind.
    let launch: { url: string } | undefined;
    const { tenant, resource, decision, seat } = await this.resolve(principal, request, request.resource, 'embed', async (subject) => {
      if (request.options?.launch !== 'direct' && subject.resource) {
        launch = await this.sso.createLaunch(subject.tenant, user, ssoReturnPath(targetOf(subject.resource)));
      }
    });
    if (!resource) throw denied(decision, principal);
    const target = targetOf(resource);

    if (decision.mode === 'guest') {
      const minted = this.tokens.guestEmbed({ target, tenantParam: resource.tenantParam!, customerId: tenant.customerId!, options: request.options });
      return { mode: 'guest' as const, url: minted.url, token: minted.token, expiresAt: minted.expiresAt.toISOString(), decision: publicDecision(decision) };
    }

    if (!seat) throw new Error('an SSO decision without a seat');
    const minted = this.tokens.ssoToken(this.sso.identityFor(tenant, user));
    return {
      mode: 'sso' as const,
      url: launch?.url ?? this.tokens.ssoLoginUrl(minted.token, ssoReturnPath(target)),
      jwt: minted.token,
      expiresAt: minted.expiresAt.toISOString(),
      seat: { id: seat.held.id, heldSince: seat.held.heldSince.toISOString(), new: seat.isNew },
      decision: publicDecision(decision),
    };
  }

  /** POST /v1/sso/jwt: `{jwt}` for Metabase's embedding SDK, through the same policy and seat rules. */
  async ssoJwt(principal: Principal, request: SsoJwtRequest) {
    const { tenant } = await this.resolve(principal, request, null, 'sso-identity');
    return { jwt: this.tokens.ssoToken(this.sso.identityFor(tenant, this.ssoUser(request))).token };
  }

  /**
   * GET /v1/sdk/sso (Metabase's SDK and embed.js call it with the viewer's cookie or OIDC token):
   * `{jwt}` through the same policy and seat ledger, with the SDK's longer token lifetime.
   */
  async sdkSso(principal: Principal, request: SsoJwtRequest) {
    const { tenant } = await this.resolve(principal, request, null, 'sso-identity');
    return { jwt: this.tokens.sdkSsoToken(this.sso.identityFor(tenant, this.ssoUser(request))).token };
  }

  /**
   * POST /v1/sdk/guest (embed.js's guest provider): `{jwt}`, a guest token of a registered,
   * guest-embeddable resource named by its Metabase id, locked to the viewer's own tenant. No seat.
   */
  async sdkGuest(principal: Principal, request: SsoJwtRequest, item: EmbedTarget) {
    const registered = await this.resources.findForMetabaseItem(item.type, item.metabaseId);
    const { tenant, resource } = await this.resolve(principal, request, registered?.key ?? null, 'guest-token');
    if (!resource) throw new Error('a guest decision without a resource');
    return { jwt: this.tokens.guestToken({ target: targetOf(resource), tenantParam: resource.tenantParam!, customerId: tenant.customerId! }).token };
  }

  /**
   * Decides once and, for an SSO decision, takes (or reuses) the seat; throws on denial.
   * `beforeSeat` runs before the ledger is asked: whatever can fail there (a write) fails with no
   * seat taken, so no user ever holds a seat without a token. Only when an admin changed the tenant
   * meanwhile (tier, suspension) is the request decided again, once, on what the tenant is now.
   */
  private async resolve(
    principal: Principal,
    request: SsoJwtRequest,
    resourceKey: string | null,
    purpose: Purpose,
    beforeSeat?: (subject: Subject & { tenant: Tenant }) => Promise<void>,
  ): Promise<Resolved> {
    let subject = await this.load(principal, request.tenant, resourceKey);
    let decision = await this.decide(subject, request.user.email, 'available', purpose);
    let seat: Resolved['seat'];
    let prepared = false;
    for (let attempt = 0; decision.mode === 'sso' && subject.tenant && !seat; attempt++) {
      const tenant = subject.tenant;
      if (beforeSeat && !prepared) {
        await beforeSeat({ ...subject, tenant });
        prepared = true;
      }
      const result = await this.sso.acquireSeat(tenant, { id: request.user.id, email: request.user.email!, role: request.user.role }, actorOf(principal));
      if (result.outcome === 'tenant-changed') {
        if (attempt > 0) throw new ApiError(409, 'conflict', 'the tenant is being changed; retry');
        subject = await this.load(principal, request.tenant, resourceKey, true);
        decision = await this.decide(subject, request.user.email, 'available', purpose);
        continue;
      }
      if (result.outcome === 'allocated' || result.outcome === 'held') seat = { held: result.seat, isNew: result.outcome === 'allocated' };
      decision = result.outcome === 'allocated' ? decision : (decision.bySeat?.[result.outcome] ?? decision);
    }
    // The usage roll-up counts the decision in memory (flushed off the request path); not for a tenant outside the app's scope.
    this.usage.record(subject.inScope ? subject.tenant?.id : null, subject.resource?.key ?? '', decision.mode, request.user.id);
    if (decision.mode === 'deny' || !subject.tenant) {
      this.metrics.embedsDenied.inc({ rule: decision.rule });
      throw denied(decision, principal);
    }
    this.metrics.embedsIssued.inc({ mode: decision.mode, rule: decision.rule });
    return { tenant: subject.tenant, resource: subject.resource, decision, seat };
  }

  private async load(principal: Principal, tenantSlug: string, resourceKey: string | null, fresh = false): Promise<Subject> {
    const [tenant, resource] = await Promise.all([
      this.tenants.findCached(tenantSlug, { fresh }),
      resourceKey === null ? null : this.resources.findCached(resourceKey),
    ]);
    const inScope = tenant ? await this.apps.mayActFor(principal, tenant.id) : false;
    return { tenant, inScope, resource };
  }

  /**
   * Decides with the tenant's isolation verdict and email domains; when that says SSO, asks Metabase
   * whether the email is safe to sign in (a lookup, so only then, and before any seat is taken) and,
   * if it is not, decides again with the problem. In a span, with the tenant and the rule that fired.
   */
  private decide(subject: Subject, email: string | undefined, seat: SeatAvailability, purpose: Purpose): Promise<Decision> {
    return inSpan(
      SPAN.policyDecision,
      { [ATTR.tenant]: subject.tenant?.slug, [ATTR.purpose]: purpose },
      () => this.decideNow(subject, email, seat, purpose),
      (decision) => ({ [ATTR.rule]: decision.rule, [ATTR.mode]: decision.mode }),
    );
  }

  private async decideNow(subject: Subject, email: string | undefined, seat: SeatAvailability, purpose: Purpose): Promise<Decision> {
    const tenant = subject.tenant;
    const verdict = tenant ? this.safety.isolationVerdict(tenant) : null;
    const isolation: IsolationState = !verdict || !verdict.enforced ? 'not-enforced' : verdict.proven ? 'proven' : 'unverified';
    const input = {
      purpose,
      tenant,
      tenantInScope: subject.inScope,
      resource: subject.resource ? { key: subject.resource.key, guest: subject.resource.guest, tenantParam: subject.resource.tenantParam } : null,
      user: { email: email ?? null, emailAllowed: !!email && !!tenant && emailDomainAllowed(email, tenant.emailDomains) },
      seat,
      isolation,
      isolationReason: verdict?.reason,
    };
    const decision = decideEmbed(input);
    if (decision.mode !== 'sso' || !tenant || !email) return decision;
    const identityProblem = await this.safety.identityProblem(this.sso.emailFor(tenant, email), tenant);
    return identityProblem ? decideEmbed({ ...input, identityProblem }) : decision;
  }

  private ssoUser(request: SsoJwtRequest): SsoUser {
    return {
      id: request.user.id,
      email: request.user.email!,
      firstName: request.user.firstName,
      lastName: request.user.lastName,
      role: request.user.role,
    };
  }
}

const targetOf = (resource: Resource): EmbedTarget => ({ type: resource.type, metabaseId: resource.metabaseId });
