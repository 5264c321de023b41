import type { StaffUser } from '../../auth/staff/staff-session.js';
import { hasRole } from '../../auth/staff/staff-session.js';
import type { TenantView } from '../../tenants/tenants.service.js';
import { html, layout, SafeHtml } from '../html.js';

/** The tenants page shows at most this many; a search narrows it. */
export const TENANTS_PAGE_LIMIT = 200;

export interface TenantsPage {
  staff: StaffUser;
  csrfToken: string;
  q: string;
  kind?: string;
  tier?: string;
  rows: TenantView[];
  flash?: string;
}

/** Tenants with their seats; admins get a button to switch each one's tier. */
export function tenantsView({ staff, csrfToken: csrf, q, kind, tier, rows, flash }: TenantsPage): string {
  const canToggle = hasRole(staff, 'admin');
  const body = html`
<form method="get" action="/console/tenants">
  <input name="q" placeholder="Search slug or name" value="${q}" aria-label="search">
  <select name="kind" aria-label="kind"><option value="">any kind</option>${['internal', 'external'].map((k) => html`<option ${k === kind ? new SafeHtml('selected') : ''}>${k}</option>`)}</select>
  <select name="tier" aria-label="tier"><option value="">any tier</option>${['view', 'drill'].map((t) => html`<option ${t === tier ? new SafeHtml('selected') : ''}>${t}</option>`)}</select>
  <button>Filter</button></form><p></p>
<table><thead><tr><th>Tenant</th><th>Kind</th><th>Tier</th><th>Status</th><th>Seats held / cap</th>${canToggle ? html`<th>Drill-through</th>` : ''}</tr></thead><tbody>
${rows.map(
  (
    t,
  ) => html`<tr data-tenant="${t.slug}"><td><b>${t.slug}</b><br><span class="muted">${t.name}</span></td><td>${t.kind}</td><td class="tier">${t.tier}</td><td>${t.status}</td>
<td class="seats">${t.seatsHeld} / ${t.seatCap ?? '∞'}</td>${
    canToggle
      ? html`<td><form class="inline" method="post" action="/console/tenants/${t.slug}/tier"><input type="hidden" name="_csrf" value="${csrf}">
<input type="hidden" name="tier" value="${t.tier === 'drill' ? 'view' : 'drill'}"><button class="${t.tier === 'drill' ? 'warn' : ''}">${t.tier === 'drill' ? 'Downgrade to view' : 'Upgrade to drill'}</button></form></td>`
      : ''
  }</tr>`,
)}</tbody></table>${rows.length === TENANTS_PAGE_LIMIT ? html`<p class="muted">Showing the first ${TENANTS_PAGE_LIMIT}; narrow the search.</p>` : ''}`;
  return layout({ title: 'Tenants', active: 'tenants', staff, csrfToken: csrf, body, flash });
}

/** Before a downgrade: how many seats it releases, and what that does to the tenant's users. */
export function downgradeConfirmView({ staff, csrfToken: csrf, tenant }: { staff: StaffUser; csrfToken: string; tenant: TenantView }): string {
  const body = html`<p>Downgrading <b>${tenant.slug}</b> to the view tier releases <b id="release-count">${tenant.seatsHeld}</b> seat${tenant.seatsHeld === 1 ? '' : 's'}: its users lose drill-through and get view-only guest embeds, and their Metabase accounts are deactivated.</p>
<form method="post" action="/console/tenants/${tenant.slug}/tier"><input type="hidden" name="_csrf" value="${csrf}"><input type="hidden" name="tier" value="view"><input type="hidden" name="confirm" value="yes">
<p><input name="reason" placeholder="Reason (optional)" size="40"></p><button class="warn">Release ${tenant.seatsHeld} seats and downgrade</button> <a href="/console/tenants">Cancel</a></form>`;
  return layout({ title: `Downgrade ${tenant.slug} to view?`, active: 'tenants', staff, csrfToken: csrf, body });
}
