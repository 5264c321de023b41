import { Catch, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { SignInRequired, signInUrl } from '../auth/staff/staff-session.js';
import { loggedErrorResponse } from '../common/all-exceptions.filter.js';
import { errorView } from './views/pages.view.js';

/**
 * The console answers a browser: not signed in (or timed out) is a redirect to sign-in that comes
 * back to the page; a refusal (4xx) is a page with its message; a failure of ours stays the JSON error.
 */
@Catch()
export class ConsoleExceptionsFilter implements ExceptionFilter {
  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const reply = http.getResponse<FastifyReply>();
    if (exception instanceof SignInRequired) {
      void reply.redirect(signInUrl(exception.returnTo), 302);
      return;
    }
    const response = loggedErrorResponse(exception, http.getRequest<FastifyRequest>());
    if (response.headers) void reply.headers(response.headers);
    if (response.status >= 500) {
      void reply.status(response.status).send(response.body);
      return;
    }
    void reply.status(response.status).type('text/html; charset=utf-8').send(errorView(response.body.error.message));
  }
}
