import { Webhook } from 'standardwebhooks';
import { backoffMs } from '../../src/webhooks/webhook-delivery.worker.js';
import { newWebhookSecret, signWebhook } from '../../src/webhooks/webhook-signing.js';

const message = {
  id: 'c0a80101-0000-4000-8000-000000000001',
  type: 'seat.allocated',
  at: new Date('2026-12-01T10:00:00.000Z'),
  data: { seatId: 's-1', seatsHeld: 3 },
};
const headersOf = (signed: ReturnType<typeof signWebhook>) => ({ ...signed.headers });

describe('signWebhook (Standard Webhooks)', () => {
  it('makes whsec_ secrets of 32 random bytes', () => {
    const secret = newWebhookSecret();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(Buffer.from(secret.slice(6), 'base64')).toHaveLength(32);
    expect(newWebhookSecret()).not.toBe(secret);
  });

  it('sends {type, timestamp, data} with webhook-id, webhook-timestamp and a v1 signature the standardwebhooks package verifies', () => {
    const secret = newWebhookSecret();
    const signed = signWebhook(message, [secret], new Date());
    expect(JSON.parse(signed.body)).toEqual({ type: 'seat.allocated', timestamp: '2026-12-01T10:00:00.000Z', data: { seatId: 's-1', seatsHeld: 3 } });
    expect(signed.headers['webhook-id']).toBe(message.id);
    expect(Number(signed.headers['webhook-timestamp'])).toBe(Math.floor(Date.now() / 1000));
    expect(new Webhook(secret).verify(signed.body, headersOf(signed))).toEqual(JSON.parse(signed.body));
  });

  it('is refused by the receiver with another secret, another body, or an old timestamp', () => {
    const secret = newWebhookSecret();
    const signed = signWebhook(message, [secret], new Date());
    expect(() => new Webhook(newWebhookSecret()).verify(signed.body, headersOf(signed))).toThrow(/No matching signature/);
    expect(() => new Webhook(secret).verify(signed.body.replace('3', '4'), headersOf(signed))).toThrow(/No matching signature/);
    const stale = signWebhook(message, [secret], new Date(Date.now() - 10 * 60_000));
    expect(() => new Webhook(secret).verify(stale.body, headersOf(stale))).toThrow(/too old/);
  });

  it('signs with every secret given, space-separated: during a rotation either secret verifies', () => {
    const [next, previous] = [newWebhookSecret(), newWebhookSecret()];
    const signed = signWebhook(message, [next, previous], new Date());
    expect(signed.headers['webhook-signature'].split(' ')).toHaveLength(2);
    expect(signed.headers['webhook-signature']).toMatch(/^v1,\S+ v1,\S+$/);
    for (const secret of [next, previous]) expect(new Webhook(secret).verify(signed.body, headersOf(signed))).toBeTruthy();
  });
});

describe('backoffMs', () => {
  const config = { backoffBaseMs: 5_000, backoffMaxMs: 3_600_000 };

  it('doubles from the base, between half and all of the step (jitter), capped at the maximum', () => {
    expect(backoffMs(1, config, () => 0)).toBe(2_500);
    expect(backoffMs(1, config, () => 1)).toBe(5_000);
    expect(backoffMs(2, config, () => 1)).toBe(10_000);
    expect(backoffMs(4, config, () => 1)).toBe(40_000);
    expect(backoffMs(20, config, () => 1)).toBe(3_600_000);
    expect(backoffMs(1_000, config, () => 0.5)).toBe(2_700_000);
  });
});
