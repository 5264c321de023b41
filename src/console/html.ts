import { html, SafeHtml, STYLE } from '../common/html.js';
import type { StaffUser } from '../auth/staff/staff-session.js';

export { html, SafeHtml, sendPage, simplePage } from '../common/html.js';

export interface Page {
  title: string;
  active: string;
  staff: Pick<StaffUser, 'nameId' | 'roles'>;
  csrfToken: string;
  body: SafeHtml;
  flash?: string;
}

/** A console page: the navigation (Audit for admins only), the signed-in person, sign-out, the body. */
export function layout(page: Page): string {
  const links = [
    ['tenants', '/console/tenants', 'Tenants'],
    ['license', '/console/license', 'License'],
    ['reports', '/console/reports/seat-usage', 'Seat usage'],
    ...(page.staff.roles.some((r) => r === 'admin' || r === 'finance')
      ? [
          ['billing', '/console/reports/billing', 'Billing'],
          ['usage', '/console/reports/usage', 'Usage'],
          ['forecast', '/console/reports/forecast', 'Forecast'],
        ]
      : []),
    ...(page.staff.roles.some((r) => r === 'admin' || r === 'finance') ? [['metabase', '/console/metabase', 'Metabase']] : []),
    ...(page.staff.roles.includes('admin') ? [['webhooks', '/console/webhooks', 'Webhooks']] : []),
    ...(page.staff.roles.includes('admin') ? [['audit', '/console/audit', 'Audit']] : []),
  ];
  return html`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${page.title} · embedgate</title>
<meta name="viewport" content="width=device-width,initial-scale=1"><style>${STYLE}</style></head><body>
<header><strong>embedgate</strong>${links.map(([key, href, label]) => html`<a href="${href}" class="${key === page.active ? 'on' : ''}">${label}</a>`)}
<form method="post" action="/auth/logout"><input type="hidden" name="_csrf" value="${page.csrfToken}">
<span class="muted">${page.staff.nameId} (${page.staff.roles.join(', ')})</span> <button>Sign out</button></form></header>
<main><h1>${page.title}</h1>${page.flash ? html`<div class="flash" role="status">${page.flash}</div>` : ''}${page.body}</main></body></html>`.value;
}
