import { Injectable } from '@nestjs/common';
import { PrismaService } from '../database/prisma.service.js';
import { clientOf, type Tx } from '../database/transactions.js';
import type { WebhookDelivery as DeliveryModel } from '../generated/prisma/client.js';
import type { ClaimedDelivery, Delivery, DeliveryCounts, DeliveryOutcome, DeliveryStatus } from './webhook.js';

const toDelivery = (model: DeliveryModel & { event: { type: string } }): Delivery => ({
  id: model.id,
  webhookId: model.webhookId,
  eventId: model.eventId,
  type: model.event.type,
  status: model.status,
  attempts: model.attempts,
  nextAttemptAt: model.nextAttemptAt,
  lastStatus: model.lastStatus,
  lastError: model.lastError,
  deliveredAt: model.deliveredAt,
  createdAt: model.createdAt,
  updatedAt: model.updatedAt,
});

type ClaimRow = {
  id: bigint;
  attempts: number;
  event_id: string;
  type: string;
  data: unknown;
  at: Date;
  url: string;
  secret: string;
  previous_secret: string | null;
};
const toClaim = (row: ClaimRow): ClaimedDelivery => ({
  id: row.id,
  attempts: row.attempts,
  eventId: row.event_id,
  type: row.type,
  data: row.data,
  at: row.at,
  url: row.url,
  secrets: row.previous_secret ? [row.secret, row.previous_secret] : [row.secret],
});

const withType = { event: { select: { type: true } } } as const;

/**
 * webhook_deliveries (and the webhook_events they deliver): the durable outbox. The database triggers
 * queue deliveries; workers claim due ones with FOR UPDATE SKIP LOCKED, lease them, and record each
 * attempt only if the claim is still theirs.
 */
@Injectable()
export class WebhookDeliveryRepository {
  constructor(private readonly prisma: PrismaService) {}

  /** A webhook's deliveries, newest first, before an id cursor, of one status when given. */
  async list(webhookId: string, options: { status?: DeliveryStatus; beforeId?: bigint; take: number }): Promise<Delivery[]> {
    const models = await this.prisma.webhookDelivery.findMany({
      where: { webhookId, status: options.status, id: options.beforeId === undefined ? undefined : { lt: options.beforeId } },
      orderBy: { id: 'desc' },
      take: options.take,
      include: withType,
    });
    return models.map(toDelivery);
  }

  /** The latest deliveries of every webhook, of one status when given (the console). */
  async latest(options: { status?: DeliveryStatus; take: number }): Promise<Delivery[]> {
    const models = await this.prisma.webhookDelivery.findMany({
      where: { status: options.status },
      orderBy: { id: 'desc' },
      take: options.take,
      include: withType,
    });
    return models.map(toDelivery);
  }

  async find(webhookId: string, id: bigint, tx?: Tx): Promise<Delivery | null> {
    const model = await clientOf(this.prisma, tx).webhookDelivery.findFirst({ where: { id, webhookId }, include: withType });
    return model ? toDelivery(model) : null;
  }

  /** Counts by webhook, for a list of webhooks. */
  async countsByWebhook(webhookIds: string[]): Promise<Map<string, DeliveryCounts>> {
    const rows = await this.prisma.webhookDelivery.groupBy({ by: ['webhookId', 'status'], _count: true, where: { webhookId: { in: webhookIds } } });
    const counts = new Map(webhookIds.map((id) => [id, { pending: 0, delivered: 0, failed: 0 }]));
    for (const row of rows) counts.get(row.webhookId)![row.status] = row._count;
    return counts;
  }

  /** A dead letter due again at once, its attempts from zero (same event: same webhook-id); false unless it was failed. */
  async retry(webhookId: string, id: bigint, tx?: Tx): Promise<boolean> {
    const { count } = await clientOf(this.prisma, tx).webhookDelivery.updateMany({
      where: { id, webhookId, status: 'failed' },
      data: { status: 'pending', attempts: 0, nextAttemptAt: new Date() },
    });
    return count === 1;
  }

  /** Deletes a webhook's deliveries (with the webhook). */
  async deleteOfWebhook(webhookId: string, tx?: Tx): Promise<number> {
    const { count } = await clientOf(this.prisma, tx).webhookDelivery.deleteMany({ where: { webhookId } });
    return count;
  }

  /**
   * Claims up to `limit` due deliveries of enabled webhooks, leased for `leaseSeconds` (next_attempt_at
   * moves to the lease's end, so a worker that dies leaves them due again), each claim counting one
   * attempt; with what sending needs: the event, the URL, and the secrets that sign (the previous one
   * while its overlap lasts).
   */
  async claimDue(limit: number, leaseSeconds: number): Promise<ClaimedDelivery[]> {
    const rows = await this.prisma.$queryRaw<ClaimRow[]>`
      WITH claimed AS (
        UPDATE webhook_deliveries d
           SET attempts = d.attempts + 1, next_attempt_at = now() + make_interval(secs => ${leaseSeconds}), updated_at = now()
         WHERE d.id IN (
           SELECT c.id FROM webhook_deliveries c JOIN webhooks w ON w.id = c.webhook_id
            WHERE c.status = 'pending' AND c.next_attempt_at <= now() AND w.enabled
            ORDER BY c.next_attempt_at, c.id LIMIT ${limit} FOR UPDATE OF c SKIP LOCKED)
        RETURNING d.id, d.attempts, d.webhook_id, d.event_id)
      SELECT claimed.id, claimed.attempts, e.id AS event_id, e.type, e.data, e.at, w.url, w.secret,
             CASE WHEN w.previous_secret_expires_at > now() THEN w.previous_secret END AS previous_secret
        FROM claimed JOIN webhooks w ON w.id = claimed.webhook_id JOIN webhook_events e ON e.id = claimed.event_id
       ORDER BY claimed.id`;
    return rows.map(toClaim);
  }

  /** Records an attempt's outcome if the delivery is still this claim (pending, same attempts); false when not. */
  async finish(claim: { id: bigint; attempts: number }, outcome: DeliveryOutcome): Promise<boolean> {
    const data =
      outcome.status === 'delivered'
        ? { status: 'delivered' as const, deliveredAt: new Date(), lastStatus: outcome.httpStatus, lastError: null }
        : outcome.status === 'pending'
          ? { lastStatus: outcome.httpStatus, lastError: outcome.error, nextAttemptAt: outcome.nextAttemptAt }
          : { status: 'failed' as const, lastStatus: outcome.httpStatus, lastError: outcome.error };
    const { count } = await this.prisma.webhookDelivery.updateMany({ where: { id: claim.id, status: 'pending', attempts: claim.attempts }, data });
    return count === 1;
  }

  /** Gives a claim back undone (the instance is stopping): due at once, its attempt not counted. */
  async release(claim: { id: bigint; attempts: number }): Promise<void> {
    await this.prisma.webhookDelivery.updateMany({
      where: { id: claim.id, status: 'pending', attempts: claim.attempts },
      data: { attempts: claim.attempts - 1, nextAttemptAt: new Date() },
    });
  }
}
