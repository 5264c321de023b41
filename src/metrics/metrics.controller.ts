import { Controller, Get, Inject, NotFoundException, Req, Res } from '@nestjs/common';
import { ApiExcludeEndpoint } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Public } from '../auth/roles.decorator.js';
import { ApiError } from '../common/api-error.js';
import { CONFIG, type Config } from '../config/config.js';
import { MetricsAccess, METRICS_UNAUTHORIZED } from './metrics-access.js';
import { MetricsService } from './metrics.service.js';

@Controller('metrics')
export class MetricsController {
  private readonly access: MetricsAccess;

  // The CLI's configuration has no `metrics` (it serves no HTTP): then the defaults.
  constructor(
    private readonly metrics: MetricsService,
    @Inject(CONFIG) config: Partial<Pick<Config, 'metrics'>>,
  ) {
    this.access = new MetricsAccess(config.metrics);
  }

  /** Prometheus scrape endpoint on the API's port: protected by METRICS_TOKEN, or moved to METRICS_PORT (see MetricsAccess). */
  @Get()
  @Public()
  @ApiExcludeEndpoint()
  async scrape(@Req() request: FastifyRequest, @Res() reply: FastifyReply) {
    const verdict = this.access.onApiPort(request.headers.authorization);
    // The same answer as for a route that does not exist.
    if (verdict === 'not-found') throw new NotFoundException();
    if (verdict === 'unauthorized') {
      const { status, code, message, headers } = METRICS_UNAUTHORIZED;
      throw new ApiError(status, code, message, {}, headers);
    }
    void reply.type(this.metrics.registry.contentType).send(await this.metrics.registry.metrics());
  }
}
