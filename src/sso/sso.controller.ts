import { Controller, Get, Param, Req, Res } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Public } from '../auth/roles.decorator.js';
import { RateLimits } from '../rate-limits/rate-limits.service.js';
import { ApiError } from '../common/api-error.js';
import { SsoService } from './sso.service.js';

@ApiTags('sso')
@Controller('v1')
export class SsoController {
  constructor(
    private readonly sso: SsoService,
    private readonly limits: RateLimits,
  ) {}

  @Get('launch/:id')
  @Public()
  @ApiOperation({ summary: 'Open a one-time SSO launch link: 302 to Metabase /auth/sso with a fresh token; 410 once used or expired' })
  @ApiResponse({ status: 302, description: 'to Metabase’s /auth/sso' })
  @ApiResponse({
    status: 403,
    description:
      'asked again when opened: the email left the tenant’s domains, the tenant is no longer proven isolated, or the email is no longer safe to sign in',
  })
  @ApiResponse({ status: 404, description: 'no such link' })
  @ApiResponse({ status: 410, description: 'already used, expired, or the seat was withdrawn' })
  async launch(@Param('id') id: string, @Req() request: FastifyRequest, @Res() reply: FastifyReply) {
    // Guessing ids is hopeless (256 bits), but an address that keeps trying is slowed down like a bad key.
    this.limits.checkAuthFailures(request.ip);
    let location: string;
    try {
      location = await this.sso.redeemLaunch(id);
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) throw (await this.limits.recordAuthFailure(request.ip)) ?? error;
      throw error;
    }
    // The URL carries a live token: keep it out of caches and referrers.
    void reply.header('cache-control', 'no-store').header('referrer-policy', 'no-referrer').redirect(location, 302);
  }
}
