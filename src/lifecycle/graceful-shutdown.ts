import { Server as NetServer } from 'node:net';
import type { Server as HttpServer } from 'node:http';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';

/** The process is gone within this of the first SIGTERM or SIGINT, whatever holds it (`docker stop` kills at 10 s). */
export const SHUTDOWN_DEADLINE_MS = 10_000;
/** How long requests in flight may take to finish before their connections are cut. */
const DRAIN_MS = 7_000;
/** After the drain, idle keep-alive connections stay open this long: a client sending its next request on one gets the 503, not a reset. */
const IDLE_LINGER_MS = 250;
/** How long the last log lines may take to reach a reader that is slow (a stopped one gets nothing). */
const LOG_FLUSH_MS = 500;
/** The forced exit comes this long before the deadline: a busy machine fires timers late. */
const EXIT_MARGIN_MS = 1_000;

const SIGNAL_NUMBERS = { SIGINT: 2, SIGTERM: 15 } as const;
type ShutdownSignal = keyof typeof SIGNAL_NUMBERS;

export interface GracefulShutdownOptions {
  logger: Logger;
  /** Stops what runs beside the application once it closed (the embedded demo database). */
  afterClose?: () => Promise<void>;
}

/**
 * Shutdown on SIGTERM or SIGINT, in the order that loses no answer: stop admitting requests (new ones
 * get 503 shutting_down, new connections are refused), let those in flight finish with the database
 * open, then close the application (Nest's destroy hooks: the Postgres pool, Redis, timers) and exit 0.
 * A timer set before anything that may block exits with 1 at the deadline; a second signal exits at once.
 */
export function installGracefulShutdown(app: NestFastifyApplication, options: GracefulShutdownOptions): void {
  const { logger } = options;
  let started = false;

  const onSignal = (signal: ShutdownSignal) => {
    if (started) {
      logger.warn({ signal }, 'second signal: exiting now');
      exitNow(128 + SIGNAL_NUMBERS[signal]);
    }
    started = true;
    const startedAt = Date.now();
    setTimeout(() => {
      logger.error({ signal, deadlineMs: SHUTDOWN_DEADLINE_MS }, 'shutdown did not finish in time: exiting now');
      exitNow(1);
    }, SHUTDOWN_DEADLINE_MS - EXIT_MARGIN_MS);
    shutDown(app, options, signal).then(
      async () => {
        logger.info({ signal, durationMs: Date.now() - startedAt }, 'shut down');
        await flushLogs(logger, LOG_FLUSH_MS);
        exitNow(0);
      },
      async (error: unknown) => {
        logger.error({ err: error, signal }, 'shutdown failed');
        await flushLogs(logger, LOG_FLUSH_MS);
        exitNow(1);
      },
    );
  };
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  process.on('SIGINT', () => onSignal('SIGINT'));
}

async function shutDown(app: NestFastifyApplication, { logger, afterClose }: GracefulShutdownOptions, signal: ShutdownSignal): Promise<void> {
  const fastify: FastifyInstance = app.getHttpAdapter().getInstance();
  const server = app.getHttpServer() as HttpServer;
  const admission = fastify.requestAdmission;
  admission?.close();
  // Stop listening, but leave idle keep-alive connections open for now: a request sent on one gets
  // 503 shutting_down rather than a reset (http.Server.close() would close them at once).
  if (server.listening) NetServer.prototype.close.call(server);
  logger.info({ signal, requestsInFlight: admission?.requestsInFlight ?? 0 }, 'shutting down: refusing new requests, finishing those in flight');

  const drained = admission ? await admission.drained(DRAIN_MS) : true;
  if (drained) {
    await new Promise((resolve) => setTimeout(resolve, IDLE_LINGER_MS));
    server.closeIdleConnections();
  } else {
    logger.warn({ requestsInFlight: admission?.requestsInFlight, drainMs: DRAIN_MS }, 'requests still in flight: closing their connections');
    server.closeAllConnections();
  }
  // Nest's destroy hooks (Postgres pool, Redis, caches) and schedule timers, then Fastify's own close.
  await app.close();
  await afterClose?.();
}

/** pino's flush, bounded: a reader that stopped reading must not hold the exit. */
function flushLogs(logger: Logger, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    logger.flush(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

function exitNow(code: number): never {
  // Nothing registered on 'exit' writes synchronously (see StdoutLogDestination), so this returns to no one.
  process.exit(code);
}
