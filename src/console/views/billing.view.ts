import type { StaffUser } from '../../auth/staff/staff-session.js';
import type { BillingReport } from '../../reports/billing.service.js';
import { html, layout, SafeHtml } from '../html.js';

/** What Metabase bills: totals, the daily chart, each day beside the ledger and Metabase, by tenant, and the CSV. */
export function billingView({ staff, csrfToken, report }: { staff: StaffUser; csrfToken: string; report: BillingReport }): string {
  const range = `from=${report.from}&to=${report.to}`;
  const priced = report.currency !== undefined;
  const body = html`<form method="get"><label>From <input type="date" name="from" value="${report.from}"></label> <label>To <input type="date" name="to" value="${report.to}"></label> <button>Show</button>
<a class="button" id="csv" href="/console/reports/billing.csv?${range}" download>Download CSV</a></form>
<p class="muted">Metabase's rule: each day's count is the most seats held at any instant of the 36 hours before the day's end (UTC: noon of the day before to midnight), attributed to the tenants holding them when the most were held.</p>
<div class="cards"><div class="card"><b id="billable-seat-days">${report.totals.billableSeatDays}</b>billable seat-days</div><div class="card"><b>${report.totals.billablePeak}</b>highest daily count</div>
<div class="card"><b>${report.totals.ledgerPeak}</b>ledger's peak</div><div class="card"><b>${report.totals.overBudgetDays}</b>days over budget</div>${priced ? html`<div class="card"><b id="cost">${report.totals.cost} ${report.currency}</b>cost</div>` : ''}</div>
${chart(report)}
<p class="muted">${report.metabaseSnapshots ? "Metabase's active users: the highest of the snapshots taken in each day's 36-hour window." : "Metabase's active users are not snapshot (needs METABASE_API_KEY and METABASE_SNAPSHOT_INTERVAL_MINUTES)."}</p>
<h2>By day</h2><table id="days"><tr><th>Day</th><th>Billable</th><th>Ledger's peak</th><th>Metabase active users</th><th>Budget</th>${priced ? html`<th>Cost (${report.currency})</th>` : ''}<th>By tenant</th></tr>
${report.daily.map(
  (d) =>
    html`<tr data-date="${d.date}"><td>${d.date}</td><td class="billable">${d.billable}${d.overBudget ? html` <span class="muted">(over budget)</span>` : ''}</td><td>${d.ledgerPeak}</td><td>${d.metabaseActiveUsers ?? '–'}</td><td>${d.budget}</td>${priced ? html`<td>${d.cost}</td>` : ''}<td>${d.byTenant.map((t) => `${t.tenant} ${t.seats}`).join(', ')}</td></tr>`,
)}</table>
<h2>By tenant</h2><table id="tenants"><tr><th>Tenant</th><th>Billable seat-days</th>${priced ? html`<th>Cost (${report.currency})</th>` : ''}</tr>
${report.tenants.map((t) => html`<tr><td>${t.tenant}</td><td>${t.seatDays}</td>${priced ? html`<td>${t.cost}</td>` : ''}</tr>`)}</table>`;
  return layout({ title: 'What Metabase bills', active: 'billing', staff, csrfToken, body });
}

/** Daily billable count (bars) against the ledger's peak (line), the budget (dashed) and Metabase's count (dots), as an inline SVG. */
function chart(report: BillingReport): SafeHtml {
  const width = 900;
  const height = 240;
  const pad = 30;
  const days = report.daily;
  const max = Math.max(1, ...days.map((d) => Math.max(d.billable, d.ledgerPeak, d.budget, d.metabaseActiveUsers ?? 0)));
  const step = (width - 2 * pad) / Math.max(1, days.length);
  const x = (i: number) => pad + i * step;
  const y = (v: number) => height - pad - (v * (height - 2 * pad)) / max;
  const barWidth = Math.max(1, step - 2);
  const bars = days.map(
    (d, i) =>
      html`<rect x="${x(i).toFixed(1)}" y="${y(d.billable).toFixed(1)}" width="${barWidth.toFixed(1)}" height="${(height - pad - y(d.billable)).toFixed(1)}" fill="${d.overBudget ? '#c2410c' : '#3157d5'}"><title>${d.date}: ${d.billable} billable, ledger's peak ${d.ledgerPeak}, budget ${d.budget}</title></rect>`,
  );
  const mid = (i: number) => (x(i) + barWidth / 2).toFixed(1);
  const peak = days.map((d, i) => `${mid(i)},${y(d.ledgerPeak).toFixed(1)}`).join(' ');
  const budget = days.map((d, i) => `${x(i).toFixed(1)},${y(d.budget).toFixed(1)} ${(x(i) + barWidth).toFixed(1)},${y(d.budget).toFixed(1)}`).join(' ');
  const metabase = days.flatMap((d, i) =>
    d.metabaseActiveUsers === null
      ? []
      : [
          html`<circle cx="${mid(i)}" cy="${y(d.metabaseActiveUsers).toFixed(1)}" r="3.5" fill="#059669"><title>${d.date}: Metabase ${d.metabaseActiveUsers} active users</title></circle>`,
        ],
  );
  return html`<svg id="billing-chart" width="${width}" height="${height}" role="img" aria-label="Daily billable seats against the ledger's peak, the budget and Metabase's active users" style="background:#fff;border:1px solid #e3e6ef">
<text x="${pad}" y="16" font-size="12" fill="#6b7280">billable per day (bars) · ledger's peak (line) · budget (dashed) · Metabase active users (dots) · max ${max}</text>${bars}
<polyline points="${peak}" fill="none" stroke="#1d2433" stroke-width="1.5"/><polyline points="${budget}" fill="none" stroke="#c2410c" stroke-width="2" stroke-dasharray="4 3"/>${metabase}
<text x="${pad}" y="${height - 8}" font-size="11" fill="#6b7280">${days[0]?.date ?? ''}</text><text x="${width - pad - 70}" y="${height - 8}" font-size="11" fill="#6b7280">${days.at(-1)?.date ?? ''}</text></svg>`;
}
