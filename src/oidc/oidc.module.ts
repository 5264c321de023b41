import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module.js';
import { CacheModule } from '../cache/cache.module.js';
import { OidcKeys } from './oidc-keys.service.js';
import { OidcProviderRepository } from './oidc-provider.repository.js';
import { OidcProvidersService } from './oidc-providers.service.js';
import { OidcViewers } from './oidc-viewers.service.js';
import { OidcController } from './oidc.controller.js';

/** Host apps' OIDC identity providers: the admin API (PUT/GET/DELETE /v1/apps/{id}/oidc) and OidcViewers, which verifies their tokens. */
@Module({
  imports: [AuditModule, CacheModule],
  providers: [OidcProviderRepository, OidcProvidersService, OidcKeys, OidcViewers],
  controllers: [OidcController],
  exports: [OidcViewers],
})
export class OidcModule {}
