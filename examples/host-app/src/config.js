// @ts-check

/**
 * @typedef {import('@embedgate/client').ViewerUser} ViewerUser
 * @typedef {{ tenant: string, user: ViewerUser }} DemoUser
 *
 * @typedef {object} HostAppConfig
 * @property {string} embedgateUrl where this server reaches embedgate (EMBEDGATE_URL)
 * @property {string} embedgatePublicUrl where browsers reach embedgate: its PUBLIC_URL (EMBEDGATE_PUBLIC_URL, default EMBEDGATE_URL)
 * @property {string} appKey this host app's embedgate key, role app (EMBEDGATE_APP_KEY)
 * @property {string} metabaseUrl Metabase's site URL: embed.js comes from there (METABASE_URL)
 * @property {number} port (PORT, default 4000)
 * @property {string} host the interface to listen on (HOST, default 127.0.0.1)
 * @property {string} hostUrl this app's origin as browsers see it (HOST_URL, default http://localhost:PORT); it must be in embedgate's CORS_ORIGINS
 * @property {string} dashboard the embedgate resource key to show (DASHBOARD, default sales-overview)
 * @property {'embedgate' | 'host'} ssoProvider who answers embed.js's JWT provider calls: embedgate's /v1/sdk/sso (default), or this app's /sso/metabase (SSO_PROVIDER)
 * @property {DemoUser[]} users who may sign in (DEMO_USERS, JSON; default the users of embedgate's demo tenants)
 */

/** The users of the tenants embedgate's demo mode seeds: acme (view tier: guest embeds) and globex (drill tier: SSO embeds). */
export const DEFAULT_USERS = /** @type {DemoUser[]} */ ([
  { tenant: 'acme', user: { id: 'u-1', email: 'ana@acme.example', firstName: 'Ana', lastName: 'Ng' } },
  { tenant: 'globex', user: { id: 'u-2', email: 'bo@globex.example', firstName: 'Bo', lastName: 'Li' } },
]);

/** @param {string} name @param {string | undefined} value */
function required(name, value) {
  if (!value) throw new Error(`${name} is required (see examples/host-app/README.md)`);
  return value;
}

/** @param {string} name @param {string} value */
function origin(name, value) {
  try {
    const url = new URL(value);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('not http(s)');
    return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
  } catch {
    throw new Error(`${name} must be an http(s) URL, not ${JSON.stringify(value)}`);
  }
}

/**
 * The configuration, from the environment.
 * @param {Record<string, string | undefined>} env
 * @returns {HostAppConfig}
 */
export function loadConfig(env) {
  const port = Number(env.PORT ?? '4000');
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`PORT must be a port number, not ${JSON.stringify(env.PORT)}`);
  const embedgateUrl = origin('EMBEDGATE_URL', required('EMBEDGATE_URL', env.EMBEDGATE_URL));
  const ssoProvider = env.SSO_PROVIDER ?? 'embedgate';
  if (ssoProvider !== 'embedgate' && ssoProvider !== 'host') throw new Error('SSO_PROVIDER is embedgate or host');
  const users = env.DEMO_USERS ? /** @type {DemoUser[]} */ (JSON.parse(env.DEMO_USERS)) : DEFAULT_USERS;
  if (!Array.isArray(users) || users.length === 0 || users.some((u) => typeof u?.tenant !== 'string' || typeof u?.user?.id !== 'string')) {
    throw new Error('DEMO_USERS is a JSON list of {tenant, user: {id, email?, firstName?, lastName?, role?}}');
  }
  return {
    embedgateUrl,
    embedgatePublicUrl: env.EMBEDGATE_PUBLIC_URL ? origin('EMBEDGATE_PUBLIC_URL', env.EMBEDGATE_PUBLIC_URL) : embedgateUrl,
    appKey: required('EMBEDGATE_APP_KEY', env.EMBEDGATE_APP_KEY),
    metabaseUrl: origin('METABASE_URL', required('METABASE_URL', env.METABASE_URL)),
    port,
    host: env.HOST ?? '127.0.0.1',
    hostUrl: origin('HOST_URL', env.HOST_URL ?? `http://localhost:${port}`),
    dashboard: env.DASHBOARD ?? 'sales-overview',
    ssoProvider,
    users,
  };
}
