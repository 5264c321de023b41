import { Module } from '@nestjs/common';
import { AppsModule } from '../apps/apps.module.js';
import { ResourcesModule } from '../resources/resources.module.js';
import { SeatsModule } from '../seats/seats.module.js';
import { SsoController } from '../sso/sso.controller.js';
import { SsoModule } from '../sso/sso.module.js';
import { TenantsModule } from '../tenants/tenants.module.js';
import { EmbedsController } from './embeds.controller.js';
import { EmbedsService } from './embeds.service.js';

/** Embeds, and the SSO endpoints built on the same decision path (launch links, the SDK's JWT). */
@Module({
  imports: [TenantsModule, ResourcesModule, AppsModule, SeatsModule, SsoModule],
  providers: [EmbedsService],
  controllers: [EmbedsController, SsoController],
})
export class EmbedsModule {}
