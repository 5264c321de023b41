import { SpanStatusCode, context, trace, type Attributes, type Span } from '@opentelemetry/api';

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

/** The attributes embedgate sets: names and enumerations only, never a token, a key or an email. */
export const ATTR = {
  tenant: 'embedgate.tenant',
  purpose: 'embedgate.purpose',
  rule: 'embedgate.rule',
  mode: 'embedgate.mode',
  seatOutcome: 'embedgate.seat.outcome',
  resourceType: 'embedgate.resource.type',
  tokenTtlSeconds: 'embedgate.token.ttl_seconds',
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

function failed(span: Span, error: unknown): never {
  // The error's code or class, not its message: a message may quote what a caller sent.
  const type = (error as { code?: unknown })?.code ?? (error as Error)?.name ?? 'Error';
  span.setAttribute(ATTR.errorType, String(type));
  span.setStatus({ code: SpanStatusCode.ERROR });
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

/** pino's mixin when tracing is on: the active span's trace and span ids on every log line written inside one. */
export function traceIdsOfActiveSpan(): { traceId?: string; spanId?: string } {
  const span = trace.getSpan(context.active());
  if (!span) return {};
  const { traceId, spanId } = span.spanContext();
  return { traceId, spanId };
}
