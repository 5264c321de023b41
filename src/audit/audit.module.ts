import { Module } from '@nestjs/common';
import { AuditController } from './audit.controller.js';
import { AuditRepository } from './audit.repository.js';
import { AuditService } from './audit.service.js';

/** The audit trail: every write records through AuditService; GET /v1/audit reads it. */
@Module({ providers: [AuditService, AuditRepository], controllers: [AuditController], exports: [AuditService] })
export class AuditModule {}
