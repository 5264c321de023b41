import { randomBytes } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { Caches } from '../cache/caches.service.js';
import type { EpochCache } from '../cache/epoch-cache.js';
import { z } from 'zod';
import { text } from '../common/text.js';
import { AuditService } from '../audit/audit.service.js';
import { ApiKeysService } from '../auth/api-keys.service.js';
import type { Principal } from '../auth/principal.js';
import { ApiError } from '../common/api-error.js';
import { Transactions } from '../database/transactions.js';
import { slugSchema } from '../tenants/tenant.dto.js';
import { TenantsService } from '../tenants/tenants.service.js';
import type { App } from './app.js';
import { AppRepository } from './app.repository.js';

export const createAppSchema = z.strictObject({
  name: text({ max: 200, min: 1, trim: true }),
  tenants: z.union([z.literal('*'), z.array(slugSchema).min(1, 'list at least one tenant, or "*" for all').max(10_000)], {
    error: 'tenants is a list of tenant slugs, or "*" for all tenants',
  }),
});
export type CreateAppInput = z.output<typeof createAppSchema>;

@Injectable()
export class AppsService {
  /** Whether an app may act for a tenant, per (app, tenant). */
  private readonly scope: EpochCache<string, boolean>;
  /** Apps by id (for the principal a viewer acts through). */
  private readonly byId: EpochCache<string, App | null>;

  constructor(
    private readonly apps: AppRepository,
    private readonly transactions: Transactions,
    private readonly tenants: TenantsService,
    private readonly keys: ApiKeysService,
    private readonly audit: AuditService,
    caches: Caches,
  ) {
    this.scope = caches.create('app-scopes');
    this.byId = caches.create('apps-by-id');
  }

  /** Creates a host app scoped to some tenants (or all) and its first API key, shown once. */
  async create(input: CreateAppInput, actor: string) {
    const slugs = input.tenants === '*' ? [] : [...new Set(input.tenants)];
    return this.transactions.run(async (tx) => {
      const tenants = slugs.length ? await this.tenants.findIdsBySlugs(slugs, tx) : [];
      const missing = slugs.filter((slug) => !tenants.some((t) => t.slug === slug));
      if (missing.length) throw new ApiError(400, 'unknown_tenants', `no such tenants: ${missing.join(', ')}`);
      const id = `app_${randomBytes(12).toString('hex')}`;
      await this.apps.create({ id, name: input.name, allTenants: input.tenants === '*', tenantIds: tenants.map((t) => t.id) }, tx);
      const key = await this.keys.create({ role: 'app', name: input.name, appId: id }, tx);
      await this.audit.record(tx, { type: 'app.created', actor, data: { id, name: input.name, tenants: input.tenants, keyId: key.id } });
      return { id, name: input.name, tenants: input.tenants === '*' ? '*' : slugs, keyId: key.id, apiKey: key.apiKey };
    });
  }

  /** An app by id (cached), or null when there is none (deleted apps' viewers then act for nobody). */
  async find(appId: string): Promise<App | null> {
    return this.byId.getOrLoad(appId, () => this.apps.findById(appId));
  }

  /** Whether the calling app may act for the tenant. Non-app principals act for no tenant here. */
  async mayActFor(principal: Principal, tenantId: string): Promise<boolean> {
    if (principal.role !== 'app' || !principal.appId) return principal.role === 'admin';
    if (principal.allTenants) return true;
    const appId = principal.appId;
    return this.scope.getOrLoad(`${appId}:${tenantId}`, () => this.apps.isScopedTo(appId, tenantId));
  }
}
