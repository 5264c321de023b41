import { Module } from '@nestjs/common';
import { AppsModule } from '../apps/apps.module.js';
import { MetabaseModule } from '../metabase/metabase.module.js';
import { MetabaseStatusModule } from '../metabase-status/metabase-status.module.js';
import { MetricsModule } from '../metrics/metrics.module.js';
import { RateLimitsModule } from '../rate-limits/rate-limits.module.js';
import { ResourcesModule } from '../resources/resources.module.js';
import { SeatsModule } from '../seats/seats.module.js';
import { SsoModule } from '../sso/sso.module.js';
import { TenantsModule } from '../tenants/tenants.module.js';
import { UsageModule } from '../usage/usage.module.js';
import { EmbedsController } from './embeds.controller.js';
import { EmbedsService } from './embeds.service.js';
import { SdkSsoController } from './sdk-sso.controller.js';

/** Embeds (POST /v1/embeds, explain) and the SDK's SSO token (POST /v1/sso/jwt): one decision path. */
@Module({
  imports: [
    TenantsModule,
    ResourcesModule,
    AppsModule,
    SeatsModule,
    SsoModule,
    MetabaseModule,
    MetabaseStatusModule,
    MetricsModule,
    RateLimitsModule,
    UsageModule,
  ],
  providers: [EmbedsService],
  controllers: [EmbedsController, SdkSsoController],
  exports: [EmbedsService],
})
export class EmbedsModule {}
