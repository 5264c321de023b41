import { Catch, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { loggedErrorResponse } from '../../common/all-exceptions.filter.js';
import { html, simplePage } from '../../common/html.js';

/** What a person reads for each refusal: our words, keyed by the stable code, never an error's message. */
const SIGN_IN_REFUSALS: Record<string, string> = {
  saml_rejected: 'The sign-in response from your identity provider was not accepted.',
  saml_replayed: 'This sign-in response was already used. Sign in again from the console.',
  saml_malformed: 'The sign-in response is not in the form embedgate expects.',
  saml_issuer_mismatch: 'The sign-in response does not come from the identity provider embedgate trusts.',
  saml_destination_mismatch: 'The sign-in response is addressed to another service.',
  saml_recipient_mismatch: 'The sign-in response is addressed to another service.',
  no_console_role: 'Your identity provider signed you in, but none of your groups gives a role in the embedgate console. Ask an administrator.',
};
const UNAVAILABLE = 'Sign-in cannot be completed right now. Try again shortly.';

/** The assertion consumer answers a browser: a failed sign-in is our own page with its code, in the console's look. */
@Catch()
export class SignInRefusedFilter implements ExceptionFilter {
  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const reply = http.getResponse<FastifyReply>();
    const request = http.getRequest<FastifyRequest>();
    const response = loggedErrorResponse(exception, request);
    const code = response.body.error.code;
    const text = SIGN_IN_REFUSALS[code] ?? UNAVAILABLE;
    void reply
      .status(response.status)
      .headers(response.headers ?? {})
      .header('cache-control', 'no-store')
      .type('text/html; charset=utf-8')
      .send(
        simplePage(
          'Sign-in failed',
          html`<p>${text}</p><p class="muted">Error code: <code data-error-code="${code}">${code}</code></p><p><a href="/console">Back to the console</a></p>`,
        ),
      );
  }
}
