import { Module } from '@nestjs/common';
import { SeatLedger } from './seat-ledger.service.js';
import { SeatsController } from './seats.controller.js';

@Module({ providers: [SeatLedger], controllers: [SeatsController], exports: [SeatLedger] })
export class SeatsModule {}
