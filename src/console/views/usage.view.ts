import type { StaffUser } from '../../auth/staff/staff-session.js';
import type { UsageReport } from '../../usage/usage.service.js';
import { html, layout } from '../html.js';

/** The page shows at most this many day rows; the CSV has them all. */
const USAGE_PAGE_ROWS = 500;

/** Embed usage: totals, by tenant (distinct viewers over the range), the day rows, and the CSV. */
export function usageView({ staff, csrfToken, report }: { staff: StaffUser; csrfToken: string; report: UsageReport }): string {
  const query = `from=${report.from}&to=${report.to}${report.tenant ? `&tenant=${report.tenant}` : ''}`;
  const body = html`<form method="get"><label>From <input type="date" name="from" value="${report.from}"></label> <label>To <input type="date" name="to" value="${report.to}"></label>
<label>Tenant <input name="tenant" value="${report.tenant ?? ''}" placeholder="any" size="16"></label> <button>Show</button>
<a class="button" id="csv" href="/console/reports/usage.csv?${query}" download>Download CSV</a></form>
<p class="muted">Embeds by the policy's decision, per UTC day; viewers are distinct user ids that got a guest or SSO embed (a person once over the range, per tenant). Counted since ${report.firstDay ?? 'no day yet'}.</p>
<div class="cards"><div class="card"><b id="guest">${report.totals.guest}</b>guest embeds</div><div class="card"><b id="sso">${report.totals.sso}</b>SSO embeds</div>
<div class="card"><b id="denied">${report.totals.denied}</b>denied</div><div class="card"><b id="viewers">${report.totals.viewers}</b>distinct viewers</div></div>
<h2>By tenant</h2><table id="tenants"><tr><th>Tenant</th><th>Guest</th><th>SSO</th><th>Denied</th><th>Distinct viewers</th></tr>
${report.tenants.map((t) => html`<tr data-tenant="${t.tenant}"><td>${t.tenant}</td><td>${t.guest}</td><td>${t.sso}</td><td>${t.denied}</td><td class="viewers">${t.viewers}</td></tr>`)}</table>
<h2>By day and resource</h2><table id="rows"><tr><th>Day</th><th>Tenant</th><th>Resource</th><th>Guest</th><th>SSO</th><th>Denied</th><th>Viewers</th></tr>
${report.rows
  .slice(0, USAGE_PAGE_ROWS)
  .map(
    (r) =>
      html`<tr><td>${r.date}</td><td>${r.tenant}</td><td>${r.resource || '(none)'}</td><td>${r.guest}</td><td>${r.sso}</td><td>${r.denied}</td><td>${r.viewers}</td></tr>`,
  )}</table>
${report.rows.length > USAGE_PAGE_ROWS ? html`<p class="muted">Showing the first ${USAGE_PAGE_ROWS} of ${report.rows.length} rows; the CSV has them all.</p>` : ''}`;
  return layout({ title: 'Embed usage', active: 'usage', staff, csrfToken, body });
}
