import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module.js';
import { CacheModule } from '../cache/cache.module.js';
import { AuthModule } from '../auth/auth.module.js';
import { TenantsModule } from '../tenants/tenants.module.js';
import { AppRepository } from './app.repository.js';
import { AppsController } from './apps.controller.js';
import { AppsService } from './apps.service.js';

@Module({
  imports: [AuthModule, AuditModule, CacheModule, TenantsModule],
  providers: [AppRepository, AppsService],
  controllers: [AppsController],
  exports: [AppsService],
})
export class AppsModule {}
