import { SpanKind, SpanStatusCode, context, trace, type Attributes, type Span } from '@opentelemetry/api';

/**
 * embedgate's own spans, and the trace id of log lines. Everything here is a no-op, and costs one
 * boolean test, until tracing.ts has started the OpenTelemetry SDK (OTEL_EXPORTER_OTLP_ENDPOINT set).
 */

/** The names of embedgate's own spans (the instrumentations name theirs). */
export const SPAN = {
  policyDecision: 'embedgate.policy.decide',
  seatAcquire: 'embedgate.seats.acquire',
  mintGuest: 'embedgate.tokens.mint_guest',
  mintSso: 'embedgate.tokens.mint_sso',
} as const;

/** The background workers: one unit of a worker's work is a root span `embedgate.worker.<name>` (inWorkerSpan). */
export const WORKER = {
  outbox: 'outbox',
  webhooks: 'webhooks',
  retention: 'retention',
  usage: 'usage',
  seatReclaim: 'seat_reclaim',
  metabaseCheck: 'metabase_check',
  metabaseSnapshot: 'metabase_snapshot',
} as const;
export type WorkerName = (typeof WORKER)[keyof typeof WORKER];

/** The attributes embedgate sets: names and enumerations only, never a token, a key or an email. */
export const ATTR = {
  tenant: 'embedgate.tenant',
  purpose: 'embedgate.purpose',
  rule: 'embedgate.rule',
  mode: 'embedgate.mode',
  seatOutcome: 'embedgate.seat.outcome',
  resourceType: 'embedgate.resource.type',
  tokenTtlSeconds: 'embedgate.token.ttl_seconds',
  worker: 'embedgate.worker',
  /** How a worker's unit of work ended: a word from its own short list (done, retrying, locked, ...). */
  outcome: 'embedgate.outcome',
  attempt: 'embedgate.attempt',
  rows: 'embedgate.rows',
  seats: 'embedgate.seats',
  batches: 'embedgate.batches',
  embeds: 'embedgate.embeds',
  viewers: 'embedgate.viewers',
  blockingFindings: 'embedgate.findings.blocking',
  warningFindings: 'embedgate.findings.warning',
  errorType: 'error.type',
} as const;

type AttributeName = (typeof ATTR)[keyof typeof ATTR];
/** Attributes by the names above only, so a new one is added there, in sight of the rule. */
export type SpanAttributes = Partial<Record<AttributeName, string | number | boolean | undefined>>;

let on = false;

/** Called once the SDK is started (tracing.ts): from then on, spans are made. */
export function markTracingStarted(): void {
  on = true;
}

export function tracingStarted(): boolean {
  return on;
}

const tracer = () => trace.getTracer('embedgate');

const defined = (attributes: SpanAttributes): Attributes =>
  Object.fromEntries(Object.entries(attributes).filter(([, value]) => value !== undefined)) as Attributes;

function ended<T>(span: Span, result: T, describe?: (result: T) => SpanAttributes): T {
  if (describe) span.setAttributes(defined(describe(result)));
  span.end();
  return result;
}

/** Status ERROR, without a message; `error.type` the error's code or class, not its message: a message may quote what a caller sent. */
function markFailed(span: Span, error?: unknown): void {
  if (error !== undefined) span.setAttribute(ATTR.errorType, String((error as { code?: unknown })?.code ?? (error as Error)?.name ?? 'Error'));
  span.setStatus({ code: SpanStatusCode.ERROR });
}

function failed(span: Span, error: unknown): never {
  markFailed(span, error);
  span.end();
  throw error;
}

/**
 * Runs `work` in a span named `name` (a child of the active one) when tracing is on; off, runs it
 * as it is. `describe` adds attributes from the result (the rule that fired, the seat's outcome).
 */
export function inSpan<T>(name: string, attributes: SpanAttributes, work: () => T, describe?: (result: Awaited<T>) => SpanAttributes): T {
  if (!on) return work();
  return tracer().startActiveSpan(name, { attributes: defined(attributes) }, (span) => {
    try {
      const result = work();
      if (result instanceof Promise) {
        return result.then(
          (value: Awaited<T>) => ended(span, value, describe),
          (error: unknown) => failed(span, error),
        ) as T;
      }
      return ended(span, result as Awaited<T>, describe) as T;
    } catch (error) {
      return failed(span, error);
    }
  });
}

/**
 * `target`, its method `method` run in a span on every call when tracing is on (for objects made once,
 * at boot: the token minters); off, `target` untouched.
 */
export function traceCalls<T extends object, K extends keyof T & string>(
  target: T,
  method: K,
  name: string,
  attributesOf: T[K] extends (...args: infer A) => unknown ? (...args: A) => SpanAttributes : never,
): T {
  if (!on) return target;
  const original = target[method] as (...args: unknown[]) => unknown;
  const describe = attributesOf as (...args: unknown[]) => SpanAttributes;
  Object.defineProperty(target, method, { value: (...args: unknown[]) => inSpan(name, describe(...args), () => original.apply(target, args)) });
  return target;
}

/** What one unit of a worker's work tells its span, as it learns it. */
export interface WorkerSpan {
  /** Counts and enumerations: never an email, a URL, a key or an error's text. */
  set(attributes: SpanAttributes): void;
  /** The unit failed though it caught its error (workers log and carry on): status ERROR, no message. */
  fail(error?: unknown): void;
}

const UNTRACED: WorkerSpan = { set: () => undefined, fail: () => undefined };

/**
 * Runs one unit of a background worker's work (a claimed job, a delivery attempt, a flush) in a root
 * span `embedgate.worker.<worker>` when tracing is on, so that its statements, calls and log lines
 * have a trace; off, runs it as it is. Root even when started inside a request (an early flush): the
 * request does not wait for it. Call it once the unit is known to have work: an idle poll, every
 * second or so, must not make a trace.
 */
export function inWorkerSpan<T>(worker: WorkerName, work: (span: WorkerSpan) => Promise<T>): Promise<T> {
  if (!on) return work(UNTRACED);
  const options = { root: true, kind: SpanKind.INTERNAL, attributes: { [ATTR.worker]: worker } };
  return tracer().startActiveSpan(`embedgate.worker.${worker}`, options, async (span) => {
    try {
      return await work({ set: (attributes) => span.setAttributes(defined(attributes)), fail: (error) => markFailed(span, error) });
    } catch (error) {
      markFailed(span, error);
      throw error;
    } finally {
      span.end();
    }
  });
}

/** pino's mixin when tracing is on: the active span's trace and span ids on every log line written inside one. */
export function traceIdsOfActiveSpan(): { traceId?: string; spanId?: string } {
  const span = trace.getSpan(context.active());
  if (!span) return {};
  const { traceId, spanId } = span.spanContext();
  return { traceId, spanId };
}
