import type { StaffUser } from '../../auth/staff/staff-session.js';
import type { Reconciliation } from '../../license/license-reconciliation.service.js';
import type { LicenseView } from '../../license/license.service.js';
import { html, layout, SafeHtml } from '../html.js';

/** The reconciliation with Metabase as the page shows it: its report, off (no API key), or why it failed. */
export type ReconciliationOutcome = { report: Reconciliation } | { off: true } | { failed: string };

export interface LicensePage {
  staff: StaffUser;
  csrfToken: string;
  license: LicenseView;
  reconciliation: ReconciliationOutcome;
}

/** The seat budget, what is held (a gauge), by tenant, and the drift from Metabase's billed users. */
export function licenseView({ staff, csrfToken, license, reconciliation }: LicensePage): string {
  const used = license.seatBudget ? Math.min(1, license.seatsHeld / license.seatBudget) : 1;
  const gauge = new SafeHtml(
    `<svg width="320" height="28" role="img" aria-label="${license.seatsHeld} of ${license.seatBudget} seats"><rect width="320" height="28" rx="4" fill="#e3e6ef"/><rect width="${Math.round(320 * used)}" height="28" rx="4" fill="${used >= 1 ? '#c2410c' : used > 0.8 ? '#d97706' : '#3157d5'}"/></svg>`,
  );
  const body = html`<div class="cards"><div class="card"><b id="budget">${license.seatBudget}</b>seat budget</div><div class="card"><b id="held">${license.seatsHeld}</b>seats held</div><div class="card"><b id="available">${license.seatsAvailable}</b>available</div></div>
${gauge}<h2>By tenant</h2><table><tr><th>Tenant</th><th>Seats held</th><th>Cap</th></tr>${license.byTenant.map((t) => html`<tr><td>${t.slug}</td><td>${t.seatsHeld}</td><td>${t.seatCap ?? '∞'}</td></tr>`)}</table>${drift(reconciliation)}`;
  return layout({ title: 'License', active: 'license', staff, csrfToken, body });
}

function drift(outcome: ReconciliationOutcome): SafeHtml {
  if ('off' in outcome) return html`<p class="muted">Reconciliation with Metabase is off (no METABASE_API_KEY).</p>`;
  if ('failed' in outcome) return html`<p class="muted">Reconciliation failed: ${outcome.failed}</p>`;
  const r = outcome.report;
  return html`<h2>Reconciliation with Metabase</h2><div class="cards">
<div class="card"><b>${r.billedWithoutSeat.length}</b>billed without a seat</div>
<div class="card"><b>${r.seatsWithoutActiveUser.length}</b>seats without an active user</div>
<div class="card"><b>${r.deactivations.pending}</b>deactivations pending</div></div>
${r.billedWithoutSeat.length ? html`<table><tr><th>Billed Metabase user without a seat</th><th>Superuser</th></tr>${r.billedWithoutSeat.map((u) => html`<tr><td>${u.email}</td><td>${u.isSuperuser ? 'yes' : ''}</td></tr>`)}</table>` : ''}`;
}
