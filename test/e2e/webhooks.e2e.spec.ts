import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { RetentionService } from '../../src/retention/retention.service.js';
import { rememberSecret } from '../support/secrets-hygiene.js';
import { embedBody, seed, startService, type Api, type RunningService } from '../support/service.js';
import { TestIdp } from '../support/test-idp.js';
import { WebhookReceiver } from '../support/webhook-receiver.js';

/**
 * Webhooks end to end: the admin API, and deliveries of seat.allocated, seat.released and
 * tenant.tier_changed to a local receiver that verifies every request with the `standardwebhooks`
 * package; retries with the same webhook-id, the dead letter and its retry, secret rotation with both
 * signatures during the overlap, and the console page.
 */

let service: RunningService;
let app: Api;
let idp: TestIdp;
let sp: { entityId: string; acsUrl: string };
const receivers: WebhookReceiver[] = [];

const MAX_ATTEMPTS = 3;

beforeAll(async () => {
  idp = await TestIdp.create();
  await idp.start(() => sp);
  service = await startService({
    SEAT_BUDGET: '10',
    WEBHOOK_ALLOW_HTTP_LOCALHOST: 'true',
    WEBHOOK_POLL_INTERVAL_MS: '50',
    WEBHOOK_BACKOFF_BASE_MS: '50',
    WEBHOOK_BACKOFF_MAX_MS: '200',
    WEBHOOK_MAX_ATTEMPTS: String(MAX_ATTEMPTS),
    WEBHOOK_TIMEOUT_MS: '2000',
    SAML_SP_ENTITY_ID: 'https://embedgate.test.example/saml',
    SAML_IDP_ENTRY_POINT: `${idp.url}/sso`,
    SAML_IDP_ISSUER: idp.entityId,
    SAML_IDP_CERT: idp.cert,
    SAML_ROLE_MAP: JSON.stringify({ 'bi-admins': 'admin', finance: 'finance' }),
    SESSION_SECRET: 'console-session-secret-0123456789abcdef',
    PUBLIC_URL: 'http://embedgate.test.example',
  });
  sp = { entityId: 'https://embedgate.test.example/saml', acsUrl: `${service.config.publicUrl}/auth/saml/acs` };
  const apps = await seed(service.admin, {
    tenants: [
      { slug: 'acme', name: 'Acme', kind: 'external', tier: 'drill', customerId: 'acme-1' },
      { slug: 'globex', name: 'Globex', kind: 'external', tier: 'drill', customerId: 'globex-1' },
    ],
    resources: [{ key: 'sales-overview', type: 'dashboard', metabaseId: 1, tenantParam: 'customer_id' }],
    apps: { host: { tenants: '*' } },
  });
  app = apps.host;
});
afterAll(async () => {
  await service?.stop();
  await idp?.stop();
  for (const receiver of receivers) await receiver.stop();
});

/** A receiver and a webhook subscribed to `events` that posts to it; the receiver trusts the webhook's secret. */
async function subscribe(events: string[], extra: Record<string, unknown> = {}) {
  const receiver = await new WebhookReceiver().start();
  receivers.push(receiver);
  const created = await service.admin.post('/v1/webhooks', { url: receiver.url, events, ...extra });
  expect(created.status).toBe(201);
  receiver.trust(created.body.secret);
  return { receiver, webhook: created.body as { id: string; secret: string } };
}

const remove = async (id: string) => expect((await service.admin.delete(`/v1/webhooks/${id}`)).status).toBe(200);

async function deliveriesOf(id: string, status?: string) {
  const answer = await service.admin.get(`/v1/webhooks/${id}/deliveries${status ? `?status=${status}` : ''}`);
  expect(answer.status).toBe(200);
  return answer.body.items as any[];
}

async function waitForDelivery(id: string, predicate: (deliveries: any[]) => boolean, what: string) {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const deliveries = await deliveriesOf(id);
    if (predicate(deliveries)) return deliveries;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(deliveries)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function sso(tenant: string, user: string) {
  const answer = await app.post('/v1/embeds', embedBody(tenant, user));
  expect([answer.status, answer.body.mode]).toEqual([201, 'sso']);
  return answer.body;
}

describe('the admin API: /v1/webhooks', () => {
  it('creates a webhook and shows its secret once: never in GET, the list, or the audit log', async () => {
    const created = await service.admin.post('/v1/webhooks', {
      url: 'https://hooks.example.com/embedgate',
      events: ['seat.allocated', 'seat.allocated', 'budget.threshold_crossed'],
      description: 'ops alerts',
    });
    expect(created.status).toBe(201);
    rememberSecret(created.body.secret);
    expect(created.body).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      url: 'https://hooks.example.com/embedgate',
      description: 'ops alerts',
      events: ['seat.allocated', 'budget.threshold_crossed'],
      enabled: true,
      previousSecretExpiresAt: null,
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
      secret: expect.stringMatching(/^whsec_[A-Za-z0-9+/]{43}=$/),
    });
    const { id, secret } = created.body;
    const one = await service.admin.get(`/v1/webhooks/${id}`);
    expect(one.status).toBe(200);
    expect(one.body).not.toHaveProperty('secret');
    expect(one.body.deliveries).toEqual({ pending: 0, delivered: 0, failed: 0 });
    const list = await service.admin.get('/v1/webhooks?limit=200');
    expect(list.body.items.map((w: { id: string }) => w.id)).toContain(id);
    expect(JSON.stringify(list.body)).not.toContain(secret);
    const audit = await service.admin.get('/v1/audit?type=webhook.created');
    expect(audit.body.items[0].data).toMatchObject({ webhookId: id, url: 'https://hooks.example.com/embedgate' });
    expect(JSON.stringify(audit.body)).not.toContain(secret);
    expect(JSON.stringify(await service.db.query('SELECT data FROM audit_events'))).not.toContain(secret);

    const patched = await service.admin.patch(`/v1/webhooks/${id}`, { enabled: false, events: ['seat.released'], description: null });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ enabled: false, events: ['seat.released'], description: null });
    expect((await service.admin.get('/v1/audit?type=webhook.updated')).body.items[0].data).toMatchObject({
      webhookId: id,
      changes: { enabled: false, events: ['seat.released'], description: null },
      previous: { enabled: true, events: ['seat.allocated', 'budget.threshold_crossed'] },
    });
    await remove(id);
    expect((await service.admin.get(`/v1/webhooks/${id}`)).status).toBe(404);
    expect((await service.admin.delete(`/v1/webhooks/${id}`)).body.error.code).toBe('webhook_not_found');
  });

  it.each([
    ['plain http to another host', 'http://hooks.example.com/x', /https/],
    ['a private network address', 'https://10.1.2.3/x', /private network/],
    ['the cloud metadata address', 'https://169.254.169.254/latest/meta-data', /link-local/],
    ['an IPv4-mapped private address', 'https://[::ffff:192.168.0.1]/x', /private network/],
    ['credentials in the URL', 'https://user:pass@hooks.example.com/x', /user name or password/],
    ['not a URL', 'hooks.example.com', /absolute https URL/],
    ['a fragment', 'https://hooks.example.com/x#frag', /fragment/],
  ])('refuses %s: 400 naming url', async (_what, url, message) => {
    const answer = await service.admin.post('/v1/webhooks', { url, events: ['seat.allocated'] });
    expect(answer.status).toBe(400);
    expect(answer.body.error.code).toBe('validation_error');
    expect(answer.body.error.message).toMatch(/^url: /);
    expect(answer.body.error.message).toMatch(message);
  });

  it('refuses unknown event types, an empty list, unknown fields, and keys other than admin', async () => {
    for (const body of [
      { url: 'https://hooks.example.com/x', events: ['seat.stolen'] },
      { url: 'https://hooks.example.com/x', events: [] },
      { url: 'https://hooks.example.com/x', events: ['seat.allocated'], secret: 'whsec_mine' },
    ]) {
      const answer = await service.admin.post('/v1/webhooks', body);
      expect([answer.status, answer.body.error.code]).toEqual([400, 'validation_error']);
    }
    expect((await app.post('/v1/webhooks', { url: 'https://hooks.example.com/x', events: ['seat.allocated'] })).status).toBe(403);
    expect((await app.get('/v1/webhooks')).status).toBe(403);
    const finance = service.admin.as(await service.createKey('finance'));
    expect((await finance.get('/v1/webhooks')).status).toBe(403);
    expect((await service.admin.get('/v1/webhooks/not-a-uuid')).status).toBe(404);
    expect((await service.admin.patch('/v1/webhooks/00000000-0000-4000-8000-000000000000', { enabled: true })).status).toBe(404);
    expect((await service.admin.patch('/v1/webhooks/00000000-0000-4000-8000-000000000000', {})).status).toBe(400);
  });
});

describe('deliveries, signed following Standard Webhooks', () => {
  it('delivers seat.allocated, seat.released and tenant.tier_changed, each verified with the standardwebhooks package', async () => {
    const { receiver, webhook } = await subscribe(['seat.allocated', 'seat.released', 'tenant.tier_changed']);
    const embed = await sso('acme', 'ada');
    await receiver.waitFor((r) => r.some((x) => x.payload?.type === 'seat.allocated'), 'seat.allocated');
    const [allocated] = receiver.events('seat.allocated');
    expect(allocated.verifiedBy).toEqual([0]);
    expect(allocated.contentType).toBe('application/json');
    expect(allocated.payload).toEqual({
      type: 'seat.allocated',
      timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      data: {
        seatId: embed.seat.id,
        tenant: 'acme',
        userId: 'ada',
        reason: 'first-embed',
        actor: expect.stringMatching(/^key:/),
        seatsHeld: 1,
        seatBudget: 10,
        tenantSeatsHeld: 1,
        tenantSeatCap: null,
      },
    });
    expect(Math.abs(Number(allocated.timestamp) - Date.now() / 1000)).toBeLessThan(30);
    expect(allocated.signature).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);

    // A returning user holds the seat already: no event.
    await sso('acme', 'ada');
    expect((await service.admin.delete(`/v1/seats/${embed.seat.id}`)).status).toBe(200);
    await receiver.waitFor((r) => r.some((x) => x.payload?.type === 'seat.released'), 'seat.released');
    expect(receiver.events('seat.released')[0].payload!.data).toMatchObject({ seatId: embed.seat.id, tenant: 'acme', reason: 'admin', seatsHeld: 0 });

    await sso('globex', 'grace');
    const tier = await service.admin.put('/v1/tenants/globex/tier', { tier: 'view', reason: 'contract ended' });
    expect(tier.status).toBe(200);
    // The same tier again is no change: no event.
    expect((await service.admin.put('/v1/tenants/globex/tier', { tier: 'view' })).status).toBe(200);
    await receiver.waitFor((r) => r.some((x) => x.payload?.type === 'tenant.tier_changed'), 'tenant.tier_changed');
    await receiver.waitFor((r) => r.filter((x) => x.payload?.type === 'seat.released').length === 2, 'the downgrade’s release');
    expect(receiver.events('tenant.tier_changed').map((r) => r.payload!.data)).toEqual([
      { tenant: 'globex', from: 'drill', to: 'view', reason: 'contract ended', releasedSeats: 1, actor: expect.stringMatching(/^key:/) },
    ]);
    expect(receiver.events('seat.released')[1].payload!.data).toMatchObject({ tenant: 'globex', userId: 'grace', reason: 'tier-downgrade' });
    expect((await service.admin.put('/v1/tenants/globex/tier', { tier: 'drill' })).status).toBe(200);

    // Every request verified, each event once, and every delivery recorded as delivered.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(receiver.received.every((r) => r.verifiedBy.length === 1)).toBe(true);
    await receiver.waitFor((r) => r.length === 6, 'the upgrade back to drill');
    // One transaction's events are sent side by side: their order of arrival is not fixed.
    expect(receiver.received.map((r) => r.payload!.type).sort()).toEqual([
      'seat.allocated',
      'seat.allocated',
      'seat.released',
      'seat.released',
      'tenant.tier_changed',
      'tenant.tier_changed',
    ]);
    expect(new Set(receiver.received.map((r) => r.id)).size).toBe(6);
    const deliveries = await deliveriesOf(webhook.id);
    expect(deliveries.map((d) => [d.status, d.attempts, d.lastStatus])).toEqual(Array(6).fill(['delivered', 1, 204]));
    expect(deliveries.map((d) => d.eventId).sort()).toEqual(receiver.received.map((r) => r.id).sort());
    await remove(webhook.id);
  });

  it('retries a failed attempt with backoff and the same webhook-id, until the receiver takes it', async () => {
    const { receiver, webhook } = await subscribe(['seat.allocated']);
    receiver.answerNext(500, 503);
    await sso('acme', 'retry-1');
    await receiver.waitFor((r) => r.some((x) => x.answered === 204), 'the third attempt');
    expect(receiver.received.map((r) => r.answered)).toEqual([500, 503, 204]);
    expect(new Set(receiver.received.map((r) => r.id)).size).toBe(1);
    expect(receiver.received.every((r) => r.verifiedBy.length === 1)).toBe(true);
    // Each attempt is signed at its own time, over the same body.
    expect(new Set(receiver.received.map((r) => r.body)).size).toBe(1);
    const [delivery] = await waitForDelivery(webhook.id, (d) => d[0]?.status === 'delivered', 'delivered');
    expect(delivery).toMatchObject({
      status: 'delivered',
      attempts: 3,
      lastStatus: 204,
      lastError: null,
      nextAttemptAt: null,
      eventId: receiver.received[0].id,
    });
    await remove(webhook.id);
  });

  it(`dead-letters a delivery after ${MAX_ATTEMPTS} failed attempts; an admin retries it and it is delivered with the same webhook-id`, async () => {
    const { receiver, webhook } = await subscribe(['seat.allocated']);
    receiver.status = 503;
    await sso('acme', 'dead-1');
    const [dead] = await waitForDelivery(webhook.id, (d) => d[0]?.status === 'failed', 'the dead letter');
    expect(dead).toMatchObject({ status: 'failed', attempts: MAX_ATTEMPTS, lastStatus: 503, lastError: 'HTTP 503: receiver says 503', nextAttemptAt: null });
    expect(receiver.received).toHaveLength(MAX_ATTEMPTS);
    expect(await deliveriesOf(webhook.id, 'failed')).toHaveLength(1);
    expect(await deliveriesOf(webhook.id, 'pending')).toHaveLength(0);
    expect((await service.admin.get(`/v1/webhooks/${webhook.id}`)).body.deliveries).toEqual({ pending: 0, delivered: 0, failed: 1 });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(receiver.received).toHaveLength(MAX_ATTEMPTS);

    receiver.status = 200;
    const retried = await service.admin.post(`/v1/webhooks/${webhook.id}/deliveries/${dead.id}/retry`);
    expect(retried.status).toBe(200);
    expect(retried.body).toMatchObject({ id: dead.id, status: 'pending', attempts: 0 });
    const [delivered] = await waitForDelivery(webhook.id, (d) => d[0]?.status === 'delivered', 'the retried delivery');
    expect(delivered).toMatchObject({ id: dead.id, attempts: 1, lastStatus: 200 });
    expect(receiver.received).toHaveLength(MAX_ATTEMPTS + 1);
    expect(new Set(receiver.received.map((r) => r.id))).toEqual(new Set([dead.eventId]));
    expect((await service.admin.get('/v1/audit?type=webhook.delivery_retried')).body.items[0].data).toMatchObject({
      webhookId: webhook.id,
      deliveryId: dead.id,
      lastError: 'HTTP 503: receiver says 503',
    });

    const again = await service.admin.post(`/v1/webhooks/${webhook.id}/deliveries/${dead.id}/retry`);
    expect([again.status, again.body.error.code]).toEqual([409, 'delivery_not_failed']);
    expect((await service.admin.post(`/v1/webhooks/${webhook.id}/deliveries/999999/retry`)).status).toBe(404);
    await remove(webhook.id);
  });

  it('a receiver that does not answer in time counts as a failed attempt', async () => {
    // A server that takes the request and never answers.
    const silent = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(silent.address() as AddressInfo).port}/hooks`;
    const created = await service.admin.post('/v1/webhooks', { url, events: ['seat.allocated'] });
    expect(created.status).toBe(201);
    rememberSecret(created.body.secret);
    try {
      await sso('acme', 'timeout-1');
      const [delivery] = await waitForDelivery(created.body.id, (d) => !!d[0]?.lastError, 'the first attempt to time out');
      // The next attempt may be under way already (its claim counts it).
      expect(delivery).toMatchObject({ status: 'pending', lastStatus: null, lastError: 'no answer within 2000 ms' });
      expect(delivery.attempts).toBeGreaterThanOrEqual(1);
    } finally {
      await remove(created.body.id);
      silent.closeAllConnections();
      silent.close();
    }
  });

  it('a disabled webhook gets nothing, and nothing is queued for it', async () => {
    const { receiver, webhook } = await subscribe(['seat.allocated'], { enabled: false });
    await sso('acme', 'disabled-1');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(receiver.received).toHaveLength(0);
    expect(await deliveriesOf(webhook.id)).toHaveLength(0);
    await remove(webhook.id);
  });
});

describe('POST /v1/webhooks/{id}/rotate-secret', () => {
  it('issues a new secret once; during the overlap each delivery verifies with the old and the new secret alike', async () => {
    const { receiver, webhook } = await subscribe(['seat.allocated']);
    const rotated = await service.admin.post(`/v1/webhooks/${webhook.id}/rotate-secret`, { overlapSeconds: 3600 });
    expect(rotated.status).toBe(201);
    rememberSecret(rotated.body.secret);
    expect(rotated.body).toEqual({ id: webhook.id, secret: expect.stringMatching(/^whsec_/), previousSecretExpiresAt: expect.any(String) });
    expect(rotated.body.secret).not.toBe(webhook.secret);
    receiver.trust(rotated.body.secret);
    expect((await service.admin.get(`/v1/webhooks/${webhook.id}`)).body.previousSecretExpiresAt).toBe(rotated.body.previousSecretExpiresAt);

    await sso('acme', 'rotate-1');
    await receiver.waitFor((r) => r.length === 1, 'the first delivery');
    // Two signatures, space-separated; the receiver verifies with either secret on its own.
    expect(receiver.received[0].signature.split(' ')).toHaveLength(2);
    expect(receiver.received[0].verifiedBy).toEqual([0, 1]);

    // No overlap: only the newest secret signs.
    const final = await service.admin.post(`/v1/webhooks/${webhook.id}/rotate-secret`, { overlapSeconds: 0 });
    expect(final.status).toBe(201);
    expect(final.body.previousSecretExpiresAt).toBeNull();
    receiver.trust(final.body.secret);
    await sso('acme', 'rotate-2');
    await receiver.waitFor((r) => r.length === 2, 'the second delivery');
    expect(receiver.received[1].signature.split(' ')).toHaveLength(1);
    expect(receiver.received[1].verifiedBy).toEqual([2]);

    const audit = await service.admin.get('/v1/audit?type=webhook.secret_rotated');
    expect(audit.body.items.map((e: { data: { overlapSeconds: number } }) => e.data.overlapSeconds)).toEqual([0, 3600]);
    expect(JSON.stringify(audit.body)).not.toContain(rotated.body.secret);
    await remove(webhook.id);
  });
});

describe('the retention purge (RETENTION_DAYS, default 7)', () => {
  it('deletes events delivered before the cutoff and those of deleted webhooks; keeps dead letters, pending and recent ones', async () => {
    const created = await service.admin.post('/v1/webhooks', { url: 'https://hooks.example.com/retention', events: ['seat.allocated'], enabled: false });
    rememberSecret(created.body.secret);
    const webhookId = created.body.id as string;
    const event = async (name: string, age: string, delivery: { status: string; updatedAge: string; webhook?: string }) => {
      await service.db.query(
        `WITH e AS (INSERT INTO webhook_events (type, data, at) VALUES ('seat.allocated', jsonb_build_object('name', $1::text), now() - $2::interval) RETURNING id)
         INSERT INTO webhook_deliveries (webhook_id, event_id, status, updated_at) SELECT $3::uuid, e.id, $4::"WebhookDeliveryStatus", now() - $5::interval FROM e`,
        [name, age, delivery.webhook ?? webhookId, delivery.status, delivery.updatedAge],
      );
    };
    await event('delivered-8d', '8 days', { status: 'delivered', updatedAge: '8 days' });
    await event('failed-8d', '8 days', { status: 'failed', updatedAge: '8 days' });
    await event('pending-8d', '8 days', { status: 'pending', updatedAge: '8 days' });
    await event('delivered-1d-late', '8 days', { status: 'delivered', updatedAge: '1 day' });
    await event('deleted-webhook-8d', '8 days', { status: 'pending', updatedAge: '8 days', webhook: '00000000-0000-4000-8000-000000000000' });
    await event('delivered-1d', '1 day', { status: 'delivered', updatedAge: '1 day' });

    expect(await service.app.get(RetentionService).purge()).toMatchObject({ webhook_events: 2 });
    const left = await service.db.query<{ name: string }>(`SELECT data->>'name' AS name FROM webhook_events WHERE data ? 'name' ORDER BY 1`);
    expect(left.map((row) => row.name)).toEqual(['delivered-1d', 'delivered-1d-late', 'failed-8d', 'pending-8d']);
    expect(
      await service.db.query(`SELECT count(*)::int AS n FROM webhook_deliveries d WHERE NOT EXISTS (SELECT 1 FROM webhook_events e WHERE e.id = d.event_id)`),
    ).toEqual([{ n: 0 }]);
    await remove(webhookId);
  });
});

describe('the console page /console/webhooks', () => {
  async function signIn(groups: string[]): Promise<string> {
    const login = await fetch(`${service.baseUrl}/auth/saml/login?RelayState=${encodeURIComponent('/console/webhooks')}`, { redirect: 'manual' });
    const { id } = TestIdp.requestIdOf(login.headers.get('location')!);
    const answer = await fetch(`${service.baseUrl}/auth/saml/acs`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ SAMLResponse: await idp.response(sp, { inResponseTo: id, groups }), RelayState: '/console/webhooks' }).toString(),
    });
    return answer.headers
      .getSetCookie()
      .find((c) => c.startsWith('embedgate_session='))!
      .split(';')[0];
  }

  it('lists the webhooks, their latest deliveries and dead letters to admins, never a secret; others are refused', async () => {
    const { receiver, webhook } = await subscribe(['seat.allocated'], { description: 'console <b>check</b>' });
    receiver.status = 500;
    await sso('acme', 'console-1');
    await waitForDelivery(webhook.id, (d) => d[0]?.status === 'failed', 'the dead letter');
    const answer = await fetch(`${service.baseUrl}/console/webhooks`, { headers: { cookie: await signIn(['bi-admins']) } });
    expect(answer.status).toBe(200);
    const page = await answer.text();
    expect(page).toContain(receiver.url);
    expect(page).toContain('console &lt;b&gt;check&lt;/b&gt;');
    expect(page).toMatch(/<h2>Dead letters<\/h2><table>[\s\S]*HTTP 500: receiver says 500/);
    expect(page).toContain('href="/console/webhooks"');
    expect(page).not.toContain(webhook.secret);
    expect(page).not.toContain('whsec_');
    expect((await fetch(`${service.baseUrl}/console/webhooks`, { headers: { cookie: await signIn(['finance']) } })).status).toBe(403);
    await remove(webhook.id);
  });
});
