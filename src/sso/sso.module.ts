import { Module } from '@nestjs/common';
import { SeatsModule } from '../seats/seats.module.js';
import { SsoService } from './sso.service.js';

@Module({ imports: [SeatsModule], providers: [SsoService], exports: [SsoService] })
export class SsoModule {}
