import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { node, tracing } from '@opentelemetry/sdk-node';
import type { SchedulerRegistry } from '@nestjs/schedule';
import { inSpan, inWorkerSpan, markTracingStarted, traceIdsOfActiveSpan, tracingStarted, WORKER } from '../../src/tracing/spans.js';
import { UsageRollup } from '../../src/usage/usage-rollup.service.js';
import type { UsageRepository } from '../../src/usage/usage.repository.js';
import type { WebhookDeliveryRepository } from '../../src/webhooks/webhook-delivery.repository.js';
import { WebhookDeliveryWorker } from '../../src/webhooks/webhook-delivery.worker.js';
import type { ClaimedDelivery } from '../../src/webhooks/webhook.js';

// The background workers' spans (inWorkerSpan in src/tracing/spans.ts): a root span per unit of work,
// none for an idle poll, nothing at all with tracing off. On an in-memory exporter, with the SDK's
// tracer provider and its async context (what NodeSDK sets up in the service).

const exporter = new tracing.InMemorySpanExporter();
const provider = new node.NodeTracerProvider({ spanProcessors: [new tracing.SimpleSpanProcessor(exporter)] });
provider.register();

afterAll(() => provider.shutdown());
beforeEach(() => exporter.reset());

const finished = () => exporter.getFinishedSpans();
const workerSpans = () => finished().filter((span) => span.name.startsWith('embedgate.worker.'));
const parentOf = (span: tracing.ReadableSpan) => span.parentSpanContext?.spanId;

describe('with tracing off', () => {
  it('runs the work as it is: its own promise, a span handle that does nothing, nothing exported', async () => {
    expect(tracingStarted()).toBe(false);
    const work = Promise.resolve(42);
    expect(
      inWorkerSpan(WORKER.outbox, (span) => {
        span.set({ 'embedgate.attempt': 1 });
        span.fail(new Error('no'));
        return work;
      }),
    ).toBe(work);
    await work;
    expect(finished()).toEqual([]);
  });
});

describe('with tracing on', () => {
  beforeAll(() => markTracingStarted());

  it('makes a root span embedgate.worker.<name>, kind INTERNAL, even when started inside another span', async () => {
    await inSpan('a request', {}, () => inWorkerSpan(WORKER.usage, async () => 'flushed'));
    const [worker] = workerSpans();
    const request = finished().find((span) => span.name === 'a request')!;
    expect(worker.name).toBe('embedgate.worker.usage');
    expect(worker.kind).toBe(SpanKind.INTERNAL);
    expect(parentOf(worker)).toBeUndefined();
    expect(worker.spanContext().traceId).not.toBe(request.spanContext().traceId);
    expect(worker.attributes).toEqual({ 'embedgate.worker': 'usage' });
  });

  it('parents what the unit does, and gives its log lines its trace id', async () => {
    let logged: { traceId?: string; spanId?: string } = {};
    await inWorkerSpan(WORKER.outbox, async () => {
      await inSpan('a statement', {}, async () => undefined);
      logged = traceIdsOfActiveSpan();
    });
    const [worker] = workerSpans();
    const child = finished().find((span) => span.name === 'a statement')!;
    expect(parentOf(child)).toBe(worker.spanContext().spanId);
    expect(child.spanContext().traceId).toBe(worker.spanContext().traceId);
    expect(logged).toEqual({ traceId: worker.spanContext().traceId, spanId: worker.spanContext().spanId });
  });

  it('keeps the counts and outcome the unit sets, and marks a caught failure ERROR without a message', async () => {
    const result = await inWorkerSpan(WORKER.retention, async (span) => {
      span.set({ 'embedgate.outcome': 'purged', 'embedgate.rows': 3, 'embedgate.seats': undefined });
      span.fail(Object.assign(new Error('duplicate key value violates "ana@acme.example"'), { code: '23505' }));
      return 'logged and carried on';
    });
    expect(result).toBe('logged and carried on');
    const [worker] = workerSpans();
    expect(worker.attributes).toEqual({ 'embedgate.worker': 'retention', 'embedgate.outcome': 'purged', 'embedgate.rows': 3, 'error.type': '23505' });
    expect(worker.status).toEqual({ code: SpanStatusCode.ERROR });
  });

  it('marks a thrown error ERROR with its class, and throws it on', async () => {
    const error = new TypeError('secret text');
    await expect(inWorkerSpan(WORKER.seatReclaim, () => Promise.reject(error))).rejects.toBe(error);
    const [worker] = workerSpans();
    expect(worker.status).toEqual({ code: SpanStatusCode.ERROR });
    expect(worker.attributes['error.type']).toBe('TypeError');
    expect(worker.events).toEqual([]);
  });
});

describe('the webhook delivery worker, traced', () => {
  let receiver: Server;
  let url: string;
  const claims: ClaimedDelivery[][] = [];
  const deliveries = {
    claimDue: async () => claims.shift() ?? [],
    finish: async () => true,
    release: async () => undefined,
  } as unknown as WebhookDeliveryRepository;
  const config = {
    webhooks: {
      pollIntervalMs: 1_000,
      timeoutMs: 2_000,
      maxAttempts: 1,
      backoffBaseMs: 50,
      backoffMaxMs: 100,
      allowHttpLocalhost: true,
      allowPrivateNetworks: false,
    },
  };
  const worker = new WebhookDeliveryWorker(deliveries, {} as SchedulerRegistry, config);
  const claim = (id: number, path: string): ClaimedDelivery => ({
    id: BigInt(id),
    attempts: 1,
    eventId: `evt-${id}`,
    type: 'seat.allocated',
    data: { seatId: 's' },
    at: new Date(),
    url: `${url}${path}`,
    secrets: [`whsec_${randomBytes(32).toString('base64')}`],
  });

  beforeAll(async () => {
    markTracingStarted();
    receiver = createServer((request, response) => response.writeHead(request.url === '/ok' ? 204 : 500).end());
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(receiver.address() as { port: number }).port}`;
  });
  afterAll(async () => {
    await worker.onModuleDestroy();
    await new Promise((resolve) => receiver.close(resolve));
  });

  it('makes no span for a poll that claims nothing', async () => {
    for (let poll = 0; poll < 5; poll++) expect((await worker.runOnce()).claimed).toBe(0);
    expect(finished()).toEqual([]);
  });

  it('makes one root span per delivery attempt, with its attempt and outcome; a failed one is ERROR', async () => {
    claims.push([claim(1, '/ok'), claim(2, '/broken')]);
    expect(await worker.runOnce()).toMatchObject({ claimed: 2, delivered: 1, failed: 1 });
    const spans = workerSpans().map((span) => ({ name: span.name, root: parentOf(span) === undefined, attributes: span.attributes, status: span.status }));
    expect(spans).toEqual(
      expect.arrayContaining([
        {
          name: 'embedgate.worker.webhooks',
          root: true,
          attributes: { 'embedgate.worker': 'webhooks', 'embedgate.attempt': 1, 'embedgate.outcome': 'delivered' },
          status: { code: SpanStatusCode.UNSET },
        },
        {
          name: 'embedgate.worker.webhooks',
          root: true,
          attributes: { 'embedgate.worker': 'webhooks', 'embedgate.attempt': 1, 'embedgate.outcome': 'failed' },
          status: { code: SpanStatusCode.ERROR },
        },
      ]),
    );
    expect(spans).toHaveLength(2);
    expect(new Set(workerSpans().map((span) => span.spanContext().traceId)).size).toBe(2);
  });
});

describe('the usage roll-up, traced', () => {
  const applied: string[] = [];
  const repository = { applyBatch: async (batch: { id: string }) => (applied.push(batch.id), 'applied') } as unknown as UsageRepository;
  const rollup = new UsageRollup(repository, { usage: { flushSeconds: 3_600, bufferLimit: 1_000, retentionDays: 30 } });
  /** The scheduled tick (every USAGE_FLUSH_SECONDS). */
  const tick = () => (rollup as unknown as { flushQuietly(): Promise<void> }).flushQuietly();

  beforeAll(() => markTracingStarted());

  it('makes no span for a tick with nothing recorded', async () => {
    await tick();
    await tick();
    expect(applied).toEqual([]);
    expect(finished()).toEqual([]);
  });

  it('makes a root span for a flush with something to write, with its counts', async () => {
    rollup.record('9a5a4c3e-0000-4000-8000-000000000001', 'sales-overview', 'guest', 'ana');
    rollup.record('9a5a4c3e-0000-4000-8000-000000000001', 'sales-overview', 'guest', 'bo');
    await tick();
    expect(applied).toHaveLength(1);
    const [worker] = workerSpans();
    expect(parentOf(worker)).toBeUndefined();
    expect(worker.attributes).toEqual({ 'embedgate.worker': 'usage', 'embedgate.batches': 1, 'embedgate.embeds': 2, 'embedgate.viewers': 2 });
  });
});
