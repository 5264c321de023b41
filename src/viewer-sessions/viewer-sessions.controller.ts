import { Body, Controller, Delete, Get, HttpCode, Inject, Param, Post, Query, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import { CurrentPrincipal } from '../auth/current-principal.decorator.js';
import type { Principal } from '../auth/principal.js';
import { Public, Roles } from '../auth/roles.decorator.js';
import { ApiError } from '../common/api-error.js';
import { ApiBodyFrom, ApiQueryFrom } from '../common/openapi.js';
import { validBody, validQuery } from '../common/zod-validation.pipe.js';
import { CONFIG, type Config } from '../config/config.js';
import { RateLimits } from '../rate-limits/rate-limits.service.js';
import { exchangeQuerySchema, openViewerSessionSchema, revokeForUserQuerySchema, type OpenViewerSessionInput } from './viewer-session.dto.js';
import { claimedPageOrigin } from './page-origin.js';
import { ViewerSessionsService } from './viewer-sessions.service.js';

@ApiTags('viewer-sessions')
@Controller('v1/viewer-sessions')
export class ViewerSessionsController {
  constructor(
    private readonly sessions: ViewerSessionsService,
    private readonly limits: RateLimits,
    @Inject(CONFIG) private readonly config: Pick<Config, 'viewerSessions'>,
  ) {}

  @Post()
  @Roles('app')
  @ApiBearerAuth()
  @ApiOperation({ summary: 'Open a viewer session for one user of a tenant: a one-time exchange URL (60 s) that sets the session cookie' })
  @ApiBodyFrom(openViewerSessionSchema)
  @ApiResponse({ status: 201, description: '{id, url, expiresAt, sessionExpiresAt}' })
  @ApiResponse({ status: 404, description: 'tenant unknown or outside the app’s scope' })
  open(@Body(validBody(openViewerSessionSchema)) body: OpenViewerSessionInput, @CurrentPrincipal() principal: Principal) {
    return this.sessions.open(principal, body);
  }

  @Get('exchange/:code')
  @Public()
  @ApiOperation({ summary: 'Spend a one-time exchange URL in the browser: sets the HttpOnly session cookie; 303 to returnTo, or 204' })
  @ApiQueryFrom(exchangeQuerySchema)
  @ApiResponse({ status: 204, description: 'cookie set' })
  @ApiResponse({ status: 303, description: 'cookie set, to returnTo' })
  @ApiResponse({ status: 410, description: 'unknown, used or expired' })
  async exchange(
    @Param('code') code: string,
    @Query(validQuery(exchangeQuerySchema)) query: z.output<typeof exchangeQuerySchema>,
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
  ) {
    // Guessing codes is hopeless (256 bits), but an address that keeps trying is slowed down like a bad key.
    this.limits.checkAuthFailures(request.ip);
    let spent: Awaited<ReturnType<ViewerSessionsService['exchange']>>;
    try {
      spent = await this.sessions.exchange(code, query.returnTo, claimedPageOrigin(request.headers));
    } catch (error) {
      if (error instanceof ApiError && error.status === 410) throw (await this.limits.recordAuthFailure(request.ip)) ?? error;
      throw error;
    }
    void reply.setCookie(spent.cookieName, spent.secret, {
      httpOnly: true,
      secure: true,
      sameSite: this.config.viewerSessions.sameSite,
      path: '/',
      maxAge: spent.maxAgeSeconds,
    });
    if (spent.redirectTo) return reply.redirect(spent.redirectTo, 303);
    return reply.status(204).send();
  }

  @Delete(':id')
  @Roles('app')
  @ApiBearerAuth()
  @HttpCode(204)
  @ApiOperation({ summary: 'End one of this app’s viewer sessions' })
  @ApiResponse({ status: 204, description: 'ended (or had already ended)' })
  @ApiResponse({ status: 404, description: 'this app has no session with that id' })
  async revoke(@Param('id') id: string, @CurrentPrincipal() principal: Principal) {
    await this.sessions.revoke(principal, id);
  }

  @Delete()
  @Roles('app')
  @ApiBearerAuth()
  @HttpCode(200)
  @ApiOperation({ summary: 'End every viewer session this app opened for one user of a tenant: {revoked}' })
  @ApiQueryFrom(revokeForUserQuerySchema)
  revokeForUser(@Query(validQuery(revokeForUserQuerySchema)) query: z.output<typeof revokeForUserQuerySchema>, @CurrentPrincipal() principal: Principal) {
    return this.sessions.revokeForUser(principal, query.tenant, query.user);
  }
}
