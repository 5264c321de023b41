import { Injectable } from '@nestjs/common';
import { Caches } from '../cache/caches.service.js';
import type { EpochCache } from '../cache/epoch-cache.js';
import { z } from 'zod';
import { patternText } from '../common/text.js';
import { AuditService } from '../audit/audit.service.js';
import { ApiError } from '../common/api-error.js';
import { decodeCursor, toPage, type Page } from '../common/pagination.js';
import { isUniqueViolation } from '../database/database-errors.js';
import { Transactions } from '../database/transactions.js';
import type { Resource, ResourceType } from './resource.js';
import { ResourceRepository } from './resource.repository.js';

export const RESOURCE_KEY_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

export const createResourceSchema = z
  .strictObject({
    key: patternText(100, RESOURCE_KEY_PATTERN, 'key is 1-100 letters, digits, ., _ or -, starting with a letter or digit'),
    type: z.enum(['dashboard', 'question']),
    metabaseId: z
      .union(
        [
          z.number().int().positive().safe(),
          patternText(21, /^[1-9]\d{0,15}$|^[A-Za-z0-9_-]{21}$/, 'metabaseId is a positive integer or a 21-character entity id'),
        ],
        { error: 'metabaseId is a positive integer or a 21-character entity id' },
      )
      .transform(String),
    tenantParam: patternText(100, /^[A-Za-z0-9_.-]{1,100}$/, 'tenantParam is the slug of a Metabase parameter (letters, digits, _, ., -)').optional(),
    guest: z.boolean().default(true),
  })
  .superRefine((resource, ctx) => {
    if (resource.guest && !resource.tenantParam) {
      ctx.addIssue({
        code: 'custom',
        path: ['tenantParam'],
        message: 'a guest-embeddable resource needs tenantParam: the locked Metabase parameter that carries the customerId',
      });
    }
  });
export type CreateResourceInput = z.output<typeof createResourceSchema>;

export interface ResourceView {
  key: string;
  type: Resource['type'];
  metabaseId: string;
  tenantParam: string | null;
  guest: boolean;
  createdAt: string;
}

const resourceView = (r: Resource): ResourceView => ({
  key: r.key,
  type: r.type,
  metabaseId: r.metabaseId,
  tenantParam: r.tenantParam,
  guest: r.guest,
  createdAt: r.createdAt.toISOString(),
});

@Injectable()
export class ResourcesService {
  private readonly cache: EpochCache<string, Resource | null>;
  /** The rows registering one Metabase item (`type:metabaseId`), for the SDK's guest provider. */
  private readonly byItem: EpochCache<string, Resource[]>;

  constructor(
    private readonly resources: ResourceRepository,
    private readonly transactions: Transactions,
    private readonly audit: AuditService,
    caches: Caches,
  ) {
    this.cache = caches.create('resources');
    this.byItem = caches.create('resources-by-item');
  }

  async create(input: CreateResourceInput, actor: string): Promise<ResourceView> {
    try {
      // A new key may register an item already registered: every item lookup is forgotten too.
      const resource = await this.byItem.invalidating('all', () =>
        this.cache.invalidating([input.key], () =>
          this.transactions.run(async (tx) => {
            const created = await this.resources.create(
              { key: input.key, type: input.type, metabaseId: input.metabaseId, tenantParam: input.tenantParam ?? null, guest: input.guest },
              tx,
            );
            await this.audit.record(tx, { type: 'resource.created', actor, data: { ...input } });
            return created;
          }),
        ),
      );
      return resourceView(resource);
    } catch (error) {
      if (isUniqueViolation(error)) throw new ApiError(409, 'resource_exists', `a resource with key '${input.key}' already exists`);
      throw error;
    }
  }

  async list(limit: number, cursor?: string): Promise<Page<ResourceView>> {
    const rows = await this.resources.listByKey(limit + 1, decodeCursor(cursor));
    return toPage(rows, limit, (row) => row.key, resourceView);
  }

  /**
   * The resource embed.js's guest provider names by Metabase id (numeric or entity id, as registered).
   * Several keys may register one item: those that are guest-embeddable must agree on the tenant
   * parameter, or the item is ambiguous (fail closed: which filter would be locked is unknown).
   * Cached like findCached: it is on the guest provider's path.
   */
  async findForMetabaseItem(type: ResourceType, metabaseId: string): Promise<Resource | null> {
    const rows = await this.byItem.getOrLoad(`${type}:${metabaseId}`, () => this.resources.findByMetabaseItem(type, metabaseId));
    const guest = rows.filter((row) => row.guest && row.tenantParam);
    if (new Set(guest.map((row) => row.tenantParam)).size > 1) {
      throw new ApiError(409, 'resource_ambiguous', `${type} ${metabaseId} is registered under several keys with different tenant parameters`);
    }
    return guest[0] ?? rows[0] ?? null;
  }

  /** A resource by key for the embed path (cached). */
  async findCached(key: string): Promise<Resource | null> {
    if (!RESOURCE_KEY_PATTERN.test(key)) return null;
    return this.cache.getOrLoad(key, () => this.resources.findByKeyForEmbed(key));
  }
}
