import { Injectable } from '@nestjs/common';
import { Caches } from '../cache/caches.service.js';
import type { EpochCache } from '../cache/epoch-cache.js';
import { ApiError } from '../common/api-error.js';
import { decodeCursor, toPage, type Page } from '../common/pagination.js';
import { AuditService } from '../audit/audit.service.js';
import { isUniqueViolation } from '../database/database-errors.js';
import { PrismaService } from '../database/prisma.service.js';
import { Prisma, type Tenant } from '../generated/prisma/client.js';
import { SeatLedger } from '../seats/seat-ledger.service.js';
import type { CreateTenantInput, SetTierInput, UpdateTenantInput } from './tenant.dto.js';

export interface TenantView {
  slug: string;
  name: string;
  kind: Tenant['kind'];
  tier: Tenant['tier'];
  customerId: string | null;
  seatCap: number | null;
  onSeatsExhausted: Tenant['onSeatsExhausted'];
  attributes: Record<string, string | number | boolean>;
  /** null: the default groups of the tenant's kind. */
  groups: string[] | null;
  status: Tenant['status'];
  /** null, or how this tenant's SSO emails are made unique to it ("plus-tenant"). */
  ssoEmailAlias: string | null;
  seatsHeld: number;
  createdAt: string;
  updatedAt: string;
}

export function tenantView(tenant: Tenant): TenantView {
  return {
    slug: tenant.slug,
    name: tenant.name,
    kind: tenant.kind,
    tier: tenant.tier,
    customerId: tenant.customerId,
    seatCap: tenant.seatCap,
    onSeatsExhausted: tenant.onSeatsExhausted,
    attributes: tenant.attributes as TenantView['attributes'],
    groups: (tenant.groups as string[] | null) ?? null,
    status: tenant.status,
    ssoEmailAlias: tenant.ssoEmailAlias,
    seatsHeld: tenant.seatsHeld,
    createdAt: tenant.createdAt.toISOString(),
    updatedAt: tenant.updatedAt.toISOString(),
  };
}

/** A tenants row as Prisma's Tenant, for plain SQL on the embed path. */
const TENANT_COLUMNS = `id, slug, name, kind::text AS kind, tier::text AS tier, customer_id AS "customerId", seat_cap AS "seatCap",
  on_seats_exhausted::text AS "onSeatsExhausted", attributes, groups, status::text AS status, sso_email_alias AS "ssoEmailAlias",
  seats_held AS "seatsHeld", created_at AS "createdAt", updated_at AS "updatedAt"`;

const tenantNotFound = (slug: string) => new ApiError(404, 'tenant_not_found', `tenant '${slug}' not found`);

@Injectable()
export class TenantsService {
  /** Tenants by slug for the embed path (see Caches for the bound); this instance's writes invalidate at once. */
  private readonly cache: EpochCache<string, Tenant | null>;

  constructor(
    private readonly prisma: PrismaService,
    private readonly audit: AuditService,
    private readonly seats: SeatLedger,
    caches: Caches,
  ) {
    this.cache = caches.create('tenants');
  }

  /** The tenant as the embed path sees it (cached; seat counts in it may be stale: the ledger re-checks). */
  findCached(slug: string, options: { fresh?: boolean } = {}): Promise<Tenant | null> {
    const load = async () => (await this.prisma.sql<Tenant>(`SELECT ${TENANT_COLUMNS} FROM tenants WHERE slug = $1`, [slug], 'tenant-by-slug'))[0] ?? null;
    return options.fresh ? this.cache.getFresh(slug, load) : this.cache.getOrLoad(slug, load);
  }

  async create(input: CreateTenantInput, actor: string): Promise<TenantView> {
    try {
      const tenant = await this.cache.invalidating([input.slug], () => this.prisma.$transaction(async (tx) => {
        const created = await tx.tenant.create({
          data: {
            slug: input.slug,
            name: input.name,
            kind: input.kind,
            tier: input.tier ?? (input.kind === 'internal' ? 'drill' : 'view'),
            customerId: input.customerId ?? null,
            seatCap: input.seatCap ?? null,
            onSeatsExhausted: input.onSeatsExhausted ?? 'guest',
            attributes: (input.attributes ?? {}) as Prisma.InputJsonValue,
            groups: input.groups ?? undefined,
            ssoEmailAlias: input.ssoEmailAlias ?? null,
          },
        });
        await this.audit.record(tx, { type: 'tenant.created', actor, tenantSlug: created.slug, data: { ...input } });
        return created;
      }));
      return tenantView(tenant);
    } catch (error) {
      if (isUniqueViolation(error)) throw new ApiError(409, 'tenant_exists', `a tenant with slug '${input.slug}' already exists`);
      throw error;
    }
  }

  async list(limit: number, cursor?: string): Promise<Page<TenantView>> {
    const after = decodeCursor(cursor);
    const rows = await this.prisma.tenant.findMany({
      where: after ? { slug: { gt: after } } : undefined,
      orderBy: { slug: 'asc' },
      take: limit + 1,
    });
    return toPage(rows, limit, (row) => row.slug, tenantView);
  }

  /** For the console: slug or name containing q, optionally one kind and tier; at most 200. */
  async search(filter: { q?: string; kind?: Tenant['kind']; tier?: Tenant['tier'] }): Promise<TenantView[]> {
    const rows = await this.prisma.tenant.findMany({
      where: {
        kind: filter.kind,
        tier: filter.tier,
        ...(filter.q ? { OR: [{ slug: { contains: filter.q.toLowerCase() } }, { name: { contains: filter.q, mode: 'insensitive' } }] } : {}),
      },
      orderBy: { slug: 'asc' },
      take: 200,
    });
    return rows.map(tenantView);
  }

  async get(slug: string): Promise<TenantView> {
    const tenant = await this.prisma.tenant.findUnique({ where: { slug } });
    if (!tenant) throw tenantNotFound(slug);
    return tenantView(tenant);
  }


  /** Changes a tenant; suspending it releases its seats (a suspended tenant gets no embeds). */
  async update(slug: string, patch: UpdateTenantInput, actor: string): Promise<TenantView> {
    const tenant = await this.cache.invalidating([slug], () => this.prisma.$transaction(async (tx) => {
      const existing = await tx.tenant.findUnique({ where: { slug } });
      if (!existing) throw tenantNotFound(slug);
      const updated = await tx.tenant.update({
        where: { slug },
        data: {
          name: patch.name,
          seatCap: patch.seatCap,
          onSeatsExhausted: patch.onSeatsExhausted,
          attributes: patch.attributes as Prisma.InputJsonValue | undefined,
          groups: patch.groups === null ? Prisma.DbNull : patch.groups,
          status: patch.status,
          ssoEmailAlias: patch.ssoEmailAlias,
        },
      });
      let releasedSeats = 0;
      if (existing.status === 'active' && updated.status === 'suspended') {
        releasedSeats = await this.seats.releaseAllOfTenant(tx, updated.id, 'tenant-suspended', actor);
      }
      await this.audit.record(tx, { type: 'tenant.updated', actor, tenantSlug: slug, data: { ...patch, releasedSeats } });
      return releasedSeats > 0 ? tx.tenant.findUniqueOrThrow({ where: { id: updated.id } }) : updated;
    }));
    return tenantView(tenant);
  }

  /** Sets the tier; a downgrade to view releases every seat the tenant holds, in the same transaction. */
  async setTier(slug: string, input: SetTierInput, actor: string): Promise<{ tenant: TenantView; releasedSeats: number }> {
    return this.cache.invalidating([slug], () => this.prisma.$transaction(async (tx) => {
      const existing = await tx.tenant.findUnique({ where: { slug } });
      if (!existing) throw tenantNotFound(slug);
      await tx.tenant.update({ where: { id: existing.id }, data: { tier: input.tier } });
      const releasedSeats =
        input.tier === 'view' ? await this.seats.releaseAllOfTenant(tx, existing.id, 'tier-downgrade', actor) : 0;
      await this.audit.record(tx, {
        type: 'tenant.tier_changed',
        actor,
        tenantSlug: slug,
        data: { from: existing.tier, to: input.tier, reason: input.reason ?? null, releasedSeats },
      });
      const tenant = await tx.tenant.findUniqueOrThrow({ where: { id: existing.id } });
      return { tenant: tenantView(tenant), releasedSeats };
    }));
  }
}
