import type { LoggerService } from '@nestjs/common';
import { pino, type Logger } from 'pino';

/**
 * Structured JSON logs (pino). Request logs carry the request id as `reqId`. Secrets and tokens
 * never reach a log line: request logs hold method, url and status only, and the paths below
 * are redacted should an object carrying them ever be logged.
 */
export function createLogger(level: string): Logger {
  return pino({
    level,
    base: { service: 'embedgate' },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: {
      paths: [
        'req.headers.authorization',
        'req.headers.cookie',
        '*.authorization',
        '*.apiKey',
        '*.token',
        '*.jwt',
        '*.secret',
        '*.password',
      ],
      censor: '[redacted]',
    },
  });
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
