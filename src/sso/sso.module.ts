import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module.js';
import { RateLimitsModule } from '../rate-limits/rate-limits.module.js';
import { SeatsModule } from '../seats/seats.module.js';
import { SsoController } from './sso.controller.js';
import { SsoService } from './sso.service.js';

/** SSO identities and one-time launch links (GET /v1/launch/{id}). */
@Module({ imports: [SeatsModule, AuditModule, RateLimitsModule], providers: [SsoService], controllers: [SsoController], exports: [SsoService] })
export class SsoModule {}
