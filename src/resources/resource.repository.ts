import { Injectable } from '@nestjs/common';
import { PrismaService } from '../database/prisma.service.js';
import { clientOf, type Tx } from '../database/transactions.js';
import type { Resource as ResourceModel } from '../generated/prisma/client.js';
import type { NewResource, Resource, ResourceType } from './resource.js';

/** One row of the embed path's read (the SQL names its columns as the domain does). */
interface ResourceRow {
  id: string;
  key: string;
  type: ResourceType;
  metabaseId: string;
  tenantParam: string | null;
  guest: boolean;
  createdAt: Date;
}

const fromRow = (row: ResourceRow): Resource => ({
  id: row.id,
  key: row.key,
  type: row.type,
  metabaseId: row.metabaseId,
  tenantParam: row.tenantParam,
  guest: row.guest,
  createdAt: row.createdAt,
});

const fromModel = (model: ResourceModel): Resource => ({
  id: model.id,
  key: model.key,
  type: model.type,
  metabaseId: model.metabaseId,
  tenantParam: model.tenantParam,
  guest: model.guest,
  createdAt: model.createdAt,
});

/** The resources table. */
@Injectable()
export class ResourceRepository {
  constructor(private readonly prisma: PrismaService) {}

  /** The embed path's read: one prepared statement straight on the pool. */
  async findByKeyForEmbed(key: string): Promise<Resource | null> {
    const [row] = await this.prisma.sql<ResourceRow>(
      `SELECT id, key, type::text AS type, metabase_id AS "metabaseId", tenant_param AS "tenantParam", guest, created_at AS "createdAt"
             FROM resources WHERE key = $1`,
      [key],
      'resource-by-key',
    );
    return row ? fromRow(row) : null;
  }

  /** The resources registered for one Metabase item (by the id they were registered with), in key order. */
  async findByMetabaseItem(type: ResourceType, metabaseId: string): Promise<Resource[]> {
    const models = await this.prisma.resource.findMany({ where: { type, metabaseId }, orderBy: { key: 'asc' } });
    return models.map(fromModel);
  }

  /** Inserts a resource; a taken key fails with the database's unique violation. */
  async create(resource: NewResource, tx?: Tx): Promise<Resource> {
    const model = await clientOf(this.prisma, tx).resource.create({
      data: { key: resource.key, type: resource.type, metabaseId: resource.metabaseId, tenantParam: resource.tenantParam, guest: resource.guest },
    });
    return fromModel(model);
  }

  /** Up to `take` resources in key order, after the key `after` when given. */
  async listByKey(take: number, after?: string): Promise<Resource[]> {
    const models = await this.prisma.resource.findMany({
      where: after ? { key: { gt: after } } : undefined,
      orderBy: { key: 'asc' },
      take,
    });
    return models.map(fromModel);
  }
}
