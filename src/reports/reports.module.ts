import { Module } from '@nestjs/common';
import { LicenseModule } from '../license/license.module.js';
import { ReportsController } from './reports.controller.js';
import { SeatUsageRepository } from './seat-usage.repository.js';
import { SeatUsageReports } from './seat-usage.service.js';

@Module({ imports: [LicenseModule], providers: [SeatUsageReports, SeatUsageRepository], controllers: [ReportsController], exports: [SeatUsageReports] })
export class ReportsModule {}
