import { Body, Controller, Get, Put } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { actorOf, type Principal } from '../auth/principal.js';
import { CurrentPrincipal } from '../auth/current-principal.decorator.js';
import { Roles } from '../auth/roles.decorator.js';
import { ApiBodyFrom } from '../common/openapi.js';
import { validBody } from '../common/zod-validation.pipe.js';
import { LicenseReconciliation } from './license-reconciliation.service.js';
import { LicenseService } from './license.service.js';

const setBudgetSchema = z.strictObject({
  seatBudget: z.number().int('seatBudget must be a whole number').min(0).max(10_000_000),
  force: z.boolean().optional(),
});

@ApiTags('license')
@ApiBearerAuth()
@Controller('v1/license')
export class LicenseController {
  constructor(
    private readonly license: LicenseService,
    private readonly reconciliation: LicenseReconciliation,
  ) {}

  @Get()
  @Roles('admin', 'finance')
  @ApiOperation({ summary: 'Seat budget, seats held and available, by tenant' })
  get() {
    return this.license.get();
  }

  @Get('reconciliation')
  @Roles('admin', 'finance')
  @ApiOperation({
    summary: 'Metabase users billed without a seat, and seats whose Metabase user is missing or inactive (needs METABASE_API_KEY)',
  })
  reconcile() {
    return this.reconciliation.reconcile();
  }

  @Put()
  @Roles('admin')
  @ApiOperation({ summary: 'Set the seat budget; below seats held needs force (409 otherwise)' })
  @ApiBodyFrom(setBudgetSchema)
  set(@Body(validBody(setBudgetSchema)) body: z.output<typeof setBudgetSchema>, @CurrentPrincipal() principal: Principal) {
    return this.license.setBudget(body.seatBudget, body.force ?? false, actorOf(principal));
  }
}
