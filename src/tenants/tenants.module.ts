import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module.js';
import { CacheModule } from '../cache/cache.module.js';
import { SeatsModule } from '../seats/seats.module.js';
import { TenantRepository } from './tenant.repository.js';
import { TenantsController } from './tenants.controller.js';
import { TenantsService } from './tenants.service.js';

@Module({
  imports: [SeatsModule, AuditModule, CacheModule],
  providers: [TenantRepository, TenantsService],
  controllers: [TenantsController],
  exports: [TenantsService],
})
export class TenantsModule {}
