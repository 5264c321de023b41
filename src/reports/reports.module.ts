import { Module } from '@nestjs/common';
import { LicenseModule } from '../license/license.module.js';
import { UsageModule } from '../usage/usage.module.js';
import { BillingReports } from './billing.service.js';
import { ForecastRepository } from './forecast.repository.js';
import { SeatForecasts } from './forecast.service.js';
import { MetabaseSnapshotRepository } from './metabase-snapshots.repository.js';
import { MetabaseSnapshots } from './metabase-snapshots.service.js';
import { ReportsController } from './reports.controller.js';
import { SeatUsageRepository } from './seat-usage.repository.js';
import { SeatUsageReports } from './seat-usage.service.js';

/** The finance reports: seat usage, what Metabase bills (with its active-user snapshots), embed usage and the what-if forecast. */
@Module({
  imports: [LicenseModule, UsageModule],
  providers: [SeatUsageReports, SeatUsageRepository, BillingReports, MetabaseSnapshots, MetabaseSnapshotRepository, SeatForecasts, ForecastRepository],
  controllers: [ReportsController],
  exports: [SeatUsageReports, BillingReports, SeatForecasts, UsageModule],
})
export class ReportsModule {}
