import { Module } from '@nestjs/common';
import { AppsModule } from '../apps/apps.module.js';
import { ResourcesModule } from '../resources/resources.module.js';
import { SeatsModule } from '../seats/seats.module.js';
import { TenantsModule } from '../tenants/tenants.module.js';
import { EmbedsController } from './embeds.controller.js';
import { EmbedsService } from './embeds.service.js';

@Module({
  imports: [TenantsModule, ResourcesModule, AppsModule, SeatsModule],
  providers: [EmbedsService],
  controllers: [EmbedsController],
})
export class EmbedsModule {}
