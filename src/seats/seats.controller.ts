import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { actorOf, type Principal } from '../auth/principal.js';
import { CurrentPrincipal } from '../auth/current-principal.decorator.js';
import { Roles } from '../auth/roles.decorator.js';
import { ApiBodyFrom, ApiQueryFrom } from '../common/openapi.js';
import { pageQuery } from '../common/pagination.js';
import { validBody, validQuery } from '../common/zod-validation.pipe.js';
import { slugSchema } from '../tenants/tenant.dto.js';
import { SeatLedger } from './seat-ledger.service.js';

const seatsQuery = z.strictObject({ tenant: slugSchema.optional(), ...pageQuery });

const reclaimSchema = z.strictObject({
  idleDays: z.number({ error: 'idleDays must be a number of days' }).int('idleDays must be a whole number').min(1, 'idleDays must be at least 1').max(3650),
  dryRun: z.boolean().default(false),
});

@ApiTags('seats')
@ApiBearerAuth()
@Controller('v1/seats')
export class SeatsController {
  constructor(private readonly ledger: SeatLedger) {}

  @Get()
  @Roles('admin', 'finance')
  @ApiOperation({ summary: 'Seats held, with heldSince and lastUsedAt; ?tenant= narrows to one tenant' })
  @ApiQueryFrom(seatsQuery)
  list(@Query(validQuery(seatsQuery)) query: z.output<typeof seatsQuery>) {
    return this.ledger.list({ tenant: query.tenant, limit: query.limit, cursor: query.cursor });
  }

  @Post('reclaim')
  @Roles('admin')
  @HttpCode(200)
  @ApiOperation({ summary: 'Release the seats unused for idleDays (dryRun: only list them)' })
  @ApiBodyFrom(reclaimSchema)
  reclaim(@Body(validBody(reclaimSchema)) body: z.output<typeof reclaimSchema>, @CurrentPrincipal() principal: Principal) {
    return this.ledger.reclaim(body.idleDays, body.dryRun, actorOf(principal));
  }

  @Delete(':id')
  @Roles('admin')
  @HttpCode(200)
  @ApiOperation({ summary: 'Release one seat: it is free for the next user at once' })
  async release(@Param('id') id: string, @CurrentPrincipal() principal: Principal) {
    const released = await this.ledger.release(id, 'admin', actorOf(principal));
    return { id: released.id, released: true };
  }
}
