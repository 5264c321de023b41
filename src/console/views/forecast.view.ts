import type { StaffUser } from '../../auth/staff/staff-session.js';
import type { ForecastChange } from '../../reports/forecast.js';
import type { ForecastReport } from '../../reports/forecast.service.js';
import { html, layout, SafeHtml } from '../html.js';

export interface ForecastPage {
  staff: StaffUser;
  csrfToken: string;
  report: ForecastReport;
  /** The changes tried, as the form sent them (shown again in the form). */
  changes: ForecastChange[];
  /** The budget typed in, if any. */
  seatBudget?: number;
}

const selected = (on: boolean) => (on ? new SafeHtml(' selected') : '');

/**
 * The what-if page: a form of the tenants that matter (on drill, with viewers in the window, or changed)
 * with a tier, cap and fallback to try each, and a budget; the forecast beside what holds today. The
 * form is a GET: nothing is applied.
 */
export function forecastView({ staff, csrfToken, report, changes, seatBudget }: ForecastPage): string {
  const changeOf = new Map(changes.map((c) => [c.tenant, c]));
  const shown = report.tenants.filter((t) => t.tierNow === 'drill' || t.viewers > 0 || changeOf.has(t.tenant));
  const priced = report.currency !== undefined;
  const money = (n: number | undefined) => (n === undefined ? '' : `${n} ${report.currency}`);
  const body = html`<p class="muted">Try changes without applying them. Each tenant on the drill tier needs one seat per distinct viewer over the last ${report.window.days} days (${report.window.from} to ${report.window.to}; usage counted since ${report.window.firstUsageDay ?? 'no day yet'}); the budget goes first to tenants on drill today, then to those moved to drill, smaller needs first. Viewers left without a seat fall back as the tenant's setting says.</p>
<div class="cards"><div class="card"><b id="billable">${report.billable}</b>seats billed (now ${report.current.billable})</div>
${priced ? html`<div class="card"><b id="cost">${money(report.costPerMonth)}</b>per month (now ${money(report.current.costPerMonth)})</div>` : ''}
<div class="card"><b>${report.seatBudget}</b>budget (now ${report.currentSeatBudget})</div>
<div class="card"><b id="fallback">${report.fallsBackToGuest.length + report.denied.length}</b>tenants falling back</div></div>
${report.fallsBackToGuest.length ? html`<p>Falling back to guest: <b id="falls-back">${report.fallsBackToGuest.join(', ')}</b></p>` : ''}
${report.denied.length ? html`<p>Denied: <b id="denied">${report.denied.join(', ')}</b></p>` : ''}
<form method="get" action="/console/reports/forecast">
<p><label>Seat budget <input name="budget" type="number" min="0" value="${seatBudget ?? ''}" placeholder="${report.currentSeatBudget}" aria-label="seat budget"></label>
<label>Window (days) <input name="window" type="number" min="1" max="366" value="${report.window.days}" aria-label="window"></label> <button>Forecast</button> <a href="/console/reports/forecast">Reset</a></p>
<table id="forecast"><tr><th>Tenant</th><th>Now</th><th>Viewers</th><th>Tier</th><th>Cap</th><th>When seats run out</th><th>Seats needed</th><th>Seats</th><th>Falls back</th></tr>
${shown.map((t) => {
  const change = changeOf.get(t.tenant);
  const cap = change?.seatCap === undefined ? '' : change.seatCap === null ? 'none' : String(change.seatCap);
  return html`<tr data-tenant="${t.tenant}"><td><b>${t.tenant}</b><br><span class="muted">${t.kind}</span></td><td>${t.tierNow}, ${t.seatsHeldNow} held</td><td class="viewers">${t.viewers}</td>
<td><select name="tier.${t.tenant}" aria-label="tier of ${t.tenant}"><option value="">unchanged</option><option value="view"${selected(change?.tier === 'view')}>view</option><option value="drill"${selected(change?.tier === 'drill')}>drill</option></select></td>
<td><input name="cap.${t.tenant}" value="${cap}" placeholder="${t.seatCap ?? 'none'}" size="6" aria-label="cap of ${t.tenant}"></td>
<td><select name="ose.${t.tenant}" aria-label="fallback of ${t.tenant}"><option value="">unchanged (${t.onSeatsExhausted})</option><option value="guest"${selected(change?.onSeatsExhausted === 'guest')}>guest</option><option value="deny"${selected(change?.onSeatsExhausted === 'deny')}>deny</option></select></td>
<td class="needed">${t.seatsNeeded}</td><td class="seats">${t.seats}</td><td class="fallback">${t.fallback ? `${t.fallback.viewers} to ${t.fallback.mode} (${t.fallback.reasons.join(', ')})` : ''}</td></tr>`;
})}</table></form>
<p class="muted">Tenants on the view tier with no viewer in the window are not shown: they would need no seat.</p>`;
  return layout({ title: 'Seat forecast', active: 'forecast', staff, csrfToken, body });
}
