import { Controller, Get, Query, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Public } from '../auth/roles.decorator.js';
import { DemoIdentityProvider, DemoIdpRefusal } from './demo-idp.js';
import { demoRefusalView, demoSignInView } from './demo-idp.view.js';
import { DEMO_STAFF } from './demo-staff.js';
import { sendPage } from '../common/html.js';

const MAX_QUERY_VALUE = 8_000;

/**
 * The demo identity provider's endpoints (demo mode only: DemoModule mounts this controller only when
 * main.ts made the demo, which it does only without DATABASE_URL). Not part of the API.
 */
@ApiExcludeController()
@Controller('demo-idp')
export class DemoIdpController {
  constructor(private readonly idp: DemoIdentityProvider) {}

  @Get('metadata')
  @Public()
  metadata(@Res() reply: FastifyReply) {
    void reply.type('application/samlmetadata+xml').send(this.idp.metadata());
  }

  /** The SSO endpoint (HTTP-Redirect binding): the page to pick who signs in, each choice a signed response. */
  @Get('sso')
  @Public()
  sso(@Query('SAMLRequest') samlRequest: unknown, @Query('RelayState') relayState: unknown, @Res() reply: FastifyReply) {
    if (typeof samlRequest !== 'string' || !samlRequest || samlRequest.length > MAX_QUERY_VALUE) {
      return sendPage(reply, demoRefusalView('Sign-in starts at the console, which sends this page a SAML request'), 400);
    }
    if (relayState !== undefined && (typeof relayState !== 'string' || relayState.length > MAX_QUERY_VALUE)) {
      return sendPage(reply, demoRefusalView('The RelayState is not one embedgate sends'), 400);
    }
    let request: { id: string };
    try {
      request = this.idp.readAuthnRequest(samlRequest);
    } catch (error) {
      if (error instanceof DemoIdpRefusal) return sendPage(reply, demoRefusalView(`The SAML request was not answered: ${error.message}`), 400);
      throw error;
    }
    const now = new Date();
    const choices = DEMO_STAFF.map((person) => ({ person, samlResponse: this.idp.signedResponse(request.id, person, now) }));
    sendPage(reply, demoSignInView(this.idp.acsUrl, relayState, choices));
  }
}
