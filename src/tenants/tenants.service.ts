import { Inject, Injectable } from '@nestjs/common';
import { Caches } from '../cache/caches.service.js';
import type { EpochCache } from '../cache/epoch-cache.js';
import { ApiError } from '../common/api-error.js';
import { decodeCursor, toPage, type Page } from '../common/pagination.js';
import { AuditService } from '../audit/audit.service.js';
import { isAdminGroup } from '../config/config.schema.js';
import { CONFIG, type Config } from '../config/config.js';
import { isUniqueViolation } from '../database/database-errors.js';
import { Transactions, type Tx } from '../database/transactions.js';
import { SeatLedger } from '../seats/seat-ledger.service.js';
import type { CreateTenantInput, SetTierInput, UpdateTenantInput } from './tenant.dto.js';
import type { Tenant, TenantAttributes, TenantSearch } from './tenant.js';
import { TenantRepository } from './tenant.repository.js';

export interface TenantView {
  slug: string;
  name: string;
  kind: Tenant['kind'];
  tier: Tenant['tier'];
  customerId: string | null;
  seatCap: number | null;
  onSeatsExhausted: Tenant['onSeatsExhausted'];
  attributes: TenantAttributes;
  /** null: the default groups of the tenant's kind. */
  groups: string[] | null;
  status: Tenant['status'];
  /** null, or how this tenant's SSO emails are made unique to it ("plus-tenant"). */
  ssoEmailAlias: string | null;
  /** The email domains whose users may get an SSO login; empty: nobody. */
  emailDomains: string[];
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
    attributes: tenant.attributes,
    groups: tenant.groups,
    status: tenant.status,
    ssoEmailAlias: tenant.ssoEmailAlias,
    emailDomains: tenant.emailDomains,
    seatsHeld: tenant.seatsHeld,
    createdAt: tenant.createdAt.toISOString(),
    updatedAt: tenant.updatedAt.toISOString(),
  };
}

const tenantNotFound = (slug: string) => new ApiError(404, 'tenant_not_found', `tenant '${slug}' not found`);

/** A tenant that can get SSO must say whose emails may sign in (fail closed). */
const domainsRequired = () =>
  new ApiError(400, 'validation_error', 'emailDomains: required (not empty) for a tenant that can get SSO (internal, or the drill tier)');

@Injectable()
export class TenantsService {
  /** Tenants by slug for the embed path (see Caches for the bound); this instance's writes invalidate at once. */
  private readonly cache: EpochCache<string, Tenant | null>;

  constructor(
    private readonly tenants: TenantRepository,
    private readonly transactions: Transactions,
    private readonly audit: AuditService,
    private readonly seats: SeatLedger,
    caches: Caches,
    @Inject(CONFIG) private readonly config: Config,
  ) {
    this.cache = caches.create('tenants');
  }

  /** The tenant as the embed path sees it (cached; seat counts in it may be stale: the ledger re-checks). */
  findCached(slug: string, options: { fresh?: boolean } = {}): Promise<Tenant | null> {
    const load = () => this.tenants.findBySlugForEmbed(slug);
    return options.fresh ? this.cache.getFresh(slug, load) : this.cache.getOrLoad(slug, load);
  }

  /** A tenant by id (uncached), in the caller's transaction when given one. */
  findById(id: string, tx?: Tx): Promise<Tenant | null> {
    return this.tenants.findById(id, tx);
  }

  /** The ids of those of `slugs` that are tenants, in the caller's transaction when given one. */
  findIdsBySlugs(slugs: readonly string[], tx?: Tx): Promise<{ id: string; slug: string }[]> {
    return this.tenants.findIdsBySlugs(slugs, tx);
  }

  async create(input: CreateTenantInput, actor: string): Promise<TenantView> {
    this.refuseAdminGroups(input.groups);
    try {
      const tenant = await this.cache.invalidating([input.slug], () =>
        this.transactions.run(async (tx) => {
          const created = await this.tenants.create(
            {
              slug: input.slug,
              name: input.name,
              kind: input.kind,
              tier: input.tier ?? (input.kind === 'internal' ? 'drill' : 'view'),
              customerId: input.customerId ?? null,
              seatCap: input.seatCap ?? null,
              onSeatsExhausted: input.onSeatsExhausted ?? 'guest',
              attributes: input.attributes ?? {},
              groups: input.groups,
              ssoEmailAlias: input.ssoEmailAlias ?? null,
              emailDomains: input.emailDomains ?? [],
            },
            tx,
          );
          await this.audit.record(tx, { type: 'tenant.created', actor, tenantSlug: created.slug, data: { ...input } });
          return created;
        }),
      );
      return tenantView(tenant);
    } catch (error) {
      if (isUniqueViolation(error)) throw new ApiError(409, 'tenant_exists', `a tenant with slug '${input.slug}' already exists`);
      throw error;
    }
  }

  async list(limit: number, cursor?: string): Promise<Page<TenantView>> {
    const rows = await this.tenants.listBySlug(limit + 1, decodeCursor(cursor));
    return toPage(rows, limit, (row) => row.slug, tenantView);
  }

  /** For the console: slug or name containing q, optionally one kind and tier; at most 200. */
  async search(filter: TenantSearch): Promise<TenantView[]> {
    return (await this.tenants.search(filter, 200)).map(tenantView);
  }

  async get(slug: string): Promise<TenantView> {
    const tenant = await this.tenants.findBySlug(slug);
    if (!tenant) throw tenantNotFound(slug);
    return tenantView(tenant);
  }

  /** Changes a tenant; suspending it releases its seats (a suspended tenant gets no embeds). */
  async update(slug: string, patch: UpdateTenantInput, actor: string): Promise<TenantView> {
    this.refuseAdminGroups(patch.groups);
    const tenant = await this.cache.invalidating([slug], () =>
      this.transactions.run(async (tx) => {
        const existing = await this.tenants.findBySlug(slug, tx);
        if (!existing) throw tenantNotFound(slug);
        if (patch.emailDomains?.length === 0 && canGetSso(existing)) throw domainsRequired();
        const updated = await this.tenants.update(existing.id, patch, tx);
        let releasedSeats = 0;
        if (existing.status === 'active' && updated.status === 'suspended') {
          releasedSeats = await this.seats.releaseAllOfTenant(tx, updated.id, 'tenant-suspended', actor);
        }
        await this.audit.record(tx, { type: 'tenant.updated', actor, tenantSlug: slug, data: { ...patch, releasedSeats } });
        return releasedSeats > 0 ? this.reread(existing.id, slug, tx) : updated;
      }),
    );
    return tenantView(tenant);
  }

  /** Sets the tier; a downgrade to view releases every seat the tenant holds, in the same transaction. */
  async setTier(slug: string, input: SetTierInput, actor: string): Promise<{ tenant: TenantView; releasedSeats: number }> {
    return this.cache.invalidating([slug], () =>
      this.transactions.run(async (tx) => {
        const existing = await this.tenants.findBySlug(slug, tx);
        if (!existing) throw tenantNotFound(slug);
        if (input.tier === 'drill' && existing.emailDomains.length === 0) throw domainsRequired();
        await this.tenants.setTier(existing.id, input.tier, tx);
        const releasedSeats = input.tier === 'view' ? await this.seats.releaseAllOfTenant(tx, existing.id, 'tier-downgrade', actor) : 0;
        await this.audit.record(tx, {
          type: 'tenant.tier_changed',
          actor,
          tenantSlug: slug,
          data: { from: existing.tier, to: input.tier, reason: input.reason ?? null, releasedSeats },
        });
        const tenant = await this.reread(existing.id, slug, tx);
        return { tenant: tenantView(tenant), releasedSeats };
      }),
    );
  }

  /** 400 when a group is an administrator group: group sync would make the tenant's users Metabase superusers. */
  private refuseAdminGroups(groups: string[] | null | undefined): void {
    const admin = groups?.find((group) => isAdminGroup(group, this.config.groups.admin));
    if (admin !== undefined) throw new ApiError(400, 'validation_error', `groups: '${admin}' is an administrator group; a tenant’s users may never join one`);
  }

  /** The tenant as the transaction now sees it (after the seat ledger moved its counters). */
  private async reread(id: string, slug: string, tx: Tx): Promise<Tenant> {
    const tenant = await this.tenants.findById(id, tx);
    if (!tenant) throw tenantNotFound(slug);
    return tenant;
  }
}

/** Whether the tenant can get SSO as it is or by a tier change alone (internal tenants, drill tiers). */
const canGetSso = (tenant: Tenant) => tenant.kind === 'internal' || tenant.tier === 'drill';
