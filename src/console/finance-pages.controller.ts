import { Controller, Get, Query, Res, UseFilters } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { z } from 'zod';
import type { StaffUser } from '../auth/staff/staff-session.js';
import { CurrentStaff, Staff } from '../auth/staff/staff.decorator.js';
import { StaffPages } from '../auth/staff/staff.guard.js';
import { ApiError } from '../common/api-error.js';
import { text } from '../common/text.js';
import { reportRangeQuery } from './console-forms.js';
import { describeIssues, validQuery } from '../common/zod-validation.pipe.js';
import { BillingReports } from '../reports/billing.service.js';
import { billingCsv, usageCsv } from '../reports/csv.js';
import { forecastSchema } from '../reports/forecast.dto.js';
import type { ForecastChange } from '../reports/forecast.js';
import { SeatForecasts } from '../reports/forecast.service.js';
import { UsageReports } from '../usage/usage.service.js';
import { ConsoleExceptionsFilter } from './console-exceptions.filter.js';
import { billingView } from './views/billing.view.js';
import { forecastView } from './views/forecast.view.js';
import { usageView } from './views/usage.view.js';
import { DAY_MS, isoDay } from '../common/days.js';
import { sendPage } from '../common/html.js';

/** A form's empty field is "not given". */
const emptyAsUnset = <T extends z.ZodType>(schema: T) => z.union([schema, z.literal('').transform(() => undefined)]).optional();

const usagePageQuery = reportRangeQuery.extend({
  tenant: emptyAsUnset(text({ max: 63, trim: true }).regex(/^[a-z0-9-]{1,63}$/, 'tenant is a tenant slug: lowercase letters, digits and -')),
});

/**
 * The forecast form (a GET: nothing is applied): `budget`, `window`, and per tenant `tier.<slug>`,
 * `cap.<slug>` (a number, or `none`) and `ose.<slug>` (guest or deny); empty fields leave the tenant's
 * setting as it is. Then the API's own body schema checks the changes.
 */
const forecastPageQuery = z
  .record(text({ max: 80 }), text({ max: 20, trim: true }))
  .refine((query) => Object.keys(query).length <= 3 * 2000 + 2, 'too many fields')
  .transform((query, ctx) => {
    const changes = new Map<string, ForecastChange>();
    const change = (tenant: string) => changes.get(tenant) ?? changes.set(tenant, { tenant }).get(tenant)!;
    let seatBudget: number | undefined;
    let windowDays: number | undefined;
    const whole = (name: string, value: string) => {
      if (!/^\d{1,8}$/.test(value)) ctx.addIssue({ code: 'custom', path: [name], message: `${name} must be a whole number` });
      return Number(value);
    };
    for (const [name, value] of Object.entries(query)) {
      if (value === '') continue;
      const field = /^(tier|cap|ose)\.([a-z0-9-]{1,63})$/.exec(name);
      if (name === 'budget') seatBudget = whole(name, value);
      else if (name === 'window') windowDays = whole(name, value);
      else if (!field) ctx.addIssue({ code: 'custom', path: [name], message: `${name} is not a field of this form` });
      else if (field[1] === 'tier') change(field[2]).tier = value as ForecastChange['tier'];
      else if (field[1] === 'ose') change(field[2]).onSeatsExhausted = value as ForecastChange['onSeatsExhausted'];
      else change(field[2]).seatCap = value === 'none' ? null : whole(name, value);
    }
    const parsed = forecastSchema.safeParse({ changes: [...changes.values()], seatBudget, windowDays });
    if (!parsed.success) {
      ctx.addIssue({ code: 'custom', message: describeIssues(parsed.error) });
      return z.NEVER;
    }
    return parsed.data;
  });

/** The report's days: the given ones (checked calendar dates), else the last 30; at most 366. */
function parseRange(from?: Date, to?: Date) {
  const end = to ?? new Date(`${isoDay(new Date())}T00:00:00Z`);
  const start = from ?? new Date(end.getTime() - 29 * DAY_MS);
  if (start > end) throw new ApiError(400, 'validation_error', 'to is before from');
  if ((end.getTime() - start.getTime()) / DAY_MS > 365) throw new ApiError(400, 'range_too_large', 'the range is over 366 days');
  return { start, end };
}

const sendCsv = (reply: FastifyReply, filename: string, csv: string) =>
  void reply.type('text/csv; charset=utf-8').header('content-disposition', `attachment; filename="${filename}"`).send(csv);

/**
 * The finance pages of the console: what Metabase bills (and its CSV), embed usage (and its CSV), and
 * the seat forecast. Finance and admins; same sign-in, guard and error pages as the other pages.
 */
@ApiExcludeController()
@StaffPages()
@UseFilters(ConsoleExceptionsFilter)
@Controller('console/reports')
export class FinancePagesController {
  constructor(
    private readonly billing: BillingReports,
    private readonly usage: UsageReports,
    private readonly forecasts: SeatForecasts,
  ) {}

  @Get('billing')
  @Staff('finance', 'admin')
  async billingPage(
    @CurrentStaff() staff: StaffUser,
    @Res() reply: FastifyReply,
    @Query(validQuery(reportRangeQuery)) query: z.output<typeof reportRangeQuery>,
  ) {
    const { start, end } = parseRange(query.from, query.to);
    sendPage(reply, billingView({ staff, csrfToken: reply.generateCsrf(), report: await this.billing.build(start, end) }));
  }

  @Get('billing.csv')
  @Staff('finance', 'admin')
  async billingCsv(@Res() reply: FastifyReply, @Query(validQuery(reportRangeQuery)) query: z.output<typeof reportRangeQuery>) {
    const { start, end } = parseRange(query.from, query.to);
    const report = await this.billing.build(start, end);
    sendCsv(reply, `billing-${report.from}-to-${report.to}.csv`, billingCsv(report));
  }

  @Get('usage')
  @Staff('finance', 'admin')
  async usagePage(@CurrentStaff() staff: StaffUser, @Res() reply: FastifyReply, @Query(validQuery(usagePageQuery)) query: z.output<typeof usagePageQuery>) {
    const { start, end } = parseRange(query.from, query.to);
    sendPage(reply, usageView({ staff, csrfToken: reply.generateCsrf(), report: await this.usage.build(start, end, query.tenant) }));
  }

  @Get('usage.csv')
  @Staff('finance', 'admin')
  async usageCsv(@Res() reply: FastifyReply, @Query(validQuery(usagePageQuery)) query: z.output<typeof usagePageQuery>) {
    const { start, end } = parseRange(query.from, query.to);
    const report = await this.usage.build(start, end, query.tenant);
    sendCsv(reply, `usage-${report.from}-to-${report.to}.csv`, usageCsv(report));
  }

  @Get('forecast')
  @Staff('finance', 'admin')
  async forecastPage(
    @CurrentStaff() staff: StaffUser,
    @Res() reply: FastifyReply,
    @Query(validQuery(forecastPageQuery)) query: z.output<typeof forecastPageQuery>,
  ) {
    const report = await this.forecasts.forecast(query);
    sendPage(reply, forecastView({ staff, csrfToken: reply.generateCsrf(), report, changes: query.changes, seatBudget: query.seatBudget }));
  }
}
