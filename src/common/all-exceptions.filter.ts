import { Catch, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { toErrorResponse, type ErrorResponse } from './error-response.js';

/**
 * An error in the contract's shape, logged when it says something about us: with its stack when
 * unexpected, at warn when the database is unavailable. For every filter that answers errors.
 */
export function loggedErrorResponse(exception: unknown, request: FastifyRequest): ErrorResponse {
  const response = toErrorResponse(exception);
  if (response.unexpected) request.log.error({ err: exception }, 'unexpected error');
  else if (response.status === 503) request.log.warn({ err: { message: (exception as Error)?.message } }, 'database unavailable');
  return response;
}

/** The one place errors become HTTP answers: `{error: {code, message}}` (pages answer their own, see the console's filter). */
@Catch()
export class AllExceptionsFilter implements ExceptionFilter {
  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const reply = http.getResponse<FastifyReply>();
    const response = loggedErrorResponse(exception, http.getRequest<FastifyRequest>());
    if (response.headers) void reply.headers(response.headers);
    void reply.status(response.status).send(response.body);
  }
}
