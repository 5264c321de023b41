import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module.js';
import { MetricsModule } from '../metrics/metrics.module.js';
import { ResourcesModule } from '../resources/resources.module.js';
import { TenantsModule } from '../tenants/tenants.module.js';
import { FailClosedRepository } from './fail-closed.repository.js';
import { MetabaseAccounts } from './metabase-accounts.service.js';
import { MetabaseSafety } from './metabase-safety.service.js';
import { MetabaseStatusController } from './metabase-status.controller.js';
import { MetabaseStatusService } from './metabase-status.service.js';

/**
 * Metabase in step: the configuration check (scheduled, on demand), GET /v1/metabase/status, the sync,
 * the fail-closed switch, MetabaseSafety (what the embed path asks) and MetabaseAccounts (the accounts
 * embedgate creates with METABASE_USER_PROVISIONING=embedgate). Its own module because it
 * reads tenants and resources, whose modules reach MetabaseModule through the seat ledger.
 */
@Module({
  imports: [TenantsModule, ResourcesModule, AuditModule, MetricsModule],
  providers: [MetabaseStatusService, MetabaseSafety, MetabaseAccounts, FailClosedRepository],
  controllers: [MetabaseStatusController],
  exports: [MetabaseStatusService, MetabaseSafety, MetabaseAccounts],
})
export class MetabaseStatusModule {}
