import { Body, Controller, HttpCode, Post, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal } from '../auth/current-principal.decorator.js';
import type { Principal } from '../auth/principal.js';
import { Roles } from '../auth/roles.decorator.js';
import { ApiBodyFrom } from '../common/openapi.js';
import { EmbedRateLimitGuard } from '../rate-limits/embed-rate-limit.guard.js';
import { validBody } from '../common/zod-validation.pipe.js';
import { embedRequestSchema, type EmbedRequest } from './embed-request.dto.js';
import { EmbedsService } from './embeds.service.js';

@ApiTags('embeds')
@ApiBearerAuth()
@Controller('v1/embeds')
export class EmbedsController {
  constructor(private readonly embeds: EmbedsService) {}

  @Post()
  @Roles('app')
  @UseGuards(EmbedRateLimitGuard)
  @ApiOperation({ summary: 'Get an embed for one user: a guest token (view-only, no seat) or an SSO login (drill-through, a seat)' })
  @ApiBodyFrom(embedRequestSchema)
  @ApiResponse({ status: 201, description: 'guest: {mode, url, token, expiresAt, decision}; sso: {mode, url, jwt, expiresAt, seat, decision}' })
  @ApiResponse({ status: 403, description: 'denied: {error, decision}' })
  @ApiResponse({ status: 404, description: 'tenant unknown or outside the app’s scope, or resource unknown' })
  @ApiResponse({ status: 409, description: 'seats_exhausted (tenant set to deny then), or identity_conflict (the email is another tenant’s SSO identity)' })
  @ApiResponse({ status: 429, description: 'rate_limited, with Retry-After' })
  embed(@Body(validBody(embedRequestSchema)) body: EmbedRequest, @CurrentPrincipal() principal: Principal) {
    return this.embeds.embed(principal, body);
  }

  @Post('explain')
  @Roles('app', 'admin')
  @HttpCode(200)
  @ApiOperation({ summary: 'The decision an embed request would get: no token, no seat change' })
  @ApiBodyFrom(embedRequestSchema)
  explain(@Body(validBody(embedRequestSchema)) body: EmbedRequest, @CurrentPrincipal() principal: Principal) {
    return this.embeds.explain(principal, body);
  }
}
