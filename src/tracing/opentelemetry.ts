import { register } from 'node:module';
import { FastifyOtelInstrumentation } from '@fastify/otel';
import type { Context } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { IORedisInstrumentation } from '@opentelemetry/instrumentation-ioredis';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';
import { NodeSDK, tracing } from '@opentelemetry/sdk-node';
import { createAddHookMessageChannel } from 'import-in-the-middle';
import type { Config } from '../config/config.js';
import { redactSpan } from './redaction.js';

/** Probes and scrapes: frequent, and nothing to see in a trace. */
const UNTRACED_PATHS = /^\/(health\/|metrics(\?|$))/;
/** How long the last spans may take to reach the collector at shutdown (the whole shutdown has 10 s). */
const SHUTDOWN_FLUSH_MS = 2_000;

/**
 * Strips what an exported span must not carry (see redaction.ts). onEnding: Span.end() calls it before
 * it marks the span ended, the last moment the span can be changed, and before any exporter sees it.
 */
export class RedactingSpanProcessor implements tracing.SpanProcessor {
  constructor(private readonly knownOrigins: ReadonlySet<string>) {}
  onStart(_span: tracing.Span, _parentContext: Context): void {}
  onEnding(span: tracing.Span): void {
    redactSpan(span as never, this.knownOrigins);
  }
  onEnd(_span: tracing.ReadableSpan): void {}
  forceFlush(): Promise<void> {
    return Promise.resolve();
  }
  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

/**
 * The OpenTelemetry Node SDK: spans exported over OTLP/HTTP (JSON) to `{endpoint}/v1/traces`, through
 * a batch processor; a parent-based ratio sampler; the HTTP, Fastify, pg, ioredis and undici (fetch)
 * instrumentations.
 * No metrics or logs pipelines (Prometheus has the metrics; the logs carry the trace id). Must run
 * before anything imports Fastify, Nest, pg or ioredis: main.ts imports those modules afterwards.
 */
export async function startOpenTelemetry(config: NonNullable<Config['tracing']>, knownOrigins: ReadonlySet<string>): Promise<{ shutdown(): Promise<void> }> {
  // ESM: a loader hook (import-in-the-middle) lets the instrumentations patch pg and ioredis as they
  // are imported. It intercepts only the modules an instrumentation asks for.
  const { registerOptions, waitForAllMessagesAcknowledged } = createAddHookMessageChannel();
  register('import-in-the-middle/hook.mjs', import.meta.url, registerOptions);
  const sdk = new NodeSDK({
    serviceName: config.serviceName,
    sampler: new tracing.ParentBasedSampler({ root: new tracing.TraceIdRatioBasedSampler(config.sampleRatio) }),
    spanProcessors: [new RedactingSpanProcessor(knownOrigins), new tracing.BatchSpanProcessor(new OTLPTraceExporter({ url: `${config.endpoint}/v1/traces` }))],
    metricReaders: [],
    logRecordProcessors: [],
    instrumentations: [
      new HttpInstrumentation({ ignoreIncomingRequestHook: (request) => UNTRACED_PATHS.test(request.url ?? '') }),
      // Request and handler spans with the route (http.route); no span per hook; exceptions are in the logs.
      new FastifyOtelInstrumentation({
        registerOnInitialization: true,
        instrumentHooks: false,
        recordExceptions: false,
        ignorePaths: ({ url }) => UNTRACED_PATHS.test(url),
      }) as never,
      // Statements inside a traced request only (the background timers would make a trace each), and no
      // span for taking a pooled connection (one per statement: noise, and a cost).
      new PgInstrumentation({ requireParentSpan: true, ignoreConnectSpans: true }),
      // The command name only: keys and arguments stay out.
      new IORedisInstrumentation({ requireParentSpan: true, dbStatementSerializer: (command) => command }),
      // Global fetch (the Metabase API clients, OIDC discovery): undici, which the HTTP instrumentation
      // does not see. Inside a traced request only, as pg; no header is recorded (headersToSpanAttributes unset).
      new UndiciInstrumentation({ requireParentforSpans: true }),
    ],
  });
  sdk.start();
  await waitForAllMessagesAcknowledged();
  return {
    shutdown: () => Promise.race([sdk.shutdown(), new Promise<void>((resolve) => setTimeout(resolve, SHUTDOWN_FLUSH_MS).unref())]),
  };
}
