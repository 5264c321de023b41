import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module.js';
import { MetabaseModule } from '../metabase/metabase.module.js';
import { SeatLedger } from './seat-ledger.service.js';
import { SeatRepository } from './seat.repository.js';
import { SeatReclaimScheduler } from './seat-reclaim.scheduler.js';
import { SeatsController } from './seats.controller.js';

@Module({
  imports: [MetabaseModule, AuditModule],
  providers: [SeatLedger, SeatRepository, SeatReclaimScheduler],
  controllers: [SeatsController],
  exports: [SeatLedger, SeatReclaimScheduler],
})
export class SeatsModule {}
