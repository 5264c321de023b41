import { Catch, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { html, simplePage } from '../console/html.js';
import { SignInRequired } from '../console/staff-session.js';
import { toErrorResponse } from './error-response.js';

/** The one place errors become HTTP answers. */
@Catch()
export class AllExceptionsFilter implements ExceptionFilter {
  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const reply = http.getResponse<FastifyReply>();
    const request = http.getRequest<FastifyRequest>();
    if (exception instanceof SignInRequired) {
      void reply.redirect(`/auth/saml/login?RelayState=${encodeURIComponent(exception.returnTo)}`, 302);
      return;
    }
    const response = toErrorResponse(exception);
    if (response.unexpected) request.log.error({ err: exception }, 'unexpected error');
    else if (response.status === 503) request.log.warn({ err: { message: (exception as Error)?.message } }, 'database unavailable');
    if (response.headers) void reply.headers(response.headers);
    if (request.url.startsWith('/console') && response.status < 500) {
      // People in a browser get a page, not JSON.
      void reply
        .status(response.status)
        .type('text/html; charset=utf-8')
        .send(simplePage('Not possible', html`<p>${response.body.error.message}</p><p><a href="/console">Back to the console</a></p>`));
      return;
    }
    void reply.status(response.status).send(response.body);
  }
}
