import { Catch, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { toErrorResponse } from './error-response.js';

/** The one place errors become HTTP answers. */
@Catch()
export class AllExceptionsFilter implements ExceptionFilter {
  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const reply = http.getResponse<FastifyReply>();
    const request = http.getRequest<FastifyRequest>();
    const response = toErrorResponse(exception);
    if (response.unexpected) request.log.error({ err: exception }, 'unexpected error');
    else if (response.status === 503) request.log.warn({ err: { message: (exception as Error)?.message } }, 'database unavailable');
    if (response.headers) void reply.headers(response.headers);
    void reply.status(response.status).send(response.body);
  }
}
