import { Body, Controller, Get, Headers, HttpCode, Post, Query, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { z } from 'zod';
import { Roles } from '../auth/roles.decorator.js';
import { ApiError } from '../common/api-error.js';
import { ApiBodyFrom, ApiQueryFrom } from '../common/openapi.js';
import { calendarDate, patternText } from '../common/text.js';
import { validBody, validQuery } from '../common/zod-validation.pipe.js';
import { UsageReports } from '../usage/usage.service.js';
import { BillingReports } from './billing.service.js';
import { billingCsv, seatUsageCsv, usageCsv } from './csv.js';
import { forecastSchema, type ForecastRequest } from './forecast.dto.js';
import { SeatForecasts } from './forecast.service.js';
import { SeatUsageReports } from './seat-usage.service.js';

const MAX_DAYS = 366;
const reportQueryFields = z.strictObject({
  from: calendarDate('from').optional(),
  to: calendarDate('to').optional(),
  format: z.enum(['json', 'csv']).optional(),
});
/** The default range: the last 30 UTC days, today included. */
const withDefaultRange = <Q extends { from?: Date; to?: Date }>(q: Q) => {
  const to = q.to ?? new Date(new Date().toISOString().slice(0, 10) + 'T00:00:00Z');
  return { ...q, to, from: q.from ?? new Date(to.getTime() - 29 * 86_400_000) };
};
const reportQuery = reportQueryFields.transform(withDefaultRange);
const usageQueryFields = reportQueryFields.extend({
  tenant: patternText(63, /^[a-z0-9-]{1,63}$/, 'tenant is a tenant slug: 1-63 lowercase letters, digits and -').optional(),
});
const usageQuery = usageQueryFields.transform(withDefaultRange);

/** A range of at most MAX_DAYS days, from before to (else 400). */
function checkRange(query: { from: Date; to: Date }): void {
  if (query.to < query.from) throw new ApiError(400, 'validation_error', 'to is before from');
  const days = Math.round((query.to.getTime() - query.from.getTime()) / 86_400_000) + 1;
  if (days > MAX_DAYS) throw new ApiError(400, 'range_too_large', `the range is ${days} days; at most ${MAX_DAYS}`);
}

/** CSV when ?format=csv, or without ?format when Accept names text/csv. */
const wantsCsv = (format: 'json' | 'csv' | undefined, accept: string | undefined) =>
  format === 'csv' || (format === undefined && /\btext\/csv\b/.test(accept ?? ''));

function sendCsv(reply: FastifyReply, filename: string, body: string): string {
  void reply.header('content-type', 'text/csv; charset=utf-8').header('content-disposition', `attachment; filename="${filename}"`);
  return body;
}

@ApiTags('reports')
@ApiBearerAuth()
@Controller('v1/reports')
export class ReportsController {
  constructor(
    private readonly reports: SeatUsageReports,
    private readonly billing: BillingReports,
    private readonly usage: UsageReports,
    private readonly forecasts: SeatForecasts,
  ) {}

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
    checkRange(query);
    const report = await this.reports.build(query.from, query.to);
    if (!wantsCsv(query.format, accept)) return report;
    return sendCsv(reply, `seat-usage-${report.from}-to-${report.to}.csv`, seatUsageCsv(report));
  }

  @Get('billing')
  @Roles('finance', 'admin')
  @ApiOperation({
    summary:
      "What Metabase bills, by its rule (UTC days, from/to inclusive, at most 366; default the last 30): per day the billable count, the most seats held at any instant of [end of the day - 36 h, end of the day), attributed to tenants by their seats in the state that reached it; the ledger's own peak, the budget, the cost with SEAT_PRICE_PER_DAY, and Metabase's active users where snapshots were taken. CSV with Accept: text/csv or ?format=csv",
  })
  @ApiProduces('application/json', 'text/csv')
  @ApiQueryFrom(reportQueryFields)
  async billingReport(
    @Query(validQuery(reportQuery)) query: z.output<typeof reportQuery>,
    @Headers('accept') accept: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    checkRange(query);
    const report = await this.billing.build(query.from, query.to);
    if (!wantsCsv(query.format, accept)) return report;
    return sendCsv(reply, `billing-${report.from}-to-${report.to}.csv`, billingCsv(report));
  }

  @Get('usage')
  @Roles('finance', 'admin')
  @ApiOperation({
    summary:
      'Embeds per UTC day, tenant and resource (from/to inclusive, at most 366 days; default the last 30), by mode (guest, sso, denied), with distinct viewers (user ids of guest and SSO embeds); per tenant and in total over the range. ?tenant= narrows it to one tenant. CSV with Accept: text/csv or ?format=csv',
  })
  @ApiProduces('application/json', 'text/csv')
  @ApiQueryFrom(usageQueryFields)
  async usageReport(
    @Query(validQuery(usageQuery)) query: z.output<typeof usageQuery>,
    @Headers('accept') accept: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    checkRange(query);
    const report = await this.usage.build(query.from, query.to, query.tenant);
    if (!wantsCsv(query.format, accept)) return report;
    return sendCsv(reply, `usage-${report.from}-to-${report.to}.csv`, usageCsv(report));
  }

  @Post('forecast')
  @HttpCode(200)
  @Roles('finance', 'admin')
  @ApiOperation({
    summary:
      'What-if, applied to nothing: with tenants moved to drill or view, caps, a new budget, the seats each tenant would need (its distinct viewers over the last windowDays, default 30) and get, who would fall back to guest or be denied, the billable count and the cost per month (30 days × SEAT_PRICE_PER_DAY)',
  })
  @ApiBodyFrom(forecastSchema)
  forecast(@Body(validBody(forecastSchema)) body: ForecastRequest) {
    return this.forecasts.forecast(body);
  }
}
