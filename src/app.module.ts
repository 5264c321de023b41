import { Module, type DynamicModule } from '@nestjs/common';
import { ScheduleModule } from '@nestjs/schedule';
import { AppsModule } from './apps/apps.module.js';
import { AuditModule } from './audit/audit.module.js';
import { AuthModule } from './auth/auth.module.js';
import { SamlModule } from './auth/saml/saml.module.js';
import { CacheModule } from './cache/cache.module.js';
import type { Config } from './config/config.js';
import { ConsoleModule } from './console/console.module.js';
import { ConfigModule } from './config/config.module.js';
import { DatabaseModule } from './database/database.module.js';
import { DemoModule } from './demo/demo.module.js';
import { EmbedsModule } from './embeds/embeds.module.js';
import { SdkModule } from './sdk/sdk.module.js';
import { ViewerSessionsModule } from './viewer-sessions/viewer-sessions.module.js';
import { HealthModule } from './health/health.module.js';
import { LicenseModule } from './license/license.module.js';
import { MetricsModule } from './metrics/metrics.module.js';
import { OidcModule } from './oidc/oidc.module.js';
import { RateLimitsModule } from './rate-limits/rate-limits.module.js';
import { ReportsModule } from './reports/reports.module.js';
import { ResourcesModule } from './resources/resources.module.js';
import { RetentionModule } from './retention/retention.module.js';
import { SeatsModule } from './seats/seats.module.js';
import { TenantsModule } from './tenants/tenants.module.js';
import { UsageModule } from './usage/usage.module.js';
import { WebhooksModule } from './webhooks/webhooks.module.js';

@Module({})
export class AppModule {
  static forRoot(config: Config): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        DatabaseModule,
        ScheduleModule.forRoot(),
        RateLimitsModule,
        MetricsModule,
        CacheModule,
        AuthModule,
        TenantsModule,
        ResourcesModule,
        AppsModule,
        OidcModule,
        SeatsModule,
        LicenseModule,
        EmbedsModule,
        ViewerSessionsModule,
        SdkModule,
        UsageModule,
        ReportsModule,
        AuditModule,
        HealthModule,
        RetentionModule,
        WebhooksModule,
        SamlModule.forRoot(config),
        ConsoleModule.forRoot(config),
        DemoModule.forRoot(config),
      ],
    };
  }
}
