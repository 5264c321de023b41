import { Controller, Get, HttpCode, Post, Query, Req, Res, UseFilters, UseGuards } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Public } from '../roles.decorator.js';
import { checkCsrf, safeRelayState, type StaffUser } from '../staff/staff-session.js';
import { SamlAuthGuard } from './saml-auth.guard.js';
import { SamlStrategy } from './saml.strategy.js';
import { SignInRefusedFilter } from './sign-in-refused.filter.js';

@ApiExcludeController()
@Controller('auth')
export class SamlController {
  constructor(private readonly strategy: SamlStrategy) {}

  @Get('saml/metadata')
  @Public()
  metadata(@Res() reply: FastifyReply) {
    void reply.type('application/samlmetadata+xml').send(this.strategy.generateServiceProviderMetadata(null, null));
  }

  /** Starts sign-in: an AuthnRequest (its id kept for InResponseTo) and a redirect to the IdP. */
  @Get('saml/login')
  @Public()
  async login(@Query('RelayState') relayState: unknown, @Res() reply: FastifyReply) {
    const url = await this.strategy.saml.getAuthorizeUrlAsync(safeRelayState(relayState), undefined, {});
    void reply.header('cache-control', 'no-store').redirect(url, 302);
  }

  /** The assertion consumer: a validated response opens a new session (new id) and returns to the console; a refused one gets our error page. */
  @Post('saml/acs')
  @Public()
  @UseGuards(SamlAuthGuard)
  @UseFilters(new SignInRefusedFilter())
  async acs(@Req() request: FastifyRequest & { user?: StaffUser }, @Res() reply: FastifyReply) {
    await request.session.regenerate();
    request.session.staff = request.user!;
    request.session.signedInAt = Date.now();
    const relayState = (request.body as Record<string, unknown> | undefined)?.RelayState;
    void reply.redirect(safeRelayState(relayState), 303);
  }

  @Post('logout')
  @Public()
  @HttpCode(303)
  async logout(@Req() request: FastifyRequest, @Res() reply: FastifyReply) {
    if (request.session?.staff) await checkCsrf(request, reply);
    await request.session?.destroy();
    void reply.redirect('/console/signed-out', 303);
  }
}
