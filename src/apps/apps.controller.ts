import { Body, Controller, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { actorOf, type Principal } from '../auth/principal.js';
import { CurrentPrincipal } from '../auth/current-principal.decorator.js';
import { Roles } from '../auth/roles.decorator.js';
import { ApiBodyFrom } from '../common/openapi.js';
import { validBody } from '../common/zod-validation.pipe.js';
import { AppsService, createAppSchema, type CreateAppInput } from './apps.service.js';

@ApiTags('apps')
@ApiBearerAuth()
@Controller('v1/apps')
export class AppsController {
  constructor(private readonly apps: AppsService) {}

  @Post()
  @Roles('admin')
  @ApiOperation({ summary: 'Create a host app scoped to tenants (or "*"); returns its API key once' })
  @ApiBodyFrom(createAppSchema)
  create(@Body(validBody(createAppSchema)) body: CreateAppInput, @CurrentPrincipal() principal: Principal) {
    return this.apps.create(body, actorOf(principal));
  }
}
