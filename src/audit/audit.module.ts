import { Module } from '@nestjs/common';
import { AuditController } from './audit.controller.js';

/** GET /v1/audit. AuditService itself is global (CoreModule): every write records through it. */
@Module({ controllers: [AuditController] })
export class AuditModule {}
