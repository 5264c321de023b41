/** The event types a webhook may subscribe to; the database triggers of migration 20261201110000_webhooks queue them. */
export const WEBHOOK_EVENT_TYPES = ['seat.allocated', 'seat.released', 'tenant.tier_changed', 'budget.threshold_crossed'] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

export const DELIVERY_STATUSES = ['pending', 'delivered', 'failed'] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

/** A webhook subscription as stored, its secrets included (never shown after creation or rotation). */
export interface Webhook {
  id: string;
  url: string;
  description: string | null;
  events: WebhookEventType[];
  enabled: boolean;
  secret: string;
  previousSecret: string | null;
  previousSecretExpiresAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

/** What the admin API may set on a webhook. */
export interface WebhookSettings {
  url: string;
  description: string | null;
  events: WebhookEventType[];
  enabled: boolean;
}

/** One event for one webhook, with its attempts so far. */
export interface Delivery {
  id: bigint;
  webhookId: string;
  eventId: string;
  type: string;
  status: DeliveryStatus;
  attempts: number;
  nextAttemptAt: Date;
  lastStatus: number | null;
  lastError: string | null;
  deliveredAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

/** A delivery as a worker claimed it, with what it needs to send it. `attempts` after the claim identifies the claim. */
export interface ClaimedDelivery {
  id: bigint;
  attempts: number;
  eventId: string;
  type: string;
  data: unknown;
  at: Date;
  url: string;
  /** The current secret first, then the previous one while its overlap lasts. */
  secrets: string[];
}

/** How an attempt ended, as the worker records it. */
export type DeliveryOutcome =
  | { status: 'delivered'; httpStatus: number }
  | { status: 'pending'; httpStatus: number | null; error: string; nextAttemptAt: Date }
  | { status: 'failed'; httpStatus: number | null; error: string };

export interface DeliveryCounts {
  pending: number;
  delivered: number;
  failed: number;
}
