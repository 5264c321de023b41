import { Inject, Injectable } from '@nestjs/common';
import { AppsService } from '../apps/apps.service.js';
import type { Principal } from '../auth/principal.js';
import { actorOf } from '../auth/principal.js';
import { ApiError } from '../common/api-error.js';
import { CONFIG, type Config } from '../config/config.js';
import type { Resource, Tenant } from '../generated/prisma/client.js';
import { GuestTokenMinter, guestEmbedUrl, ssoLoginUrl, ssoReturnPath, type EmbedTarget } from '../metabase/metabase-tokens.js';
import { decideEmbed, publicDecision, type Decision, type SeatAvailability } from '../policy/decide-embed.js';
import { MetricsService } from '../metrics/metrics.service.js';
import { ResourcesService } from '../resources/resources.service.js';
import { SeatLedger, type HeldSeat } from '../seats/seat-ledger.service.js';
import { SsoService, type SsoUser } from '../sso/sso.service.js';
import { TenantsService } from '../tenants/tenants.service.js';
import type { EmbedRequest, SsoJwtRequest } from './embed-request.dto.js';

type Purpose = 'embed' | 'sso-identity';

interface Subject {
  tenant: Tenant | null;
  inScope: boolean;
  resource: Resource | null;
}

interface Resolved {
  subject: Subject & { tenant: Tenant };
  decision: Decision;
  seat?: { held: HeldSeat; isNew: boolean };
}

const denied = (decision: Decision) => {
  const denial = decision.denial ?? { status: 403, code: 'denied' };
  return new ApiError(denial.status, denial.code, decision.reasons.join('; '), { decision: publicDecision(decision) });
};

/** POST /v1/embeds and /v1/sso/jwt: asks the policy, binds the SSO identity, asks the seat ledger, mints. */
@Injectable()
export class EmbedsService {
  private readonly guestMinter: GuestTokenMinter;

  constructor(
    @Inject(CONFIG) private readonly config: Config,
    private readonly tenants: TenantsService,
    private readonly resources: ResourcesService,
    private readonly apps: AppsService,
    private readonly seats: SeatLedger,
    private readonly sso: SsoService,
    private readonly metrics: MetricsService,
  ) {
    this.guestMinter = new GuestTokenMinter(config.metabase.embeddingSecretKey);
  }

  private async load(principal: Principal, tenantSlug: string, resourceKey: string | null, fresh = false): Promise<Subject> {
    const [tenant, resource] = await Promise.all([
      this.tenants.findCached(tenantSlug, { fresh }),
      resourceKey === null ? null : this.resources.findCached(resourceKey),
    ]);
    const inScope = tenant ? await this.apps.mayActFor(principal, tenant.id) : false;
    return { tenant, inScope, resource };
  }

  private decide(subject: Subject, email: string | undefined, seat: SeatAvailability, purpose: Purpose): Decision {
    return decideEmbed({
      purpose,
      tenant: subject.tenant,
      tenantInScope: subject.inScope,
      resource: subject.resource ? { key: subject.resource.key, guest: subject.resource.guest, tenantParam: subject.resource.tenantParam } : null,
      user: { email: email ?? null },
      seat,
    });
  }

  /** The decision alone: no token, no seat change. */
  async explain(principal: Principal, request: EmbedRequest) {
    const subject = await this.load(principal, request.tenant, request.resource);
    let seat: SeatAvailability = 'available';
    if (subject.tenant && subject.inScope && subject.tenant.tier === 'drill') {
      seat = await this.seats.availability(subject.tenant.id, request.user.id);
    }
    return { decision: publicDecision(this.decide(subject, request.user.email, seat, 'embed')) };
  }

  /**
   * Decides, and for an SSO decision binds the identity and takes (or reuses) the seat. Throws on
   * denial. `beforeSeat` runs once, before the ledger is first asked: whatever can fail there (a
   * write) fails with no seat taken, so no user ever holds a seat without a token.
   */
  private async resolve(
    principal: Principal,
    request: SsoJwtRequest,
    resourceKey: string | null,
    purpose: Purpose,
    beforeSeat?: (subject: Subject & { tenant: Tenant }) => Promise<void>,
  ): Promise<Resolved> {
    let subject = await this.load(principal, request.tenant, resourceKey);
    // Optimistic first pass: only a would-be SSO decision goes to the identity registry and the ledger.
    let decision = this.decide(subject, request.user.email, 'available', purpose);
    let seat: Resolved['seat'];
    let prepared = false;
    for (let attempt = 0; decision.mode === 'sso' && subject.tenant && !seat; attempt++) {
      const tenant = subject.tenant;
      if (beforeSeat && !prepared) {
        await beforeSeat({ ...subject, tenant });
        prepared = true;
      }
      const result = await this.sso.acquireSeat(tenant, { id: request.user.id, email: request.user.email! }, actorOf(principal));
      if (result.outcome === 'held' || result.outcome === 'allocated') {
        seat = { held: result.seat, isNew: result.outcome === 'allocated' };
        decision = this.decide(subject, request.user.email, result.outcome === 'held' ? 'held' : 'available', purpose);
      } else if (result.outcome === 'tenant-changed') {
        // An admin changed the tenant meanwhile (tier, suspension): decide again on what it is now.
        if (attempt > 0) throw new ApiError(409, 'conflict', 'the tenant is being changed; retry');
        subject = await this.load(principal, request.tenant, resourceKey, true);
        decision = this.decide(subject, request.user.email, 'available', purpose);
      } else {
        decision = this.decide(subject, request.user.email, result.outcome, purpose);
      }
    }
    if (decision.mode === 'deny' || !subject.tenant) {
      this.metrics.embedsDenied.inc({ rule: decision.rule });
      throw denied(decision);
    }
    this.metrics.embedsIssued.inc({ mode: decision.mode, rule: decision.rule });
    return { subject: subject as Resolved['subject'], decision, seat };
  }

  async embed(principal: Principal, request: EmbedRequest) {
    const user = this.ssoUser(request);
    // The launch link is written before the seat is taken (unused, it is inert: it works only for a
    // user who holds a seat, and nobody has its id), so a failed write can leave no seat behind.
    let launch: { url: string; expiresAt: Date } | undefined;
    const { subject, decision, seat } = await this.resolve(principal, request, request.resource, 'embed', async ({ tenant, resource }) => {
      if (request.options?.launch !== 'direct' && resource) launch = await this.sso.createLaunch(tenant, user, ssoReturnPath(this.targetOf(resource)));
    });
    const { tenant, resource } = subject;
    if (!resource) throw denied(decision);
    const target = this.targetOf(resource);

    if (decision.mode === 'guest') {
      const minted = this.guestMinter.mint({
        target,
        tenantParam: resource.tenantParam!,
        customerId: tenant.customerId!,
        now: new Date(),
        ttlSeconds: this.config.metabase.guestTokenTtlSeconds,
      });
      return {
        mode: 'guest' as const,
        url: guestEmbedUrl(this.config.metabase.siteUrl, target.type, minted.token, request.options),
        token: minted.token,
        expiresAt: minted.expiresAt.toISOString(),
        decision: publicDecision(decision),
      };
    }

    if (!seat) throw new Error('an SSO decision without a seat');
    const minted = this.sso.mint(tenant, user);
    const url = launch?.url ?? ssoLoginUrl(this.config.metabase.siteUrl, minted.token, ssoReturnPath(target));
    return {
      mode: 'sso' as const,
      url,
      jwt: minted.token,
      expiresAt: minted.expiresAt.toISOString(),
      seat: { id: seat.held.id, heldSince: seat.held.heldSince.toISOString(), new: seat.isNew },
      decision: publicDecision(decision),
    };
  }

  /** POST /v1/sso/jwt: `{jwt}` for Metabase's embedding SDK, through the same policy and seat rules. */
  async ssoJwt(principal: Principal, request: SsoJwtRequest) {
    const { subject } = await this.resolve(principal, request, null, 'sso-identity');
    const minted = this.sso.mint(subject.tenant, this.ssoUser(request));
    return { jwt: minted.token };
  }

  private targetOf(resource: Resource): EmbedTarget {
    return { type: resource.type, metabaseId: resource.metabaseId };
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
