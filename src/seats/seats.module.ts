import { Module } from '@nestjs/common';
import { MetabaseModule } from '../metabase/metabase.module.js';
import { SeatLedger } from './seat-ledger.service.js';
import { SeatReclaimScheduler } from './seat-reclaim.scheduler.js';
import { SeatsController } from './seats.controller.js';

@Module({
  imports: [MetabaseModule],
  providers: [SeatLedger, SeatReclaimScheduler],
  controllers: [SeatsController],
  exports: [SeatLedger, SeatReclaimScheduler],
})
export class SeatsModule {}
