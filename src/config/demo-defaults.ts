import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { loadOrCreateDemoIdpKeys, type DemoIdpKeys } from '../demo/demo-idp-keys.js';
import { DEMO_ROLE_MAP } from '../demo/demo-staff.js';

const DEMO_SECRETS = ['METABASE_EMBEDDING_SECRET_KEY', 'METABASE_JWT_SHARED_SECRET'] as const;
const SAML_SETTINGS = ['SAML_SP_ENTITY_ID', 'SAML_IDP_ENTRY_POINT', 'SAML_IDP_ISSUER', 'SAML_IDP_CERT'] as const;

/** Demo mode's own settings: never read from the environment, only made here when DATABASE_URL is unset. */
export interface DemoSettings {
  /** Where the demo's data live: the embedded database, the generated secrets, the demo IdP's key. */
  dir: string;
  /** The built-in SAML identity provider, when the demo filled the SAML settings (none of them was given). */
  idp?: DemoIdpKeys & { issuer: string; ssoUrl: string };
}

/** Where each piece of the demo's data lives inside its directory. */
export const demoPaths = (dir: string) => ({
  database: join(dir, 'demo-db'),
  databaseLock: join(dir, 'demo-db.pid'),
  secrets: join(dir, 'demo-secrets.json'),
  idpKeys: join(dir, 'demo-idp.json'),
});

/** The demo directory: EMBEDGATE_DEMO_DIR (relative to the working directory), else `defaultDir`. */
export const demoDirOf = (env: Record<string, string | undefined>, defaultDir: string) =>
  env.EMBEDGATE_DEMO_DIR ? resolve(env.EMBEDGATE_DEMO_DIR) : defaultDir;

/**
 * Demo mode is DATABASE_URL unset: the service runs on an embedded database for a first look.
 * There, unset settings get demo values, unset secrets are generated once into a local file (mode
 * 0600, git-ignored) instead of being printed, and, unless SAML is configured, staff sign in through
 * the built-in demo identity provider (src/demo/demo-idp.ts) with a key generated the same way.
 * With DATABASE_URL set, nothing is filled in and there is no demo: a missing secret stops boot, and
 * EMBEDGATE_DEMO_DIR is refused (config.schema.ts).
 */
export async function withDemoDefaults(env: Record<string, string | undefined>, defaultDir: string) {
  if (env.DATABASE_URL) return { env, demo: undefined, generatedSecretsFile: undefined };
  const dir = demoDirOf(env, defaultDir);
  const paths = demoPaths(dir);
  const filled: Record<string, string | undefined> = { ...env };
  // The demo IdP signs anyone in who can reach it: listen on loopback unless told otherwise.
  filled.HOST ||= '127.0.0.1';
  filled.METABASE_SITE_URL ||= 'http://localhost:3000';
  filled.SEAT_BUDGET ||= '25';
  filled.SEAT_PRICE_PER_DAY ||= '0.40';
  filled.PUBLIC_URL ||= `http://127.0.0.1:${filled.PORT || '8080'}`;
  // The demo's webhook delivers its alerts to the demo itself, on loopback (src/demo/demo-webhook-inbox.controller.ts).
  filled.WEBHOOK_ALLOW_HTTP_LOCALHOST ||= 'true';

  const demoIdp = SAML_SETTINGS.every((name) => !filled[name]);
  const secretNames: string[] = [...DEMO_SECRETS, ...(demoIdp ? ['SESSION_SECRET'] : [])];
  let generatedSecretsFile: string | undefined;
  if (secretNames.some((name) => !filled[name])) {
    const stored: Record<string, string> = existsSync(paths.secrets) ? JSON.parse(readFileSync(paths.secrets, 'utf8')) : {};
    for (const name of secretNames) stored[name] ||= randomBytes(32).toString('hex');
    mkdirSync(dirname(paths.secrets), { recursive: true });
    writeFileSync(paths.secrets, JSON.stringify(stored, null, 2), { mode: 0o600 });
    chmodSync(paths.secrets, 0o600);
    for (const name of secretNames) filled[name] ||= stored[name];
    generatedSecretsFile = paths.secrets;
  }

  let idp: DemoSettings['idp'];
  if (demoIdp) {
    const keys = await loadOrCreateDemoIdpKeys(paths.idpKeys);
    const publicUrl = filled.PUBLIC_URL.replace(/\/+$/, '');
    idp = { ...keys, issuer: `${publicUrl}/demo-idp/metadata`, ssoUrl: `${publicUrl}/demo-idp/sso` };
    filled.SAML_SP_ENTITY_ID = `${publicUrl}/auth/saml/metadata`;
    filled.SAML_IDP_ENTRY_POINT = idp.ssoUrl;
    filled.SAML_IDP_ISSUER = idp.issuer;
    filled.SAML_IDP_CERT = keys.cert;
    filled.SAML_ROLE_ATTRIBUTE ||= 'groups';
    filled.SAML_ROLE_MAP ||= JSON.stringify(DEMO_ROLE_MAP);
  }
  const demo: DemoSettings = { dir, ...(idp ? { idp } : {}) };
  return { env: filled, demo, generatedSecretsFile };
}
