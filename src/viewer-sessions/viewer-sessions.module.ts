import { Module } from '@nestjs/common';
import { AppsModule } from '../apps/apps.module.js';
import { RateLimitsModule } from '../rate-limits/rate-limits.module.js';
import { TenantsModule } from '../tenants/tenants.module.js';
import { ViewerSessionRepository } from './viewer-session.repository.js';
import { ViewerSessionsController } from './viewer-sessions.controller.js';
import { ViewerSessionsService } from './viewer-sessions.service.js';

/** Viewer sessions (POST/DELETE /v1/viewer-sessions, the one-time exchange): the cookie identity of the provider endpoints. */
@Module({
  imports: [TenantsModule, AppsModule, RateLimitsModule],
  providers: [ViewerSessionsService, ViewerSessionRepository],
  controllers: [ViewerSessionsController],
  exports: [ViewerSessionsService],
})
export class ViewerSessionsModule {}
