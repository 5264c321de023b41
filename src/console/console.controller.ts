import { Body, Controller, Get, Param, Post, Query, Req, Res, UseFilters } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { AuditService } from '../audit/audit.service.js';
import { checkCsrf, type StaffUser } from '../auth/staff/staff-session.js';
import { CurrentStaff, SignInNotNeeded, Staff } from '../auth/staff/staff.decorator.js';
import { StaffPages } from '../auth/staff/staff.guard.js';
import { ApiError } from '../common/api-error.js';
import { validBody, validQuery } from '../common/zod-validation.pipe.js';
import { LicenseReconciliation } from '../license/license-reconciliation.service.js';
import { LicenseService } from '../license/license.service.js';
import { MetabaseStatusService } from '../metabase-status/metabase-status.service.js';
import { seatUsageCsv } from '../reports/csv.js';
import { SeatUsageReports } from '../reports/seat-usage.service.js';
import { TenantsService } from '../tenants/tenants.service.js';
import { ConsoleExceptionsFilter } from './console-exceptions.filter.js';
import { auditPageQuery, reportRangeQuery, setTierForm, tenantsPageQuery } from './console-forms.js';
import { auditView } from './views/audit.view.js';
import { licenseView, type ReconciliationOutcome } from './views/license.view.js';
import { metabaseView } from './views/metabase.view.js';
import { signedOutView } from './views/pages.view.js';
import { seatUsageView } from './views/seat-usage.view.js';
import { downgradeConfirmView, tenantsView } from './views/tenants.view.js';
import { DAY_MS, isoDay } from '../common/days.js';
import { sendPage } from '../common/html.js';

/** The report's days: the given ones (checked calendar dates), else the last 30; at most 366. */
function parseRange(from?: Date, to?: Date) {
  const end = to ?? new Date(`${isoDay(new Date())}T00:00:00Z`);
  let start = from ?? new Date(end.getTime() - 29 * DAY_MS);
  if (start > end || (end.getTime() - start.getTime()) / DAY_MS > 365) start = new Date(end.getTime() - 29 * DAY_MS);
  return { start, end };
}

/**
 * The admin and finance console: server-rendered pages behind SAML sign-in. StaffGuard (through
 * @StaffPages) checks the session and each route's @Staff roles; the views render the pages; errors
 * become pages or a redirect to sign-in (ConsoleExceptionsFilter).
 */
@ApiExcludeController()
@StaffPages()
@UseFilters(ConsoleExceptionsFilter)
@Controller('console')
export class ConsoleController {
  constructor(
    private readonly tenants: TenantsService,
    private readonly license: LicenseService,
    private readonly reconciliation: LicenseReconciliation,
    private readonly reports: SeatUsageReports,
    private readonly audit: AuditService,
    private readonly metabase: MetabaseStatusService,
  ) {}

  @Get()
  @Staff('admin', 'finance', 'analyst')
  root(@Res() reply: FastifyReply) {
    void reply.redirect('/console/tenants', 302);
  }

  @Get('signed-out')
  @SignInNotNeeded()
  signedOut(@Res() reply: FastifyReply) {
    void reply.type('text/html; charset=utf-8').send(signedOutView());
  }

  @Get('tenants')
  @Staff('admin', 'finance', 'analyst')
  async tenantsPage(
    @CurrentStaff() staff: StaffUser,
    @Res() reply: FastifyReply,
    @Query(validQuery(tenantsPageQuery)) query: z.output<typeof tenantsPageQuery>,
  ) {
    const { kind, tier, flash } = query;
    const q = query.q ?? '';
    const rows = await this.tenants.search({ q, kind, tier });
    sendPage(reply, tenantsView({ staff, csrfToken: reply.generateCsrf(), q, kind, tier, rows, flash }));
  }

  @Post('tenants/:slug/tier')
  @Staff('admin')
  async setTier(
    @CurrentStaff() staff: StaffUser,
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
    @Param('slug') slug: string,
    @Body(validBody(setTierForm)) body: z.output<typeof setTierForm>,
  ) {
    await checkCsrf(request, reply);
    const tenant = await this.tenants.get(slug);
    if (body.tier === 'view' && tenant.tier === 'drill' && body.confirm !== 'yes') {
      return sendPage(reply, downgradeConfirmView({ staff, csrfToken: reply.generateCsrf(), tenant }));
    }
    const result = await this.tenants.setTier(slug, { tier: body.tier, reason: body.reason }, `staff:${staff.nameId}`);
    const flash = `${slug} is now on the ${body.tier} tier${result.releasedSeats ? `; ${result.releasedSeats} seats released` : ''}.`;
    void reply.redirect(`/console/tenants?flash=${encodeURIComponent(flash)}`, 303);
  }

  @Get('license')
  @Staff('admin', 'finance', 'analyst')
  async licensePage(@CurrentStaff() staff: StaffUser, @Res() reply: FastifyReply) {
    const license = await this.license.get();
    const reconciliation = await this.reconcile();
    sendPage(reply, licenseView({ staff, csrfToken: reply.generateCsrf(), license, reconciliation }));
  }

  @Get('metabase')
  @Staff('admin', 'finance')
  async metabasePage(@CurrentStaff() staff: StaffUser, @Res() reply: FastifyReply) {
    let failed: string | undefined;
    const status = await this.metabase.status().catch(async (error: unknown) => {
      failed = (error as Error).message;
      return this.metabase.status({ runIfNone: false });
    });
    sendPage(reply, metabaseView({ staff, csrfToken: reply.generateCsrf(), status, failed }));
  }

  @Get('reports/seat-usage')
  @Staff('finance', 'admin')
  async reportPage(
    @CurrentStaff() staff: StaffUser,
    @Res() reply: FastifyReply,
    @Query(validQuery(reportRangeQuery)) query: z.output<typeof reportRangeQuery>,
  ) {
    const { start, end } = parseRange(query.from, query.to);
    const report = await this.reports.build(start, end);
    sendPage(reply, seatUsageView({ staff, csrfToken: reply.generateCsrf(), report }));
  }

  @Get('reports/seat-usage.csv')
  @Staff('finance', 'admin')
  async reportCsv(@Res() reply: FastifyReply, @Query(validQuery(reportRangeQuery)) query: z.output<typeof reportRangeQuery>) {
    const { start, end } = parseRange(query.from, query.to);
    const report = await this.reports.build(start, end);
    void reply
      .type('text/csv; charset=utf-8')
      .header('content-disposition', `attachment; filename="seat-usage-${report.from}-to-${report.to}.csv"`)
      .send(seatUsageCsv(report));
  }

  @Get('audit')
  @Staff('admin')
  async auditPage(@CurrentStaff() staff: StaffUser, @Res() reply: FastifyReply, @Query(validQuery(auditPageQuery)) query: z.output<typeof auditPageQuery>) {
    const { type } = query;
    const page = await this.audit.list({ type, limit: 200 });
    sendPage(reply, auditView({ staff, csrfToken: reply.generateCsrf(), type, entries: page.items }));
  }

  /** The license page shows the reconciliation with Metabase when it can: off without an API key, else why it failed. */
  private async reconcile(): Promise<ReconciliationOutcome> {
    try {
      return { report: await this.reconciliation.reconcile() };
    } catch (error) {
      if (error instanceof ApiError && error.code === 'metabase_api_not_configured') return { off: true };
      return { failed: (error as Error).message };
    }
  }
}
