import { Module } from '@nestjs/common';
import { TenantsModule } from '../tenants/tenants.module.js';
import { UsageRollup } from './usage-rollup.service.js';
import { UsageRepository } from './usage.repository.js';
import { UsageReports } from './usage.service.js';

/**
 * The embed usage roll-up: UsageRollup counts each decided embed request in memory and flushes the
 * counts per instance (the embed path records, off its latency); UsageReports reads them (the usage
 * report, the forecast's distinct viewers). GET /v1/reports/usage is served by the reports module.
 */
@Module({
  imports: [TenantsModule],
  providers: [UsageRepository, UsageRollup, UsageReports],
  exports: [UsageRollup, UsageReports],
})
export class UsageModule {}
