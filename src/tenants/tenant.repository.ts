import { Injectable } from '@nestjs/common';
import { PrismaService } from '../database/prisma.service.js';
import { clientOf, type Tx } from '../database/transactions.js';
import { Prisma, type Tenant as TenantModel } from '../generated/prisma/client.js';
import type { NewTenant, SeatsExhaustedAction, Tenant, TenantAttributes, TenantKind, TenantPatch, TenantSearch, TenantStatus, Tier } from './tenant.js';

/** A tenants row as the embed path reads it: the SQL names its columns as the domain does. */
const TENANT_COLUMNS = `id, slug, name, kind::text AS kind, tier::text AS tier, customer_id AS "customerId", seat_cap AS "seatCap",
  on_seats_exhausted::text AS "onSeatsExhausted", attributes, groups, status::text AS status, sso_email_alias AS "ssoEmailAlias",
  email_domains AS "emailDomains", seats_held AS "seatsHeld", created_at AS "createdAt", updated_at AS "updatedAt"`;

/** One row of `SELECT ${TENANT_COLUMNS} FROM tenants` (the column names are TENANT_COLUMNS' aliases). */
interface TenantRow {
  id: string;
  slug: string;
  name: string;
  kind: TenantKind;
  tier: Tier;
  customerId: string | null;
  seatCap: number | null;
  onSeatsExhausted: SeatsExhaustedAction;
  /** jsonb, parsed by pg. */
  attributes: unknown;
  /** jsonb or NULL, parsed by pg. */
  groups: unknown;
  status: TenantStatus;
  ssoEmailAlias: string | null;
  /** text[] (NULL only if written outside embedgate). */
  emailDomains: string[] | null;
  seatsHeld: number;
  createdAt: Date;
  updatedAt: Date;
}

/** attributes is written only from validated input ({string: scalar}); an object is one. */
const attributesOf = (json: unknown): TenantAttributes => (json !== null && typeof json === 'object' && !Array.isArray(json) ? (json as TenantAttributes) : {});

/** groups is NULL (the kind's default groups) or a validated list of names. */
const groupsOf = (json: unknown): string[] | null => (Array.isArray(json) ? json.filter((group): group is string => typeof group === 'string') : null);

function fromRow(row: TenantRow): Tenant {
  return {
    id: row.id,
    slug: row.slug,
    name: row.name,
    kind: row.kind,
    tier: row.tier,
    customerId: row.customerId,
    seatCap: row.seatCap,
    onSeatsExhausted: row.onSeatsExhausted,
    attributes: attributesOf(row.attributes),
    groups: groupsOf(row.groups),
    status: row.status,
    ssoEmailAlias: row.ssoEmailAlias,
    emailDomains: row.emailDomains ?? [],
    seatsHeld: row.seatsHeld,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}

function fromModel(model: TenantModel): Tenant {
  return {
    id: model.id,
    slug: model.slug,
    name: model.name,
    kind: model.kind,
    tier: model.tier,
    customerId: model.customerId,
    seatCap: model.seatCap,
    onSeatsExhausted: model.onSeatsExhausted,
    attributes: attributesOf(model.attributes),
    groups: groupsOf(model.groups),
    status: model.status,
    ssoEmailAlias: model.ssoEmailAlias,
    emailDomains: model.emailDomains ?? [],
    seatsHeld: model.seatsHeld,
    createdAt: model.createdAt,
    updatedAt: model.updatedAt,
  };
}

/** The tenants table. */
@Injectable()
export class TenantRepository {
  constructor(private readonly prisma: PrismaService) {}

  /** The embed path's read: one prepared statement straight on the pool (never inside a transaction). */
  async findBySlugForEmbed(slug: string): Promise<Tenant | null> {
    const [row] = await this.prisma.sql<TenantRow>(`SELECT ${TENANT_COLUMNS} FROM tenants WHERE slug = $1`, [slug], 'tenant-by-slug');
    return row ? fromRow(row) : null;
  }

  async findBySlug(slug: string, tx?: Tx): Promise<Tenant | null> {
    const model = await clientOf(this.prisma, tx).tenant.findUnique({ where: { slug } });
    return model ? fromModel(model) : null;
  }

  async findById(id: string, tx?: Tx): Promise<Tenant | null> {
    const model = await clientOf(this.prisma, tx).tenant.findUnique({ where: { id } });
    return model ? fromModel(model) : null;
  }

  /** The ids of those of `slugs` that are tenants (unknown slugs are left out). */
  async findIdsBySlugs(slugs: readonly string[], tx?: Tx): Promise<{ id: string; slug: string }[]> {
    return clientOf(this.prisma, tx).tenant.findMany({ where: { slug: { in: [...slugs] } }, select: { id: true, slug: true } });
  }

  /** Up to `take` tenants in slug order, after the slug `after` when given. */
  async listBySlug(take: number, after?: string): Promise<Tenant[]> {
    const models = await this.prisma.tenant.findMany({
      where: after ? { slug: { gt: after } } : undefined,
      orderBy: { slug: 'asc' },
      take,
    });
    return models.map(fromModel);
  }

  /** Slug (lowercased q) or name (any case) containing q, optionally one kind and tier, in slug order. */
  async search(filter: TenantSearch, take: number): Promise<Tenant[]> {
    const models = await this.prisma.tenant.findMany({
      where: {
        kind: filter.kind,
        tier: filter.tier,
        ...(filter.q ? { OR: [{ slug: { contains: filter.q.toLowerCase() } }, { name: { contains: filter.q, mode: 'insensitive' } }] } : {}),
      },
      orderBy: { slug: 'asc' },
      take,
    });
    return models.map(fromModel);
  }

  /** Inserts a tenant; a taken slug fails with the database's unique violation. */
  async create(tenant: NewTenant, tx?: Tx): Promise<Tenant> {
    const model = await clientOf(this.prisma, tx).tenant.create({
      data: {
        slug: tenant.slug,
        name: tenant.name,
        kind: tenant.kind,
        tier: tenant.tier,
        customerId: tenant.customerId,
        seatCap: tenant.seatCap,
        onSeatsExhausted: tenant.onSeatsExhausted,
        attributes: tenant.attributes as Prisma.InputJsonValue,
        groups: tenant.groups ?? undefined,
        ssoEmailAlias: tenant.ssoEmailAlias,
        emailDomains: tenant.emailDomains,
      },
    });
    return fromModel(model);
  }

  /** Applies a patch (undefined fields unchanged, null groups stored as NULL) and returns the row after it. */
  async update(id: string, patch: TenantPatch, tx?: Tx): Promise<Tenant> {
    const model = await clientOf(this.prisma, tx).tenant.update({
      where: { id },
      data: {
        name: patch.name,
        seatCap: patch.seatCap,
        onSeatsExhausted: patch.onSeatsExhausted,
        attributes: patch.attributes as Prisma.InputJsonValue | undefined,
        groups: patch.groups === null ? Prisma.DbNull : patch.groups,
        status: patch.status,
        ssoEmailAlias: patch.ssoEmailAlias,
        emailDomains: patch.emailDomains,
      },
    });
    return fromModel(model);
  }

  async setTier(id: string, tier: Tier, tx?: Tx): Promise<void> {
    await clientOf(this.prisma, tx).tenant.update({ where: { id }, data: { tier } });
  }
}
