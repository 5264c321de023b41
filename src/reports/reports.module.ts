import { Module } from '@nestjs/common';
import { ReportsController } from './reports.controller.js';
import { SeatUsageReports } from './seat-usage.service.js';

@Module({ providers: [SeatUsageReports], controllers: [ReportsController], exports: [SeatUsageReports] })
export class ReportsModule {}
