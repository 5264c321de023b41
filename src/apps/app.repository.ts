import { Injectable } from '@nestjs/common';
import { PrismaService } from '../database/prisma.service.js';
import { clientOf, type Tx } from '../database/transactions.js';
import type { App as AppModel } from '../generated/prisma/client.js';
import type { App, NewApp } from './app.js';

/** A row of `SELECT 1 ...`: only whether there is one matters. */
interface AppScopeRow {
  '?column?': number;
}

const fromModel = (model: AppModel): App => ({ id: model.id, name: model.name, allTenants: model.allTenants, createdAt: model.createdAt });

/** The apps table and the tenants each app is scoped to (app_tenants). */
@Injectable()
export class AppRepository {
  constructor(private readonly prisma: PrismaService) {}

  /** Inserts an app with its tenant scope, in one statement. */
  async create(app: NewApp, tx?: Tx): Promise<App> {
    const model = await clientOf(this.prisma, tx).app.create({
      data: { id: app.id, name: app.name, allTenants: app.allTenants, tenants: { create: app.tenantIds.map((tenantId) => ({ tenantId })) } },
    });
    return fromModel(model);
  }

  /** An app by id, or null. */
  async findById(appId: string): Promise<App | null> {
    const model = await this.prisma.app.findUnique({ where: { id: appId } });
    return model ? fromModel(model) : null;
  }

  /** Whether app_tenants scopes the app to the tenant (an all-tenants app has no rows there): the embed path's read, on the pool. */
  async isScopedTo(appId: string, tenantId: string): Promise<boolean> {
    const rows = await this.prisma.sql<AppScopeRow>('SELECT 1 FROM app_tenants WHERE app_id = $1 AND tenant_id = $2::uuid', [appId, tenantId], 'app-scope');
    return rows.length > 0;
  }
}
