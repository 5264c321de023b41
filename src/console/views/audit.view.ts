import type { StaffUser } from '../../auth/staff/staff-session.js';
import type { AuditView } from '../../audit/audit.service.js';
import { html, layout } from '../html.js';

/** The latest audit entries, optionally of one type. */
export function auditView({ staff, csrfToken, type, entries }: { staff: StaffUser; csrfToken: string; type?: string; entries: AuditView[] }): string {
  const body = html`<form method="get"><input name="type" placeholder="type, e.g. tenant.tier_changed" value="${type ?? ''}"> <button>Filter</button></form><p></p>
<table><tr><th>When</th><th>Type</th><th>Actor</th><th>Tenant</th><th>Details</th></tr>${entries.map(
    (e) =>
      html`<tr><td>${e.at.replace('T', ' ').slice(0, 19)}</td><td>${e.type}</td><td>${e.actor}</td><td>${e.tenant ?? ''}</td><td><code>${JSON.stringify(e.data).slice(0, 200)}</code></td></tr>`,
  )}</table>`;
  return layout({ title: 'Audit', active: 'audit', staff, csrfToken, body });
}
