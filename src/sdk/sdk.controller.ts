import { Body, Controller, Get, HttpCode, Post, Query, Req } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import type { z } from 'zod';
import { ApiBodyFrom, ApiQueryFrom } from '../common/openapi.js';
import { validBody, validQuery } from '../common/zod-validation.pipe.js';
import { guestProviderSchema, providerQuerySchema, type GuestProviderRequest } from './sdk-request.dto.js';
import { SdkProviders } from './sdk-providers.service.js';
import { ViewerRoute } from './viewer-route.decorator.js';

/**
 * The provider endpoints Metabase's embedding clients call from the viewer's browser
 * (/work/shared/docs/metabase-sdk-auth.md): the SDK's and embed.js's JWT provider
 * (MB_JWT_IDENTITY_PROVIDER_URI or jwtProviderUri) and embed.js's guest provider (guestEmbedProviderUri).
 */
@ApiTags('sdk')
@Controller('v1/sdk')
export class SdkController {
  constructor(private readonly providers: SdkProviders) {}

  @Get('sso')
  @ViewerRoute()
  @ApiOperation({
    summary: 'The SDK’s JWT provider: {jwt}, an SSO token for the viewer (same policy and seat ledger as POST /v1/embeds); 403 with the decision otherwise',
  })
  @ApiQueryFrom(providerQuerySchema)
  @ApiResponse({ status: 200, description: '{jwt}' })
  @ApiResponse({ status: 401, description: 'no viewer session or OIDC token, or an invalid one' })
  @ApiResponse({ status: 403, description: 'not routed to SSO: {error, decision}; or origin_not_allowed' })
  sso(@Query(validQuery(providerQuerySchema)) _query: z.output<typeof providerQuerySchema>, @Req() request: FastifyRequest) {
    return this.providers.ssoToken(request.principal!, request.viewer!);
  }

  @Post('guest')
  @ViewerRoute()
  @HttpCode(200)
  @ApiOperation({ summary: 'embed.js’s guest provider: {jwt}, a guest token of a registered, guest-embeddable resource, locked to the viewer’s tenant' })
  @ApiQueryFrom(providerQuerySchema)
  @ApiBodyFrom(guestProviderSchema)
  @ApiResponse({ status: 200, description: '{jwt}' })
  @ApiResponse({ status: 404, description: 'the item is not registered' })
  guest(
    @Query(validQuery(providerQuerySchema)) _query: z.output<typeof providerQuerySchema>,
    @Body(validBody(guestProviderSchema)) body: GuestProviderRequest,
    @Req() request: FastifyRequest,
  ) {
    return this.providers.guestToken(request.principal!, request.viewer!, body);
  }
}
