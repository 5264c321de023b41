import { Body, Controller, Get, Param, Post, Query, Req, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { AuditService } from '../audit/audit.service.js';
import type { StaffRole, StaffUser } from '../auth/saml/saml.strategy.js';
import { Public } from '../auth/roles.decorator.js';
import { ApiError } from '../common/api-error.js';
import { validBody, validQuery } from '../common/zod-validation.pipe.js';
import { LicenseReconciliation } from '../license/license-reconciliation.service.js';
import { LicenseService } from '../license/license.service.js';
import { seatUsageCsv } from '../reports/csv.js';
import { SeatUsageReports, type SeatUsageReport } from '../reports/seat-usage.service.js';
import { TenantsService } from '../tenants/tenants.service.js';
import { auditPageQuery, reportRangeQuery, setTierForm, tenantsPageQuery } from './console-forms.js';
import { html, layout, SafeHtml, simplePage } from './html.js';
import { checkCsrf, hasRole, SignInRequired } from './staff-session.js';


const DAY = 86_400_000;
const isoDay = (d: Date) => d.toISOString().slice(0, 10);

/** The report's days: the given ones (checked calendar dates), else the last 30; at most 366. */
function parseRange(from?: Date, to?: Date) {
  const end = to ?? new Date(`${isoDay(new Date())}T00:00:00Z`);
  let start = from ?? new Date(end.getTime() - 29 * DAY);
  if (start > end || (end.getTime() - start.getTime()) / DAY > 365) start = new Date(end.getTime() - 29 * DAY);
  return { start, end };
}

/** The admin and finance console: server-rendered pages behind SAML sign-in. */
@ApiExcludeController()
@Controller('console')
export class ConsoleController {
  constructor(
    private readonly tenants: TenantsService,
    private readonly license: LicenseService,
    private readonly reconciliation: LicenseReconciliation,
    private readonly reports: SeatUsageReports,
    private readonly audit: AuditService,
  ) {}

  /** The signed-in person, checked against the absolute timeout and the roles the page needs. */
  private staff(request: FastifyRequest, ...roles: StaffRole[]): StaffUser {
    const session = request.session;
    const staff = session?.staff;
    if (!staff || !session.signedInAt || Date.now() - session.signedInAt > (request.server as unknown as { consoleAbsoluteMs: number }).consoleAbsoluteMs) {
      throw new SignInRequired(request.url);
    }
    if (roles.length && !hasRole(staff, ...roles)) throw new ApiError(403, 'forbidden', `this page needs the role ${roles.join(' or ')}`);
    return staff;
  }

  private page(reply: FastifyReply, request: FastifyRequest, staff: StaffUser, title: string, active: string, body: SafeHtml, flash?: string) {
    void reply
      .type('text/html; charset=utf-8')
      .header('cache-control', 'no-store')
      .send(layout({ title, active, staff, csrfToken: reply.generateCsrf(), body, flash }));
  }

  @Get()
  @Public()
  root(@Req() request: FastifyRequest, @Res() reply: FastifyReply) {
    this.staff(request);
    void reply.redirect('/console/tenants', 302);
  }

  @Get('signed-out')
  @Public()
  signedOut(@Res() reply: FastifyReply) {
    void reply.type('text/html; charset=utf-8').send(simplePage('Signed out', html`<p>You are signed out. <a href="/console">Sign in again</a></p>`));
  }

  @Get('tenants')
  @Public()
  async tenantsPage(
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
    @Query(validQuery(tenantsPageQuery)) query: z.output<typeof tenantsPageQuery>,
  ) {
    const staff = this.staff(request);
    const { kind, tier } = query;
    const q = query.q ?? '';
    const rows = await this.tenants.search({ q, kind, tier });
    const canToggle = hasRole(staff, 'admin');
    const csrf = reply.generateCsrf();
    const body = html`
<form method="get" action="/console/tenants">
  <input name="q" placeholder="Search slug or name" value="${q}" aria-label="search">
  <select name="kind" aria-label="kind"><option value="">any kind</option>${['internal', 'external'].map((k) => html`<option ${k === kind ? new SafeHtml('selected') : ''}>${k}</option>`)}</select>
  <select name="tier" aria-label="tier"><option value="">any tier</option>${['view', 'drill'].map((t) => html`<option ${t === tier ? new SafeHtml('selected') : ''}>${t}</option>`)}</select>
  <button>Filter</button></form><p></p>
<table><thead><tr><th>Tenant</th><th>Kind</th><th>Tier</th><th>Status</th><th>Seats held / cap</th>${canToggle ? html`<th>Drill-through</th>` : ''}</tr></thead><tbody>
${rows.map(
  (t) => html`<tr data-tenant="${t.slug}"><td><b>${t.slug}</b><br><span class="muted">${t.name}</span></td><td>${t.kind}</td><td class="tier">${t.tier}</td><td>${t.status}</td>
<td class="seats">${t.seatsHeld} / ${t.seatCap ?? '∞'}</td>${
    canToggle
      ? html`<td><form class="inline" method="post" action="/console/tenants/${t.slug}/tier"><input type="hidden" name="_csrf" value="${csrf}">
<input type="hidden" name="tier" value="${t.tier === 'drill' ? 'view' : 'drill'}"><button class="${t.tier === 'drill' ? 'warn' : ''}">${t.tier === 'drill' ? 'Downgrade to view' : 'Upgrade to drill'}</button></form></td>`
      : ''
  }</tr>`,
)}</tbody></table>${rows.length === 200 ? html`<p class="muted">Showing the first 200; narrow the search.</p>` : ''}`;
    void reply
      .type('text/html; charset=utf-8')
      .header('cache-control', 'no-store')
      .send(layout({ title: 'Tenants', active: 'tenants', staff, csrfToken: csrf, body, flash: query.flash }));
  }

  @Post('tenants/:slug/tier')
  @Public()
  async setTier(
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
    @Param('slug') slug: string,
    @Body(validBody(setTierForm)) body: z.output<typeof setTierForm>,
  ) {
    const staff = this.staff(request, 'admin');
    await checkCsrf(request, reply);
    const tenant = await this.tenants.get(slug);
    if (body.tier === 'view' && tenant.tier === 'drill' && body.confirm !== 'yes') {
      const csrf = reply.generateCsrf();
      return this.page(
        reply,
        request,
        staff,
        `Downgrade ${tenant.slug} to view?`,
        'tenants',
        html`<p>Downgrading <b>${tenant.slug}</b> to the view tier releases <b id="release-count">${tenant.seatsHeld}</b> seat${tenant.seatsHeld === 1 ? '' : 's'}: its users lose drill-through and get view-only guest embeds, and their Metabase accounts are deactivated.</p>
<form method="post" action="/console/tenants/${tenant.slug}/tier"><input type="hidden" name="_csrf" value="${csrf}"><input type="hidden" name="tier" value="view"><input type="hidden" name="confirm" value="yes">
<p><input name="reason" placeholder="Reason (optional)" size="40"></p><button class="warn">Release ${tenant.seatsHeld} seats and downgrade</button> <a href="/console/tenants">Cancel</a></form>`,
      );
    }
    const result = await this.tenants.setTier(slug, { tier: body.tier, reason: body.reason }, `staff:${staff.nameId}`);
    const flash = `${slug} is now on the ${body.tier} tier${result.releasedSeats ? `; ${result.releasedSeats} seats released` : ''}.`;
    void reply.redirect(`/console/tenants?flash=${encodeURIComponent(flash)}`, 303);
  }

  @Get('license')
  @Public()
  async licensePage(@Req() request: FastifyRequest, @Res() reply: FastifyReply) {
    const staff = this.staff(request);
    const license = await this.license.get();
    const used = license.seatBudget ? Math.min(1, license.seatsHeld / license.seatBudget) : 1;
    let drift: SafeHtml = html`<p class="muted">Reconciliation with Metabase is off (no METABASE_API_KEY).</p>`;
    try {
      const r = await this.reconciliation.reconcile();
      drift = html`<h2>Reconciliation with Metabase</h2><div class="cards">
<div class="card"><b>${r.billedWithoutSeat.length}</b>billed without a seat</div>
<div class="card"><b>${r.seatsWithoutActiveUser.length}</b>seats without an active user</div>
<div class="card"><b>${r.deactivations.pending}</b>deactivations pending</div></div>
${r.billedWithoutSeat.length ? html`<table><tr><th>Billed Metabase user without a seat</th><th>Superuser</th></tr>${r.billedWithoutSeat.map((u) => html`<tr><td>${u.email}</td><td>${u.isSuperuser ? 'yes' : ''}</td></tr>`)}</table>` : ''}`;
    } catch (error) {
      if (!(error instanceof ApiError) || error.code !== 'metabase_api_not_configured') {
        drift = html`<p class="muted">Reconciliation failed: ${(error as Error).message}</p>`;
      }
    }
    const gauge = new SafeHtml(
      `<svg width="320" height="28" role="img" aria-label="${license.seatsHeld} of ${license.seatBudget} seats"><rect width="320" height="28" rx="4" fill="#e3e6ef"/><rect width="${Math.round(320 * used)}" height="28" rx="4" fill="${used >= 1 ? '#c2410c' : used > 0.8 ? '#d97706' : '#3157d5'}"/></svg>`,
    );
    this.page(
      reply,
      request,
      staff,
      'License',
      'license',
      html`<div class="cards"><div class="card"><b id="budget">${license.seatBudget}</b>seat budget</div><div class="card"><b id="held">${license.seatsHeld}</b>seats held</div><div class="card"><b id="available">${license.seatsAvailable}</b>available</div></div>
${gauge}<h2>By tenant</h2><table><tr><th>Tenant</th><th>Seats held</th><th>Cap</th></tr>${license.byTenant.map((t) => html`<tr><td>${t.slug}</td><td>${t.seatsHeld}</td><td>${t.seatCap ?? '∞'}</td></tr>`)}</table>${drift}`,
    );
  }

  @Get('reports/seat-usage')
  @Public()
  async reportPage(@Req() request: FastifyRequest, @Res() reply: FastifyReply, @Query(validQuery(reportRangeQuery)) query: z.output<typeof reportRangeQuery>) {
    const staff = this.staff(request, 'finance', 'admin');
    const { start, end } = parseRange(query.from, query.to);
    const report = await this.reports.build(start, end);
    const range = `from=${report.from}&to=${report.to}`;
    this.page(
      reply,
      request,
      staff,
      'Seat usage',
      'reports',
      html`<form method="get"><label>From <input type="date" name="from" value="${report.from}"></label> <label>To <input type="date" name="to" value="${report.to}"></label> <button>Show</button>
<a class="button" id="csv" href="/console/reports/seat-usage.csv?${range}" download>Download CSV</a></form>
<div class="cards"><div class="card"><b>${report.totals.peakSeats}</b>peak seats</div><div class="card"><b>${report.totals.seatDays}</b>seat-days</div>
<div class="card"><b>${report.totals.budget}</b>budget</div>${report.totals.cost !== undefined ? html`<div class="card"><b>${report.totals.cost} ${report.currency}</b>cost</div>` : ''}</div>
${chart(report)}<h2>By tenant</h2><table><tr><th>Tenant</th><th>Peak seats</th><th>Seat-days</th>${report.currency ? html`<th>Cost (${report.currency})</th>` : ''}</tr>
${report.tenants.map((t) => html`<tr><td>${t.tenant}</td><td>${t.peakSeats}</td><td>${t.seatDays}</td>${report.currency ? html`<td>${t.cost}</td>` : ''}</tr>`)}</table>`,
    );
  }

  @Get('reports/seat-usage.csv')
  @Public()
  async reportCsv(@Req() request: FastifyRequest, @Res() reply: FastifyReply, @Query(validQuery(reportRangeQuery)) query: z.output<typeof reportRangeQuery>) {
    this.staff(request, 'finance', 'admin');
    const { start, end } = parseRange(query.from, query.to);
    const report = await this.reports.build(start, end);
    void reply
      .type('text/csv; charset=utf-8')
      .header('content-disposition', `attachment; filename="seat-usage-${report.from}-to-${report.to}.csv"`)
      .send(seatUsageCsv(report));
  }

  @Get('audit')
  @Public()
  async auditPage(@Req() request: FastifyRequest, @Res() reply: FastifyReply, @Query(validQuery(auditPageQuery)) query: z.output<typeof auditPageQuery>) {
    const staff = this.staff(request, 'admin');
    const { type } = query;
    const page = await this.audit.list({ type, limit: 200 });
    this.page(
      reply,
      request,
      staff,
      'Audit',
      'audit',
      html`<form method="get"><input name="type" placeholder="type, e.g. tenant.tier_changed" value="${type ?? ''}"> <button>Filter</button></form><p></p>
<table><tr><th>When</th><th>Type</th><th>Actor</th><th>Tenant</th><th>Details</th></tr>${page.items.map(
        (e) => html`<tr><td>${e.at.replace('T', ' ').slice(0, 19)}</td><td>${e.type}</td><td>${e.actor}</td><td>${e.tenant ?? ''}</td><td><code>${JSON.stringify(e.data).slice(0, 200)}</code></td></tr>`,
      )}</table>`,
    );
  }
}

/** Daily peak seats held (bars) against the budget (line), as an inline SVG. */
function chart(report: SeatUsageReport): SafeHtml {
  const width = 900;
  const height = 220;
  const pad = 30;
  const days = report.daily;
  const max = Math.max(1, ...days.map((d) => Math.max(d.peakSeats, d.budget)));
  const x = (i: number) => pad + (i * (width - 2 * pad)) / Math.max(1, days.length);
  const y = (v: number) => height - pad - (v * (height - 2 * pad)) / max;
  const barWidth = Math.max(1, (width - 2 * pad) / Math.max(1, days.length) - 2);
  const bars = days
    .map((d, i) => `<rect x="${x(i).toFixed(1)}" y="${y(d.peakSeats).toFixed(1)}" width="${barWidth.toFixed(1)}" height="${(height - pad - y(d.peakSeats)).toFixed(1)}" fill="${d.peakSeats > d.budget ? '#c2410c' : '#3157d5'}"><title>${d.date}: ${d.peakSeats} seats (budget ${d.budget})</title></rect>`)
    .join('');
  const budget = days.map((d, i) => `${x(i).toFixed(1)},${y(d.budget).toFixed(1)} ${(x(i) + barWidth).toFixed(1)},${y(d.budget).toFixed(1)}`).join(' ');
  return new SafeHtml(
    `<svg id="usage-chart" width="${width}" height="${height}" role="img" aria-label="Daily peak seats held against the budget" style="background:#fff;border:1px solid #e3e6ef">` +
      `<text x="${pad}" y="16" font-size="12" fill="#6b7280">peak seats held per day (bars) · budget (line) · max ${max}</text>${bars}` +
      `<polyline points="${budget}" fill="none" stroke="#c2410c" stroke-width="2" stroke-dasharray="4 3"/>` +
      `<text x="${pad}" y="${height - 8}" font-size="11" fill="#6b7280">${days[0]?.date ?? ''}</text><text x="${width - pad - 70}" y="${height - 8}" font-size="11" fill="#6b7280">${days.at(-1)?.date ?? ''}</text></svg>`,
  );
}
