import type { LoggerService } from '@nestjs/common';
import { pino, type Logger } from 'pino';
import { traceIdsOfActiveSpan, tracingStarted } from '../tracing/spans.js';
import { StdoutLogDestination } from './stdout-log-destination.js';

/**
 * Structured JSON logs (pino). Request logs carry the request id as `reqId`. Secrets and tokens
 * never reach a log line: request logs hold method, url and status only, and the paths below
 * are redacted should an object carrying them ever be logged.
 */
/**
 * A request URL as it may be logged: one-time launch ids and exchange codes are secrets (whoever has one logs in), and
 * query values may carry anything a caller put there (a misplaced key, an email), so both are masked.
 */
/**
 * Path segments that are credentials: one-time launch ids and viewer-session exchange codes (whoever
 * has one signs in, or spends it). Every public route with a path parameter must be listed here: a
 * test generated from the route table checks it (test/security/hostile-text.e2e.spec.ts).
 */
export const CREDENTIAL_PATHS = /^(\/v1\/(?:launch|viewer-sessions\/exchange))\/[^/?#]+/;

export function loggableUrl(url: string): string {
  const [path, query] = url.split('?', 2);
  const safePath = path.replace(CREDENTIAL_PATHS, '$1/[redacted]');
  if (query === undefined) return safePath;
  const names = query.split('&').map((pair) => `${pair.split('=')[0]}=*`);
  return `${safePath}?${names.join('&')}`;
}

export function createLogger(level: string, destination?: NodeJS.WritableStream | StdoutLogDestination): Logger {
  return pino(
    {
      level,
      serializers: {
        req: (req: { method?: string; url?: string; ip?: string }) => ({ method: req.method, url: loggableUrl(req.url ?? ''), remoteAddress: req.ip }),
        res: (res: { statusCode?: number }) => ({ statusCode: res.statusCode }),
        err: pino.stdSerializers.err,
      },
      base: { service: 'embedgate' },
      // With tracing on (started before the logger is made), every line written inside a span carries its traceId and spanId.
      ...(tracingStarted() ? { mixin: traceIdsOfActiveSpan } : {}),
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: {
        paths: ['req.headers.authorization', 'req.headers.cookie', '*.authorization', '*.apiKey', '*.token', '*.jwt', '*.secret', '*.password'],
        censor: '[redacted]',
      },
    },
    // Standard output, asynchronous: lines written while a write is in flight go out together in the
    // next one, and nothing at exit can block on a reader that is not reading (see StdoutLogDestination).
    destination ?? new StdoutLogDestination(),
  );
}

/** Nest's logger interface over pino, so framework messages are JSON lines too. */
export class NestPinoLogger implements LoggerService {
  constructor(private readonly logger: Logger) {}
  log(message: unknown, context?: string) {
    this.logger.info({ context }, String(message));
  }
  error(message: unknown, trace?: string, context?: string) {
    this.logger.error({ context, trace }, String(message));
  }
  warn(message: unknown, context?: string) {
    this.logger.warn({ context }, String(message));
  }
  debug(message: unknown, context?: string) {
    this.logger.debug({ context }, String(message));
  }
  verbose(message: unknown, context?: string) {
    this.logger.trace({ context }, String(message));
  }
}
