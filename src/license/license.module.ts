import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module.js';
import { MetabaseModule } from '../metabase/metabase.module.js';
import { SeatsModule } from '../seats/seats.module.js';
import { LicenseReconciliation } from './license-reconciliation.service.js';
import { LicenseController } from './license.controller.js';
import { LicenseRepository } from './license.repository.js';
import { LicenseService } from './license.service.js';

@Module({
  imports: [SeatsModule, MetabaseModule, AuditModule],
  providers: [LicenseService, LicenseRepository, LicenseReconciliation],
  controllers: [LicenseController],
  exports: [LicenseService, LicenseReconciliation],
})
export class LicenseModule {}
