import { Body, Controller, HttpCode, Post, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal } from '../auth/current-principal.decorator.js';
import type { Principal } from '../auth/principal.js';
import { Roles } from '../auth/roles.decorator.js';
import { ApiBodyFrom } from '../common/openapi.js';
import { validBody } from '../common/zod-validation.pipe.js';
import { EmbedRateLimitGuard } from '../rate-limits/embed-rate-limit.guard.js';
import { ssoJwtRequestSchema, type SsoJwtRequest } from './embed-request.dto.js';
import { EmbedsService } from './embeds.service.js';

@ApiTags('sso')
@Controller('v1/sso')
export class SdkSsoController {
  constructor(private readonly embeds: EmbedsService) {}

  @Post('jwt')
  @Roles('app')
  @UseGuards(EmbedRateLimitGuard)
  @HttpCode(200)
  @ApiBearerAuth()
  @ApiOperation({ summary: 'An SSO token for Metabase’s embedding SDK ({jwt}); 403 with the decision when the user is not routed to SSO' })
  @ApiBodyFrom(ssoJwtRequestSchema)
  @ApiResponse({ status: 200, description: '{jwt}' })
  @ApiResponse({ status: 403, description: 'not routed to SSO: {error, decision}' })
  ssoJwt(@Body(validBody(ssoJwtRequestSchema)) body: SsoJwtRequest, @CurrentPrincipal() principal: Principal) {
    return this.embeds.ssoJwt(principal, body);
  }
}
