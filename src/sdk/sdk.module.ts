import { Module } from '@nestjs/common';
import { AppsModule } from '../apps/apps.module.js';
import { EmbedsModule } from '../embeds/embeds.module.js';
import { OidcModule } from '../oidc/oidc.module.js';
import { RateLimitsModule } from '../rate-limits/rate-limits.module.js';
import { ViewerSessionsModule } from '../viewer-sessions/viewer-sessions.module.js';
import { SdkProviders } from './sdk-providers.service.js';
import { SdkController } from './sdk.controller.js';
import { ViewerGuard } from './viewer.guard.js';

/** The provider endpoints Metabase's embedding SDK and embed.js call from the browser (/v1/sdk/*). */
@Module({
  imports: [EmbedsModule, ViewerSessionsModule, OidcModule, AppsModule, RateLimitsModule],
  providers: [SdkProviders, ViewerGuard],
  controllers: [SdkController],
})
export class SdkModule {}
