import { Controller, Get, Headers, Query, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { z } from 'zod';
import { calendarDate } from '../common/text.js';
import { Roles } from '../auth/roles.decorator.js';
import { ApiError } from '../common/api-error.js';
import { ApiQueryFrom } from '../common/openapi.js';
import { validQuery } from '../common/zod-validation.pipe.js';
import { seatUsageCsv } from './csv.js';
import { SeatUsageReports } from './seat-usage.service.js';

const MAX_DAYS = 366;
const reportQueryFields = z.strictObject({
  from: calendarDate('from').optional(),
  to: calendarDate('to').optional(),
  format: z.enum(['json', 'csv']).optional(),
});
const reportQuery = reportQueryFields.transform((q) => {
  const to = q.to ?? new Date(new Date().toISOString().slice(0, 10) + 'T00:00:00Z');
  return { ...q, to, from: q.from ?? new Date(to.getTime() - 29 * 86_400_000) };
});

@ApiTags('reports')
@ApiBearerAuth()
@Controller('v1/reports')
export class ReportsController {
  constructor(private readonly reports: SeatUsageReports) {}

  @Get('seat-usage')
  @Roles('finance', 'admin')
  @ApiOperation({
    summary:
      'Daily seat usage per tenant (UTC days, from/to inclusive, at most 366 days; default the last 30): peak seats and seat-days, totals against the budget, cost when SEAT_PRICE_PER_DAY is set. CSV with Accept: text/csv or ?format=csv',
  })
  @ApiProduces('application/json', 'text/csv')
  @ApiQueryFrom(reportQueryFields)
  async seatUsage(
    @Query(validQuery(reportQuery)) query: z.output<typeof reportQuery>,
    @Headers('accept') accept: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    if (query.to < query.from) throw new ApiError(400, 'validation_error', 'to is before from');
    const days = Math.round((query.to.getTime() - query.from.getTime()) / 86_400_000) + 1;
    if (days > MAX_DAYS) throw new ApiError(400, 'range_too_large', `the range is ${days} days; at most ${MAX_DAYS}`);
    const report = await this.reports.build(query.from, query.to);
    const csv = query.format === 'csv' || (query.format === undefined && /\btext\/csv\b/.test(accept ?? ''));
    if (!csv) return report;
    const body = seatUsageCsv(report);
    void reply
      .header('content-type', 'text/csv; charset=utf-8')
      .header('content-disposition', `attachment; filename="seat-usage-${report.from}-to-${report.to}.csv"`);
    return body;
  }
}
