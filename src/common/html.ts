import type { FastifyReply } from 'fastify';

/** Server-rendered HTML: every interpolated value is escaped unless it is already SafeHtml. */
export class SafeHtml {
  constructor(readonly value: string) {}
  toString() {
    return this.value;
  }
}

const escape = (value: unknown) =>
  String(value ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

export function html(strings: TemplateStringsArray, ...values: unknown[]): SafeHtml {
  let out = strings[0];
  values.forEach((value, i) => {
    const rendered = Array.isArray(value)
      ? value.map((v) => (v instanceof SafeHtml ? v.value : escape(v))).join('')
      : value instanceof SafeHtml
        ? value.value
        : escape(value);
    out += rendered + strings[i + 1];
  });
  return new SafeHtml(out);
}

/** The look of embedgate's pages (the console's, and the sign-in pages of auth/saml). */
export const STYLE = new SafeHtml(`
body{font:15px/1.45 system-ui,sans-serif;margin:0;color:#1d2433;background:#f6f7fb}
header{background:#1d2433;color:#fff;padding:10px 24px;display:flex;gap:24px;align-items:center}
header a{color:#cfd8ff;text-decoration:none}header a.on{color:#fff;font-weight:600}
header form{margin-left:auto}main{padding:24px;max-width:1100px}
table{border-collapse:collapse;width:100%;background:#fff}th,td{padding:6px 10px;border-bottom:1px solid #e3e6ef;text-align:left}
th{background:#eef1f8}button,.button{background:#3157d5;color:#fff;border:0;border-radius:4px;padding:5px 12px;cursor:pointer;text-decoration:none;font-size:14px}
button.warn{background:#c2410c}.muted{color:#6b7280}.flash{background:#e7f6ec;border:1px solid #9bd3ae;padding:8px 12px;margin-bottom:16px}
.cards{display:flex;gap:16px;margin:16px 0}.card{background:#fff;padding:16px 20px;border:1px solid #e3e6ef;border-radius:6px}
.card b{font-size:28px;display:block}input,select{padding:4px 6px}form.inline{display:inline}`);

/** A page without the console's navigation (sign-in refusals, errors, signed out). */
export function simplePage(title: string, body: SafeHtml): string {
  return html`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${title} · embedgate</title><style>${STYLE}</style></head>
<body><main><h1>${title}</h1>${body}</main></body></html>`.value;
}

/** Sends a server-rendered page: HTML, never cached (it holds a CSRF token or a person's data). */
export const sendPage = (reply: FastifyReply, page: string, status = 200): void =>
  void reply.status(status).type('text/html; charset=utf-8').header('cache-control', 'no-store').send(page);
