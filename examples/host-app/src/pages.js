// @ts-check

/**
 * @typedef {import('./config.js').HostAppConfig} HostAppConfig
 * @typedef {import('./config.js').DemoUser} DemoUser
 * @typedef {import('@embedgate/client').Decision} Decision
 * @typedef {import('@embedgate/client').ResourceView} ResourceView
 */

/** @param {unknown} value */
const escape = (value) => String(value).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);

/** JSON inside an inline <script>: no `</script>` or `<!--` can end it early. */
const scriptJson = (/** @type {unknown} */ value) => JSON.stringify(value).replace(/</g, '\\u003c');

const STYLE = `
  body { font: 15px/1.5 system-ui, sans-serif; margin: 0; color: #1f2937; background: #f8fafc; }
  header { display: flex; gap: 1rem; align-items: center; padding: .75rem 1.5rem; background: #1e3a8a; color: white; }
  header h1 { font-size: 1.1rem; margin: 0; flex: 1; }
  header form { margin: 0; }
  main { padding: 1.5rem; max-width: 1100px; margin: auto; }
  .card { background: white; border: 1px solid #e5e7eb; border-radius: 8px; padding: 1.25rem; margin-bottom: 1rem; }
  .mode { font-weight: 600; }
  .reasons { color: #6b7280; font-size: .9rem; margin: .25rem 0 0; }
  .error { color: #b91c1c; }
  metabase-dashboard, metabase-question { min-height: 420px; border: 1px dashed #cbd5e1; border-radius: 8px; background: white; }
  button { font: inherit; padding: .4rem .9rem; border-radius: 6px; border: 1px solid #94a3b8; background: white; cursor: pointer; }
  select { font: inherit; padding: .35rem; }
`;

/** @param {string} title @param {string} header @param {string} body */
const layout = (title, header, body) => `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escape(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<header><h1>Portal (an embedgate host app)</h1>${header}</header>
<main>
${body}
</main>
</body>
</html>
`;

/**
 * The sign-in page: a stand-in for the host's real sign-in, choosing one of the demo users.
 * @param {HostAppConfig} config
 * @param {string} [error]
 */
export function signInPage(config, error) {
  const options = config.users
    .map((u, i) => `<option value="${i}">${escape(`${u.user.firstName ?? ''} ${u.user.lastName ?? ''}`.trim() || u.user.id)} (${escape(u.tenant)})</option>`)
    .join('');
  return layout(
    'Sign in',
    '',
    `<div class="card">
  <h2>Sign in</h2>
  ${error ? `<p class="error" id="error">${escape(error)}</p>` : ''}
  <form method="post" action="/sign-in">
    <label>User <select name="user" id="user">${options}</select></label>
    <button type="submit" id="sign-in">Sign in</button>
  </form>
  <p class="reasons">Signing in opens an embedgate viewer session for the user (one backend call) and sends the browser through its
  one-time exchange URL, which sets embedgate's cookie and comes back here.</p>
</div>`,
  );
}

/**
 * The dashboard page: Metabase's web components from embed.js, configured with embedgate's provider URLs.
 * embed.js's configuration (window.metabaseConfig, set before the script runs) and its elements are Metabase's:
 * frontend/src/metabase/embedding/embedding-iframe-sdk/script/embed.ts and script/constants.ts in metabase/metabase
 * (instanceUrl, isGuest, guestEmbedProviderUri, jwtProviderUri; <metabase-dashboard dashboard-id> and
 * <metabase-question question-id>). isGuest is page-wide, so one page is either guest or SSO.
 *
 * @param {HostAppConfig} config
 * @param {DemoUser} viewer
 * @param {Decision} decision what embedgate would give this user (POST /v1/embeds/explain)
 * @param {ResourceView | undefined} resource
 */
export function dashboardPage(config, viewer, decision, resource) {
  const name = `${viewer.user.firstName ?? ''} ${viewer.user.lastName ?? ''}`.trim() || viewer.user.id;
  const header = `<span id="who">${escape(name)} · ${escape(viewer.tenant)}</span>
<form method="post" action="/sign-out"><button type="submit" id="sign-out">Sign out</button></form>`;
  const reasons = `<p class="reasons" id="reasons">rule <code id="rule">${escape(decision.rule)}</code>: ${escape(decision.reasons.join('; '))}</p>`;

  if (!resource) {
    return layout(
      'Dashboard',
      header,
      `<div class="card"><p class="error" id="mode" data-mode="none">embedgate has no resource ${escape(config.dashboard)}.</p></div>`,
    );
  }
  if (decision.mode === 'deny') {
    return layout(
      'Dashboard',
      header,
      `<div class="card"><p class="mode error" id="mode" data-mode="deny">embedgate refuses this dashboard to you.</p>${reasons}</div>`,
    );
  }

  const guest = decision.mode === 'guest';
  const metabaseConfig = guest
    ? // Guest embeds: embed.js asks embedgate's guest provider for each item's token (POST …?response=json {entityType, entityId}).
      { instanceUrl: config.metabaseUrl, isGuest: true, guestEmbedProviderUri: `${config.embedgatePublicUrl}/v1/sdk/guest` }
    : // SSO: embed.js asks the JWT provider for the viewer's token (GET …?response=json), then signs in to Metabase with it.
      {
        instanceUrl: config.metabaseUrl,
        jwtProviderUri: config.ssoProvider === 'host' ? `${config.hostUrl}/sso/metabase` : `${config.embedgatePublicUrl}/v1/sdk/sso`,
      };
  const element = resource.type === 'dashboard' ? 'metabase-dashboard' : 'metabase-question';
  const idAttribute = resource.type === 'dashboard' ? 'dashboard-id' : 'question-id';
  const drills = guest ? '' : ' drills="true"';
  const label = guest ? 'Guest embed: view-only, no Metabase seat' : 'SSO embed: drill-through, signed in to Metabase as you (one seat)';

  return layout(
    'Dashboard',
    header,
    `<div class="card">
  <p class="mode" id="mode" data-mode="${escape(decision.mode)}">${escape(label)}</p>
  ${reasons}
</div>
<${element} id="embed" ${idAttribute}="${escape(resource.metabaseId)}" with-title="true"${drills}></${element}>
<p class="reasons">Nothing above? embed.js comes from ${escape(config.metabaseUrl)}/app/embed.js: Metabase must be up, with modular embedding on and this
page's origin in its embedding CORS origins.</p>
<script>
  function defineMetabaseConfig(config) {
    window.metabaseConfig = config;
  }
  defineMetabaseConfig(${scriptJson(metabaseConfig)});
</script>
<script defer src="${escape(config.metabaseUrl)}/app/embed.js"></script>`,
  );
}
