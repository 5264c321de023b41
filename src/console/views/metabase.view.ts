import type { StaffUser } from '../../auth/staff/staff-session.js';
import type { MetabaseStatus } from '../../metabase-status/metabase-status.service.js';
import { html, layout, SafeHtml } from '../html.js';

export interface MetabasePage {
  staff: StaffUser;
  csrfToken: string;
  status: MetabaseStatus;
  /** Why the check could not run, when it could not. */
  failed?: string;
}

/** Metabase's configuration check: the findings (code, severity, object, fix), proven tenants, the fail-closed switch. */
export function metabaseView({ staff, csrfToken, status, failed }: MetabasePage): string {
  const check = status.lastCheck;
  const failClosed = status.failClosed.enabled
    ? html`<p>Fail-closed is <b>on</b>: external tenants not proven isolated get no SSO embed (guest or deny, per tenant).</p>`
    : html`<p class="flash">Fail-closed is <b>off</b> (by ${status.failClosed.actor ?? 'an admin'}: ${status.failClosed.reason}): unproven tenants get SSO embeds.</p>`;
  let body: SafeHtml;
  if (!status.configured) {
    body = html`<p class="muted">The check is off: METABASE_API_KEY is not set (see docs/metabase-setup.md).</p>`;
  } else if (!check) {
    body = html`<p class="muted">No check has completed yet${failed ? html`: ${failed}` : ''}.</p>${failClosed}`;
  } else {
    body = html`<p>Checked ${check.checkedAt}${check.stale ? html` <b>(stale: older than three check intervals)</b>` : ''}; every ${status.checkIntervalMinutes} minutes.</p>
<div class="cards"><div class="card"><b id="blocking">${check.counts.blocking}</b>blocking</div><div class="card"><b id="warning">${check.counts.warning}</b>warnings</div><div class="card"><b id="info">${check.counts.info}</b>info</div></div>
${failClosed}
<h2>Tenants</h2><p>Proven isolated: ${check.tenants.proven.join(', ') || 'none'}. Not proven: ${check.tenants.unproven.join(', ') || 'none'}.</p>
<h2>Findings</h2>${
      check.findings.length
        ? html`<table><tr><th>Severity</th><th>Code</th><th>Object</th><th>Finding</th><th>Fix</th></tr>${check.findings.map(
            (f) => html`<tr><td>${f.severity}</td><td><code>${f.code}</code></td><td>${f.object}</td><td>${f.message}</td><td>${f.fix}</td></tr>`,
          )}</table>`
        : html`<p>None: Metabase is in step.</p>`
    }`;
  }
  return layout({ title: 'Metabase', active: 'metabase', staff, csrfToken, body });
}
