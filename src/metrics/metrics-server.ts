import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { INestApplicationContext } from '@nestjs/common';
import type { Logger } from 'pino';
import type { Config } from '../config/config.js';
import { MetricsAccess, METRICS_UNAUTHORIZED } from './metrics-access.js';
import { MetricsService } from './metrics.service.js';

export interface MetricsServer {
  port: number;
  close(): Promise<void>;
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/;

/** The boot warning for /metrics open to whoever reaches the API's port, unless that port is bound to loopback. */
export function metricsExposureWarning(config: Pick<Config, 'metrics' | 'host'>): string | undefined {
  if (!new MetricsAccess(config.metrics).openOnApiPort || LOOPBACK.test(config.host)) return undefined;
  return '/metrics is open on the API port to anyone who reaches it: set METRICS_PORT (a port of its own) or METRICS_TOKEN (a bearer token)';
}

function answerError(response: ServerResponse, status: number, code: string, message: string, headers: Record<string, string> = {}): void {
  response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers });
  response.end(JSON.stringify({ error: { code, message } }));
}

/**
 * /metrics on a port of its own (METRICS_PORT): a plain HTTP server beside the API's, on the same host,
 * serving only `GET /metrics` (with METRICS_TOKEN, only to a scrape that sends it). The API's port then
 * answers 404 for /metrics. Closed at shutdown after the application.
 */
export async function serveMetrics(app: INestApplicationContext, config: Pick<Config, 'metrics' | 'host'>, logger: Logger): Promise<MetricsServer> {
  const registry = app.get(MetricsService).registry;
  const access = new MetricsAccess(config.metrics);
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const path = (request.url ?? '').split('?', 1)[0];
    if (path !== '/metrics' || (request.method !== 'GET' && request.method !== 'HEAD')) {
      answerError(response, 404, 'not_found', 'this port serves GET /metrics only');
      return;
    }
    if (access.onMetricsPort(request.headers.authorization) === 'unauthorized') {
      const { status, code, message, headers } = METRICS_UNAUTHORIZED;
      answerError(response, status, code, message, headers);
      return;
    }
    registry.metrics().then(
      (text) => {
        response.writeHead(200, { 'content-type': registry.contentType, 'cache-control': 'no-store' });
        response.end(request.method === 'HEAD' ? undefined : text);
      },
      (error: unknown) => {
        logger.error({ err: error }, 'metrics scrape failed');
        answerError(response, 500, 'internal_error', 'the metrics could not be collected');
      },
    );
  });
  server.requestTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.metrics.port, config.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.metrics.port!;
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
