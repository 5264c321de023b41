import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module.js';
import { CacheModule } from '../cache/cache.module.js';
import { RateLimitsModule } from '../rate-limits/rate-limits.module.js';
import { APP_GUARD } from '@nestjs/core';
import { ApiKeyGuard } from './api-key.guard.js';
import { ApiKeyRepository } from './api-key.repository.js';
import { ApiKeysService } from './api-keys.service.js';
import { KeysController } from './keys.controller.js';

@Module({
  imports: [AuditModule, CacheModule, RateLimitsModule],
  providers: [ApiKeyRepository, ApiKeysService, { provide: APP_GUARD, useClass: ApiKeyGuard }],
  controllers: [KeysController],
  exports: [ApiKeysService],
})
export class AuthModule {}
