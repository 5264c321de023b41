import { Controller, Get, Res } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Public } from '../auth/roles.decorator.js';
import { HealthService } from './health.service.js';

@ApiTags('health')
@Controller('health')
export class HealthController {
  constructor(private readonly health: HealthService) {}

  @Get('live')
  @Public()
  @ApiOperation({ summary: 'Liveness: the process answers' })
  live() {
    return { status: 'ok' };
  }

  @Get('ready')
  @Public()
  @ApiOperation({ summary: 'Readiness: the database answers and has every migration this build ships (503 otherwise)' })
  @ApiResponse({ status: 200, description: '{status: ok, database: ok, migrations: ok}' })
  @ApiResponse({
    status: 503,
    description:
      '{status: unavailable, database: unreachable}, or {status: unavailable, database: ok, migrations: pending, pending: n}, or {status: unavailable, database: ok, migrations: unknown}',
  })
  async ready(@Res({ passthrough: true }) reply: FastifyReply) {
    const readiness = await this.health.readiness();
    if (readiness.status !== 'ok') void reply.status(503);
    return readiness;
  }
}
