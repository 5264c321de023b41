import type { StaffUser } from '../../auth/staff/staff-session.js';
import type { SeatUsageReport } from '../../reports/seat-usage.service.js';
import { html, layout, SafeHtml } from '../html.js';

/** The seat-usage report: totals, the daily chart, by tenant, and its CSV for the same days. */
export function seatUsageView({ staff, csrfToken, report }: { staff: StaffUser; csrfToken: string; report: SeatUsageReport }): string {
  const range = `from=${report.from}&to=${report.to}`;
  const body = html`<form method="get"><label>From <input type="date" name="from" value="${report.from}"></label> <label>To <input type="date" name="to" value="${report.to}"></label> <button>Show</button>
<a class="button" id="csv" href="/console/reports/seat-usage.csv?${range}" download>Download CSV</a></form>
<div class="cards"><div class="card"><b>${report.totals.peakSeats}</b>peak seats</div><div class="card"><b>${report.totals.seatDays}</b>seat-days</div>
<div class="card"><b>${report.totals.budget}</b>budget</div>${report.totals.cost !== undefined ? html`<div class="card"><b>${report.totals.cost} ${report.currency}</b>cost</div>` : ''}</div>
${chart(report)}<h2>By tenant</h2><table><tr><th>Tenant</th><th>Peak seats</th><th>Seat-days</th>${report.currency ? html`<th>Cost (${report.currency})</th>` : ''}</tr>
${report.tenants.map((t) => html`<tr><td>${t.tenant}</td><td>${t.peakSeats}</td><td>${t.seatDays}</td>${report.currency ? html`<td>${t.cost}</td>` : ''}</tr>`)}</table>`;
  return layout({ title: 'Seat usage', active: 'reports', staff, csrfToken, body });
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
    .map(
      (d, i) =>
        `<rect x="${x(i).toFixed(1)}" y="${y(d.peakSeats).toFixed(1)}" width="${barWidth.toFixed(1)}" height="${(height - pad - y(d.peakSeats)).toFixed(1)}" fill="${d.peakSeats > d.budget ? '#c2410c' : '#3157d5'}"><title>${d.date}: ${d.peakSeats} seats (budget ${d.budget})</title></rect>`,
    )
    .join('');
  const budget = days.map((d, i) => `${x(i).toFixed(1)},${y(d.budget).toFixed(1)} ${(x(i) + barWidth).toFixed(1)},${y(d.budget).toFixed(1)}`).join(' ');
  return new SafeHtml(
    `<svg id="usage-chart" width="${width}" height="${height}" role="img" aria-label="Daily peak seats held against the budget" style="background:#fff;border:1px solid #e3e6ef">` +
      `<text x="${pad}" y="16" font-size="12" fill="#6b7280">peak seats held per day (bars) · budget (line) · max ${max}</text>${bars}` +
      `<polyline points="${budget}" fill="none" stroke="#c2410c" stroke-width="2" stroke-dasharray="4 3"/>` +
      `<text x="${pad}" y="${height - 8}" font-size="11" fill="#6b7280">${days[0]?.date ?? ''}</text><text x="${width - pad - 70}" y="${height - 8}" font-size="11" fill="#6b7280">${days.at(-1)?.date ?? ''}</text></svg>`,
  );
}
