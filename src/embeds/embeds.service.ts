import { Inject, Injectable } from '@nestjs/common';
import { AppsService } from '../apps/apps.service.js';
import type { Principal } from '../auth/principal.js';
import { actorOf } from '../auth/principal.js';
import { ApiError } from '../common/api-error.js';
import { CONFIG, type Config } from '../config/config.js';
import { PrismaService } from '../database/prisma.service.js';
import type { Resource, Tenant } from '../generated/prisma/client.js';
import {
  GuestTokenMinter,
  SsoTokenMinter,
  guestEmbedUrl,
  ssoLoginUrl,
  ssoReturnPath,
  type EmbedTarget,
} from '../metabase/metabase-tokens.js';
import { decideEmbed, publicDecision, type Decision, type SeatAvailability } from '../policy/decide-embed.js';
import { ResourcesService } from '../resources/resources.service.js';
import { SeatLedger, type HeldSeat } from '../seats/seat-ledger.service.js';
import { TenantsService } from '../tenants/tenants.service.js';
import { normalizeEmail, type EmbedRequest } from './embed-request.dto.js';

interface Subject {
  tenant: Tenant | null;
  inScope: boolean;
  resource: Resource | null;
}

/** POST /v1/embeds: asks the policy, asks the seat ledger, mints the token Metabase expects. */
@Injectable()
export class EmbedsService {
  private readonly guestMinter: GuestTokenMinter;
  private readonly ssoMinter: SsoTokenMinter;

  constructor(
    @Inject(CONFIG) private readonly config: Config,
    private readonly prisma: PrismaService,
    private readonly tenants: TenantsService,
    private readonly resources: ResourcesService,
    private readonly apps: AppsService,
    private readonly seats: SeatLedger,
  ) {
    this.guestMinter = new GuestTokenMinter(config.metabase.embeddingSecretKey);
    this.ssoMinter = new SsoTokenMinter(config.metabase.jwtSharedSecret);
  }

  private async load(principal: Principal, request: EmbedRequest): Promise<Subject> {
    const [tenant, resource] = await Promise.all([
      this.tenants.findBySlug(this.prisma, request.tenant),
      this.resources.findByKey(this.prisma, request.resource),
    ]);
    const inScope = tenant ? await this.apps.mayActFor(this.prisma, principal, tenant.id) : false;
    return { tenant, inScope, resource };
  }

  private decide(subject: Subject, request: EmbedRequest, seat: SeatAvailability): Decision {
    return decideEmbed({
      tenant: subject.tenant,
      tenantInScope: subject.inScope,
      resource: subject.resource ? { key: subject.resource.key, guest: subject.resource.guest, tenantParam: subject.resource.tenantParam } : null,
      user: { email: request.user.email ?? null },
      seat,
    });
  }

  /** The decision alone: no token, no seat change. */
  async explain(principal: Principal, request: EmbedRequest) {
    const subject = await this.load(principal, request);
    let seat: SeatAvailability = 'available';
    if (subject.tenant && subject.inScope && subject.tenant.tier === 'drill') {
      seat = await this.seats.availability(subject.tenant.id, request.user.id);
    }
    return { decision: publicDecision(this.decide(subject, request, seat)) };
  }

  async embed(principal: Principal, request: EmbedRequest) {
    let subject = await this.load(principal, request);
    // Optimistic first pass: only a would-be SSO decision goes to the ledger.
    let decision = this.decide(subject, request, 'available');
    let seat: { held: HeldSeat; isNew: boolean } | undefined;
    if (decision.mode === 'sso' && subject.tenant) {
      const email = normalizeEmail(request.user.email!);
      let result = await this.seats.acquire(subject.tenant, { id: request.user.id, email }, actorOf(principal));
      if (result.outcome === 'tenant-changed') {
        // An admin changed the tenant meanwhile (tier, suspension): decide again on what it is now.
        subject = await this.load(principal, request);
        decision = this.decide(subject, request, 'available');
        result = decision.mode === 'sso' ? await this.seats.acquire(subject.tenant!, { id: request.user.id, email }, actorOf(principal)) : result;
        if (decision.mode === 'sso' && result.outcome === 'tenant-changed') {
          throw new ApiError(409, 'conflict', 'the tenant is being changed; retry');
        }
      }
      if (result.outcome === 'held' || result.outcome === 'allocated') {
        seat = { held: result.seat, isNew: result.outcome === 'allocated' };
        decision = this.decide(subject, request, result.outcome === 'held' ? 'held' : 'available');
      } else if (result.outcome !== 'tenant-changed') {
        decision = this.decide(subject, request, result.outcome);
      }
    }

    if (decision.mode === 'deny' || !subject.tenant || !subject.resource) {
      const denial = decision.denial ?? { status: 403, code: 'denied' };
      throw new ApiError(denial.status, denial.code, decision.reasons.join('; '), { decision: publicDecision(decision) });
    }
    const target: EmbedTarget = { type: subject.resource.type, metabaseId: subject.resource.metabaseId };
    const now = new Date();

    if (decision.mode === 'guest') {
      const minted = await this.guestMinter.mint({
        target,
        tenantParam: subject.resource.tenantParam!,
        customerId: subject.tenant.customerId!,
        now,
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
    const minted = await this.ssoMinter.mint(
      {
        email: normalizeEmail(request.user.email!),
        firstName: request.user.firstName || undefined,
        lastName: request.user.lastName || undefined,
        groups: this.groupsFor(subject.tenant, request.user.role),
        customerId: subject.tenant.customerId ?? undefined,
        attributes: subject.tenant.attributes as Record<string, string | number | boolean>,
      },
      now,
      this.config.metabase.ssoTokenTtlSeconds,
    );
    return {
      mode: 'sso' as const,
      url: ssoLoginUrl(this.config.metabase.siteUrl, minted.token, ssoReturnPath(target)),
      jwt: minted.token,
      expiresAt: minted.expiresAt.toISOString(),
      seat: { id: seat.held.id, heldSince: seat.held.heldSince.toISOString(), new: seat.isNew },
      decision: publicDecision(decision),
    };
  }

  /** The tenant's groups (or its kind's default), plus the user role's extra groups; never from the request. */
  private groupsFor(tenant: Tenant, role: 'viewer' | 'analyst'): string[] {
    const base = (tenant.groups as string[] | null) ?? this.config.groups[tenant.kind];
    return [...new Set([...base, ...(this.config.groups.byRole[role] ?? [])])];
  }
}
