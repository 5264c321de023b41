import { Controller, Get, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { dateTime, text } from '../common/text.js';
import { pageQuery } from '../common/pagination.js';
import { validQuery } from '../common/zod-validation.pipe.js';
import { Roles } from '../auth/roles.decorator.js';
import { ApiQueryFrom } from '../common/openapi.js';
import { AuditService } from './audit.service.js';

const auditQuery = z.strictObject({
  type: text({ max: 100, min: 1 }).optional(),
  tenant: text({ max: 63, min: 1 }).optional(),
  from: dateTime('from').optional(),
  to: dateTime('to').optional(),
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
