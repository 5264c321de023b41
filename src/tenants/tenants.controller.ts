import { Body, Controller, Get, Param, Patch, Post, Put, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { actorOf, type Principal } from '../auth/principal.js';
import { CurrentPrincipal } from '../auth/current-principal.decorator.js';
import { Roles } from '../auth/roles.decorator.js';
import { ApiError } from '../common/api-error.js';
import { ApiBodyFrom, ApiQueryFrom } from '../common/openapi.js';
import { pageQuery } from '../common/pagination.js';
import { validBody, validQuery } from '../common/zod-validation.pipe.js';
import {
  createTenantSchema,
  setTierSchema,
  SLUG_PATTERN,
  updateTenantSchema,
  type CreateTenantInput,
  type SetTierInput,
  type UpdateTenantInput,
} from './tenant.dto.js';
import { TenantsService } from './tenants.service.js';

const listQuery = z.strictObject({ ...pageQuery });

function checkSlug(slug: string): string {
  if (!SLUG_PATTERN.test(slug)) throw new ApiError(404, 'tenant_not_found', 'tenant not found');
  return slug;
}

@ApiTags('tenants')
@ApiBearerAuth()
@Controller('v1/tenants')
export class TenantsController {
  constructor(private readonly tenants: TenantsService) {}

  @Post()
  @Roles('admin')
  @ApiOperation({ summary: 'Create a tenant' })
  @ApiBodyFrom(createTenantSchema)
  create(@Body(validBody(createTenantSchema)) body: CreateTenantInput, @CurrentPrincipal() principal: Principal) {
    return this.tenants.create(body, actorOf(principal));
  }

  @Get()
  @Roles('admin', 'finance')
  @ApiOperation({ summary: 'List tenants, paged by slug' })
  @ApiQueryFrom(listQuery)
  list(@Query(validQuery(listQuery)) query: z.output<typeof listQuery>) {
    return this.tenants.list(query.limit, query.cursor);
  }

  @Get(':slug')
  @Roles('admin', 'finance')
  @ApiOperation({ summary: 'One tenant, with the number of seats it holds' })
  get(@Param('slug') slug: string) {
    return this.tenants.get(checkSlug(slug));
  }

  @Patch(':slug')
  @Roles('admin')
  @ApiOperation({ summary: 'Change name, seatCap, onSeatsExhausted, attributes, groups or status; suspending releases seats' })
  @ApiBodyFrom(updateTenantSchema)
  update(@Param('slug') slug: string, @Body(validBody(updateTenantSchema)) body: UpdateTenantInput, @CurrentPrincipal() principal: Principal) {
    return this.tenants.update(checkSlug(slug), body, actorOf(principal));
  }

  @Put(':slug/tier')
  @Roles('admin')
  @ApiOperation({ summary: 'Set the drill-through tier; a downgrade to view releases the tenant’s seats' })
  @ApiBodyFrom(setTierSchema)
  setTier(@Param('slug') slug: string, @Body(validBody(setTierSchema)) body: SetTierInput, @CurrentPrincipal() principal: Principal) {
    return this.tenants.setTier(checkSlug(slug), body, actorOf(principal));
  }
}
