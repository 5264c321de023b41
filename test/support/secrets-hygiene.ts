/**
 * Secrets hygiene: every secret a test run handles (both Metabase secrets, every API key, every
 * token and launch link the service answered with) is remembered here, and every service's logs are
 * checked against all of them when it stops. A log line that carries one fails the suite.
 */
const seen = new Set<string>();
const JWT = /eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{16,}/;
const LAUNCH = /\/v1\/launch\/([A-Za-z0-9_-]{43})/;

export function rememberSecret(secret: string | undefined): void {
  if (secret && secret.length >= 16) seen.add(secret);
}

/** Remembers every key, token and launch id found in a response body. */
export function rememberSecretsIn(value: unknown): void {
  if (typeof value === 'string') {
    if (value.startsWith('egk_') || JWT.test(value)) rememberSecret(value);
    const launch = LAUNCH.exec(value);
    if (launch) rememberSecret(launch[1]);
    const jwtInUrl = /[?&]jwt=([^&#]+)/.exec(value);
    if (jwtInUrl) rememberSecret(decodeURIComponent(jwtInUrl[1]));
    return;
  }
  if (Array.isArray(value)) value.forEach(rememberSecretsIn);
  else if (value && typeof value === 'object') Object.values(value).forEach(rememberSecretsIn);
}

/** Throws when a log line holds a remembered secret, or anything shaped like a JWT. */
export function assertLogsHoldNoSecrets(lines: string[], where: string): void {
  for (const line of lines) {
    if (JWT.test(line)) throw new Error(`${where}: a log line holds a JWT: ${line.slice(0, 200)}`);
    for (const secret of seen) {
      if (line.includes(secret)) throw new Error(`${where}: a log line holds a secret (${secret.slice(0, 6)}…): ${line.slice(0, 200)}`);
    }
  }
}

export const secretsRemembered = () => seen.size;
