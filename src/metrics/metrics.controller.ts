import { Controller, Get, Res } from '@nestjs/common';
import { ApiExcludeEndpoint } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Public } from '../auth/roles.decorator.js';
import { MetricsService } from './metrics.service.js';

@Controller('metrics')
export class MetricsController {
  constructor(private readonly metrics: MetricsService) {}

  /** Prometheus scrape endpoint: bind it to a private network or protect it in production. */
  @Get()
  @Public()
  @ApiExcludeEndpoint()
  async scrape(@Res() reply: FastifyReply) {
    void reply.type(this.metrics.registry.contentType).send(await this.metrics.registry.metrics());
  }
}
