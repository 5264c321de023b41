import { randomBytes } from 'node:crypto';
import { Webhook as StandardWebhook } from 'standardwebhooks';

/** A new signing secret in Standard Webhooks' format: `whsec_` and 32 random bytes in base64. */
export const newWebhookSecret = (): string => `whsec_${randomBytes(32).toString('base64')}`;

/** One event as sent: its id is the `webhook-id` of every attempt, so receivers can drop a repeat. */
export interface WebhookMessage {
  id: string;
  type: string;
  /** When the event happened: the payload's `timestamp`. */
  at: Date;
  data: unknown;
}

export interface SignedRequest {
  body: string;
  headers: { 'webhook-id': string; 'webhook-timestamp': string; 'webhook-signature': string };
}

/**
 * The body `{type, timestamp, data}` and the Standard Webhooks headers of one attempt, signed at `now`
 * (`webhook-timestamp` is the attempt's time: receivers refuse a signature more than 5 minutes off)
 * with each secret given: during a rotation's overlap the new one and the previous one, space-separated
 * in `webhook-signature`, so a receiver that has either secret verifies the request.
 */
export function signWebhook(message: WebhookMessage, secrets: string[], now: Date): SignedRequest {
  const body = JSON.stringify({ type: message.type, timestamp: message.at.toISOString(), data: message.data });
  const signature = secrets.map((secret) => new StandardWebhook(secret).sign(message.id, now, body)).join(' ');
  return {
    body,
    headers: { 'webhook-id': message.id, 'webhook-timestamp': String(Math.floor(now.getTime() / 1000)), 'webhook-signature': signature },
  };
}
