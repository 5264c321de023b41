import { Injectable } from '@nestjs/common';
import { PrismaService } from '../database/prisma.service.js';
import { clientOf, type Tx } from '../database/transactions.js';
import type { Webhook as WebhookModel } from '../generated/prisma/client.js';
import { WEBHOOK_EVENT_TYPES, type Webhook, type WebhookEventType, type WebhookSettings } from './webhook.js';

const isEventType = (value: string): value is WebhookEventType => (WEBHOOK_EVENT_TYPES as readonly string[]).includes(value);

function fromModel(model: WebhookModel): Webhook {
  return {
    id: model.id,
    url: model.url,
    description: model.description,
    // Written only from validated input; a type no longer known is dropped.
    events: model.events.filter(isEventType),
    enabled: model.enabled,
    secret: model.secret,
    previousSecret: model.previousSecret,
    previousSecretExpiresAt: model.previousSecretExpiresAt,
    createdAt: model.createdAt,
    updatedAt: model.updatedAt,
  };
}

/** webhooks: the subscriptions and their signing secrets. */
@Injectable()
export class WebhookRepository {
  constructor(private readonly prisma: PrismaService) {}

  async create(settings: WebhookSettings, secret: string, tx?: Tx): Promise<Webhook> {
    return fromModel(await clientOf(this.prisma, tx).webhook.create({ data: { ...settings, secret } }));
  }

  async findById(id: string, tx?: Tx): Promise<Webhook | null> {
    const model = await clientOf(this.prisma, tx).webhook.findUnique({ where: { id } });
    return model ? fromModel(model) : null;
  }

  /** Oldest first, after a (createdAt, id) cursor. */
  async list(options: { after?: { createdAt: Date; id: string }; take: number }): Promise<Webhook[]> {
    const after = options.after;
    const models = await this.prisma.webhook.findMany({
      where: after ? { OR: [{ createdAt: { gt: after.createdAt } }, { createdAt: after.createdAt, id: { gt: after.id } }] } : undefined,
      orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
      take: options.take,
    });
    return models.map(fromModel);
  }

  /** Changes the settings given; null when there is no such webhook. */
  async update(id: string, patch: Partial<WebhookSettings>, tx?: Tx): Promise<Webhook | null> {
    const { count } = await clientOf(this.prisma, tx).webhook.updateMany({ where: { id }, data: patch });
    return count === 1 ? this.findById(id, tx) : null;
  }

  /**
   * Replaces the secret in one statement; the one it replaces keeps signing until `previousExpiresAt`
   * (null: it stops at once). False when there is no such webhook.
   */
  async rotateSecret(id: string, secret: string, previousExpiresAt: Date | null, tx?: Tx): Promise<boolean> {
    const db = clientOf(this.prisma, tx);
    const count = await db.$executeRaw`
      UPDATE webhooks SET previous_secret = CASE WHEN ${previousExpiresAt}::timestamptz IS NULL THEN NULL ELSE secret END,
                          previous_secret_expires_at = ${previousExpiresAt}::timestamptz, secret = ${secret}, updated_at = now()
       WHERE id = ${id}::uuid`;
    return count === 1;
  }

  /** Deletes the webhook; whether there was one. */
  async delete(id: string, tx?: Tx): Promise<boolean> {
    const { count } = await clientOf(this.prisma, tx).webhook.deleteMany({ where: { id } });
    return count === 1;
  }
}
