import type { Config } from '../config/config.js';
import { markTracingStarted } from './spans.js';

export interface Tracing {
  /** Exports the spans still buffered (bounded: at most 2 s) and stops. */
  shutdown(): Promise<void>;
}

/**
 * Starts OpenTelemetry tracing (`config.tracing` set). Only called when OTEL_EXPORTER_OTLP_ENDPOINT is set: the SDK is
 * imported here, so with tracing off it is never loaded. Call it before importing the modules it
 * instruments (Fastify, Nest, pg, ioredis): main.ts does.
 */
export async function startTracing(config: Pick<Config, 'tracing' | 'metabase'>): Promise<Tracing> {
  const { startOpenTelemetry } = await import('./opentelemetry.js');
  // Outgoing calls keep their paths only to Metabase (its API's paths hold ids; a webhook target's may hold a token).
  const metabaseOrigins = [config.metabase.siteUrl, config.metabase.api?.url].filter((url): url is string => !!url).map((url) => new URL(url).origin);
  const sdk = await startOpenTelemetry(config.tracing!, new Set(metabaseOrigins));
  markTracingStarted();
  return sdk;
}
