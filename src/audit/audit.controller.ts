import { Controller, Get, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { pageQuery } from '../common/pagination.js';
import { validQuery } from '../common/zod-validation.pipe.js';
import { Roles } from '../auth/roles.decorator.js';
import { ApiQueryFrom } from '../common/openapi.js';
import { AuditService } from './audit.service.js';

const auditQuery = z.strictObject({
  type: z.string().min(1).max(100).optional(),
  tenant: z.string().min(1).max(63).optional(),
  from: z.iso.datetime({ offset: true, error: 'from must be an ISO 8601 date-time' }).transform((s) => new Date(s)).optional(),
  to: z.iso.datetime({ offset: true, error: 'to must be an ISO 8601 date-time' }).transform((s) => new Date(s)).optional(),
  ...pageQuery,
});

@ApiTags('audit')
@ApiBearerAuth()
@Controller('v1/audit')
export class AuditController {
  constructor(private readonly audit: AuditService) {}

  @Get()
  @Roles('admin')
  @ApiOperation({ summary: 'Audit events, newest first, filterable by type, tenant, from, to' })
  @ApiQueryFrom(auditQuery)
  list(@Query(validQuery(auditQuery)) query: z.output<typeof auditQuery>) {
    return this.audit.list(query);
  }
}
