import type { StaffUser } from '../../auth/staff/staff-session.js';
import type { DeliveryView, WebhooksOverview } from '../../webhooks/webhooks.service.js';
import { html, layout } from '../html.js';

const when = (iso: string | null) => (iso ? iso.replace('T', ' ').slice(0, 19) : '');

function deliveriesTable(rows: DeliveryView[], empty: string) {
  if (!rows.length) return html`<p class="muted">${empty}</p>`;
  return html`<table><tr><th>Delivery</th><th>Webhook</th><th>Event</th><th>Status</th><th>Attempts</th><th>Last answer</th><th>Updated</th></tr>${rows.map(
    (d) =>
      html`<tr><td>${d.id}</td><td><code>${d.webhookId.slice(0, 8)}</code></td><td>${d.type}<br><span class="muted">${d.eventId}</span></td><td>${d.status}${
        d.nextAttemptAt ? html`<br><span class="muted">next ${when(d.nextAttemptAt)}</span>` : ''
      }</td><td>${d.attempts}</td><td>${d.lastStatus ?? ''} <span class="muted">${(d.lastError ?? '').slice(0, 200)}</span></td><td>${when(d.updatedAt)}</td></tr>`,
  )}</table>`;
}

/** The webhooks, their deliveries counted by status, the latest deliveries and the dead letters (read-only: changes go through /v1/webhooks). */
export function webhooksView({ staff, csrfToken, overview }: { staff: StaffUser; csrfToken: string; overview: WebhooksOverview }): string {
  const body = html`<h2>Webhooks</h2>${
    overview.webhooks.length
      ? html`<table><tr><th>Id</th><th>URL</th><th>Events</th><th>Enabled</th><th>Pending</th><th>Delivered</th><th>Dead letters</th></tr>${overview.webhooks.map(
          (w) =>
            html`<tr><td><code>${w.id.slice(0, 8)}</code></td><td>${w.url}${w.description ? html`<br><span class="muted">${w.description}</span>` : ''}</td><td>${w.events.join(', ')}</td><td>${
              w.enabled ? 'yes' : 'no'
            }</td><td>${w.deliveries.pending}</td><td>${w.deliveries.delivered}</td><td>${w.deliveries.failed}</td></tr>`,
        )}</table>`
      : html`<p class="muted">No webhook yet: create one with POST /v1/webhooks.</p>`
  }
<h2>Dead letters</h2>${deliveriesTable(overview.deadLetters, 'None.')}<p class="muted">Retry one with POST /v1/webhooks/{id}/deliveries/{deliveryId}/retry.</p>
<h2>Latest deliveries</h2>${deliveriesTable(overview.recent, 'None yet.')}`;
  return layout({ title: 'Webhooks', active: 'webhooks', staff, csrfToken, body });
}
