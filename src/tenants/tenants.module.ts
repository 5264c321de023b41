import { Module } from '@nestjs/common';
import { SeatsModule } from '../seats/seats.module.js';
import { TenantsController } from './tenants.controller.js';
import { TenantsService } from './tenants.service.js';

@Module({ imports: [SeatsModule], providers: [TenantsService], controllers: [TenantsController], exports: [TenantsService] })
export class TenantsModule {}
