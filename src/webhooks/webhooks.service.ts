import { Inject, Injectable } from '@nestjs/common';
import { AuditService } from '../audit/audit.service.js';
import { ApiError } from '../common/api-error.js';
import { decodeCursor, toPage, type Page } from '../common/pagination.js';
import { CONFIG, type Config } from '../config/config.js';
import { Transactions } from '../database/transactions.js';
import { WebhookDeliveryRepository } from './webhook-delivery.repository.js';
import { newWebhookSecret } from './webhook-signing.js';
import { webhookUrlProblem } from './webhook-targets.js';
import type { CreateWebhookInput, UpdateWebhookInput } from './webhook.dto.js';
import type { Delivery, DeliveryCounts, DeliveryStatus, Webhook } from './webhook.js';
import { WebhookRepository } from './webhook.repository.js';

/** A webhook as the API shows it: never its secret. */
export interface WebhookView {
  id: string;
  url: string;
  description: string | null;
  events: string[];
  enabled: boolean;
  /** While a rotation's overlap lasts: when the previous secret stops signing. */
  previousSecretExpiresAt: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface DeliveryView {
  id: string;
  webhookId: string;
  /** The event's id: the `webhook-id` header of every attempt. */
  eventId: string;
  type: string;
  status: DeliveryStatus;
  attempts: number;
  /** When a pending delivery is next attempted. */
  nextAttemptAt: string | null;
  lastStatus: number | null;
  lastError: string | null;
  deliveredAt: string | null;
  createdAt: string;
  updatedAt: string;
}

const webhookView = (webhook: Webhook, now = new Date()): WebhookView => ({
  id: webhook.id,
  url: webhook.url,
  description: webhook.description,
  events: webhook.events,
  enabled: webhook.enabled,
  previousSecretExpiresAt: webhook.previousSecretExpiresAt && webhook.previousSecretExpiresAt > now ? webhook.previousSecretExpiresAt.toISOString() : null,
  createdAt: webhook.createdAt.toISOString(),
  updatedAt: webhook.updatedAt.toISOString(),
});

const deliveryView = (delivery: Delivery): DeliveryView => ({
  id: delivery.id.toString(),
  webhookId: delivery.webhookId,
  eventId: delivery.eventId,
  type: delivery.type,
  status: delivery.status,
  attempts: delivery.attempts,
  nextAttemptAt: delivery.status === 'pending' ? delivery.nextAttemptAt.toISOString() : null,
  lastStatus: delivery.lastStatus,
  lastError: delivery.lastError,
  deliveredAt: delivery.deliveredAt?.toISOString() ?? null,
  createdAt: delivery.createdAt.toISOString(),
  updatedAt: delivery.updatedAt.toISOString(),
});

/** What the console's webhooks page shows. */
export interface WebhooksOverview {
  webhooks: (WebhookView & { deliveries: DeliveryCounts })[];
  recent: DeliveryView[];
  deadLetters: DeliveryView[];
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const webhookNotFound = () => new ApiError(404, 'webhook_not_found', 'webhook not found');
const deliveryNotFound = () => new ApiError(404, 'delivery_not_found', 'delivery not found');

/**
 * The admin API of webhooks (subscriptions, secrets, deliveries). Every change is audited in its
 * transaction; the secret is in the answer of a creation or a rotation only, and never in the audit
 * log or the logs.
 */
@Injectable()
export class WebhooksService {
  constructor(
    private readonly webhooks: WebhookRepository,
    private readonly deliveries: WebhookDeliveryRepository,
    private readonly transactions: Transactions,
    private readonly audit: AuditService,
    @Inject(CONFIG) private readonly config: Pick<Config, 'webhooks'>,
  ) {}

  async create(input: CreateWebhookInput, actor: string): Promise<WebhookView & { secret: string }> {
    this.checkUrl(input.url);
    const secret = newWebhookSecret();
    const webhook = await this.transactions.run(async (tx) => {
      const created = await this.webhooks.create(input, secret, tx);
      await this.audit.record(tx, { type: 'webhook.created', actor, data: { webhookId: created.id, ...settingsOf(created) } });
      return created;
    });
    return { ...webhookView(webhook), secret };
  }

  async list(limit: number, cursor?: string): Promise<Page<WebhookView>> {
    const after = decodeCursor(cursor, (value) => {
      const [time, id] = value.split('|');
      return UUID.test(id ?? '') && !Number.isNaN(Date.parse(time));
    });
    const [time, id] = after?.split('|') ?? [];
    const rows = await this.webhooks.list({ after: time ? { createdAt: new Date(time), id } : undefined, take: limit + 1 });
    return toPage(
      rows,
      limit,
      (row) => `${row.createdAt.toISOString()}|${row.id}`,
      (row) => webhookView(row),
    );
  }

  async get(id: string): Promise<WebhookView & { deliveries: DeliveryCounts }> {
    const webhook = await this.find(id);
    return { ...webhookView(webhook), deliveries: (await this.deliveries.countsByWebhook([webhook.id])).get(webhook.id)! };
  }

  async update(id: string, patch: UpdateWebhookInput, actor: string): Promise<WebhookView> {
    checkId(id);
    if (patch.url !== undefined) this.checkUrl(patch.url);
    const webhook = await this.transactions.run(async (tx) => {
      const previous = await this.webhooks.findById(id, tx);
      if (!previous) throw webhookNotFound();
      const updated = await this.webhooks.update(id, patch, tx);
      if (!updated) throw webhookNotFound();
      await this.audit.record(tx, { type: 'webhook.updated', actor, data: { webhookId: id, changes: { ...patch }, previous: settingsOf(previous) } });
      return updated;
    });
    return webhookView(webhook);
  }

  /** Deletes the webhook and its deliveries, pending and dead letters included. */
  async remove(id: string, actor: string): Promise<{ id: string; deleted: true }> {
    checkId(id);
    await this.transactions.run(async (tx) => {
      const webhook = await this.webhooks.findById(id, tx);
      if (!webhook || !(await this.webhooks.delete(id, tx))) throw webhookNotFound();
      const deliveries = await this.deliveries.deleteOfWebhook(id, tx);
      await this.audit.record(tx, { type: 'webhook.deleted', actor, data: { webhookId: id, ...settingsOf(webhook), deliveriesDeleted: deliveries } });
    });
    return { id, deleted: true };
  }

  /**
   * A new secret, shown once. The one it replaces keeps signing for `overlapSeconds` (each delivery
   * then carries both signatures), so the receiver can switch without losing a delivery.
   */
  async rotateSecret(id: string, overlapSeconds: number, actor: string): Promise<{ id: string; secret: string; previousSecretExpiresAt: string | null }> {
    checkId(id);
    const secret = newWebhookSecret();
    const previousExpiresAt = overlapSeconds > 0 ? new Date(Date.now() + overlapSeconds * 1000) : null;
    await this.transactions.run(async (tx) => {
      if (!(await this.webhooks.rotateSecret(id, secret, previousExpiresAt, tx))) throw webhookNotFound();
      await this.audit.record(tx, {
        type: 'webhook.secret_rotated',
        actor,
        data: { webhookId: id, overlapSeconds, previousSecretExpiresAt: previousExpiresAt?.toISOString() ?? null },
      });
    });
    return { id, secret, previousSecretExpiresAt: previousExpiresAt?.toISOString() ?? null };
  }

  /** A webhook's deliveries, newest first, of one status when given. */
  async listDeliveries(id: string, filter: { status?: DeliveryStatus; limit: number; cursor?: string }): Promise<Page<DeliveryView>> {
    const before = decodeCursor(filter.cursor, (value) => /^\d{1,18}$/.test(value));
    const webhook = await this.find(id);
    const rows = await this.deliveries.list(webhook.id, { status: filter.status, beforeId: before ? BigInt(before) : undefined, take: filter.limit + 1 });
    return toPage(rows, filter.limit, (row) => row.id.toString(), deliveryView);
  }

  /** Sends a dead letter again: due at once, attempts from zero, the same event (the same webhook-id). 409 unless it is failed. */
  async retryDelivery(id: string, deliveryId: string, actor: string): Promise<DeliveryView> {
    checkId(id);
    if (!/^\d{1,18}$/.test(deliveryId)) throw deliveryNotFound();
    const key = BigInt(deliveryId);
    const delivery = await this.transactions.run(async (tx) => {
      if (!(await this.webhooks.findById(id, tx))) throw webhookNotFound();
      const before = await this.deliveries.find(id, key, tx);
      if (!before) throw deliveryNotFound();
      if (!(await this.deliveries.retry(id, key, tx))) {
        throw new ApiError(409, 'delivery_not_failed', `delivery ${deliveryId} is ${before.status}: only a failed delivery (a dead letter) can be retried`);
      }
      await this.audit.record(tx, {
        type: 'webhook.delivery_retried',
        actor,
        data: { webhookId: id, deliveryId, eventId: before.eventId, type: before.type, attempts: before.attempts, lastError: before.lastError },
      });
      return (await this.deliveries.find(id, key, tx))!;
    });
    return deliveryView(delivery);
  }

  /** The console's page: every webhook with its counts, the latest deliveries, the latest dead letters. */
  async overview(limit = 50): Promise<WebhooksOverview> {
    const webhooks = await this.webhooks.list({ take: 200 });
    const [counts, recent, deadLetters] = await Promise.all([
      this.deliveries.countsByWebhook(webhooks.map((webhook) => webhook.id)),
      this.deliveries.latest({ take: limit }),
      this.deliveries.latest({ status: 'failed', take: limit }),
    ]);
    return {
      webhooks: webhooks.map((webhook) => ({ ...webhookView(webhook), deliveries: counts.get(webhook.id)! })),
      recent: recent.map(deliveryView),
      deadLetters: deadLetters.map(deliveryView),
    };
  }

  private async find(id: string): Promise<Webhook> {
    const webhook = await this.webhooks.findById(checkId(id));
    if (!webhook) throw webhookNotFound();
    return webhook;
  }

  /** 400 naming `url` when the configuration does not allow its target (https, no private network: webhook-targets.ts). */
  private checkUrl(url: string): void {
    const problem = webhookUrlProblem(url, this.config.webhooks);
    if (problem) throw new ApiError(400, 'validation_error', `url: ${problem}`);
  }
}

/** What the audit log records of a webhook: its settings, never its secret. */
const settingsOf = (webhook: Webhook) => ({ url: webhook.url, events: webhook.events, description: webhook.description, enabled: webhook.enabled });

function checkId(id: string): string {
  if (!UUID.test(id)) throw webhookNotFound();
  return id;
}
