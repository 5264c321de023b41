import { Body, Controller, Get, HttpCode, Post, Put } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { actorOf, type Principal } from '../auth/principal.js';
import { CurrentPrincipal } from '../auth/current-principal.decorator.js';
import { Roles } from '../auth/roles.decorator.js';
import { ApiBodyFrom } from '../common/openapi.js';
import { text } from '../common/text.js';
import { validBody } from '../common/zod-validation.pipe.js';
import { MetabaseStatusService } from './metabase-status.service.js';

const failClosedSchema = z.strictObject({
  enabled: z.boolean({ error: 'enabled must be true or false' }),
  reason: text({ min: 3, max: 500 }),
});

const syncSchema = z.strictObject({ dryRun: z.boolean().default(true) });

@ApiTags('metabase')
@ApiBearerAuth()
@Controller('v1/metabase')
export class MetabaseStatusController {
  constructor(private readonly metabase: MetabaseStatusService) {}

  @Get('status')
  @Roles('admin', 'finance')
  @ApiOperation({ summary: "Metabase's configuration check: the last one's findings (code, severity, object, fix), proven tenants, the fail-closed switch" })
  status() {
    return this.metabase.status();
  }

  @Post('check')
  @Roles('admin')
  @HttpCode(200)
  @ApiOperation({ summary: 'Run the configuration check now; answers the status it leaves' })
  async check() {
    await this.metabase.check();
    return this.metabase.status();
  }

  @Post('sync')
  @Roles('admin')
  @HttpCode(200)
  @ApiOperation({ summary: 'Plan (dryRun, the default) or apply the sync: groups, JWT mappings, settings, tenants, embedding; each applied step audited' })
  @ApiBodyFrom(syncSchema)
  sync(@Body(validBody(syncSchema)) body: z.output<typeof syncSchema>, @CurrentPrincipal() principal: Principal) {
    return this.metabase.sync({ dryRun: body.dryRun, actor: actorOf(principal) });
  }

  @Put('fail-closed')
  @Roles('admin')
  @ApiOperation({ summary: 'Turn fail-closed on or off (with a reason, audited): off lets unproven external tenants have SSO' })
  @ApiBodyFrom(failClosedSchema)
  async setFailClosed(@Body(validBody(failClosedSchema)) body: z.output<typeof failClosedSchema>, @CurrentPrincipal() principal: Principal) {
    const setting = await this.metabase.setFailClosed(body, actorOf(principal));
    return { enabled: setting.enabled, reason: setting.reason, actor: setting.actor, changedAt: setting.changedAt?.toISOString() ?? null };
  }
}
