import { Body, Controller, Get, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { actorOf, type Principal } from '../auth/principal.js';
import { CurrentPrincipal } from '../auth/current-principal.decorator.js';
import { Roles } from '../auth/roles.decorator.js';
import { ApiBodyFrom, ApiQueryFrom } from '../common/openapi.js';
import { pageQuery } from '../common/pagination.js';
import { validBody, validQuery } from '../common/zod-validation.pipe.js';
import { createResourceSchema, ResourcesService, type CreateResourceInput } from './resources.service.js';

const listQuery = z.strictObject({ ...pageQuery });

@ApiTags('resources')
@ApiBearerAuth()
@Controller('v1/resources')
export class ResourcesController {
  constructor(private readonly resources: ResourcesService) {}

  @Post()
  @Roles('admin')
  @ApiOperation({ summary: 'Register a Metabase dashboard or question that may be embedded' })
  @ApiBodyFrom(createResourceSchema)
  create(@Body(validBody(createResourceSchema)) body: CreateResourceInput, @CurrentPrincipal() principal: Principal) {
    return this.resources.create(body, actorOf(principal));
  }

  @Get()
  @Roles('admin', 'app')
  @ApiOperation({ summary: 'List resources, paged by key' })
  @ApiQueryFrom(listQuery)
  list(@Query(validQuery(listQuery)) query: z.output<typeof listQuery>) {
    return this.resources.list(query.limit, query.cursor);
  }
}
