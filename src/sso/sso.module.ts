import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module.js';
import { MetabaseModule } from '../metabase/metabase.module.js';
import { MetabaseStatusModule } from '../metabase-status/metabase-status.module.js';
import { RateLimitsModule } from '../rate-limits/rate-limits.module.js';
import { SeatsModule } from '../seats/seats.module.js';
import { TenantsModule } from '../tenants/tenants.module.js';
import { SsoController } from './sso.controller.js';
import { SsoLaunchRepository } from './sso-launch.repository.js';
import { SsoService } from './sso.service.js';

/** SSO identities and one-time launch links (GET /v1/launch/{id}). */
@Module({
  imports: [SeatsModule, TenantsModule, AuditModule, RateLimitsModule, MetabaseModule, MetabaseStatusModule],
  providers: [SsoService, SsoLaunchRepository],
  controllers: [SsoController],
  exports: [SsoService],
})
export class SsoModule {}
