import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

const DEMO_SECRETS = ['METABASE_EMBEDDING_SECRET_KEY', 'METABASE_JWT_SHARED_SECRET'] as const;

/**
 * Demo mode is DATABASE_URL unset: the service runs on an embedded database for a first look.
 * There, unset settings get demo values, and unset secrets are generated once into a local file
 * (mode 0600, git-ignored) instead of being printed. With DATABASE_URL set, nothing is filled in:
 * a missing secret stops boot.
 */
export function withDemoDefaults(env: Record<string, string | undefined>, secretsFile: string) {
  if (env.DATABASE_URL) return { env, demo: false, generatedSecretsFile: undefined };
  const filled: Record<string, string | undefined> = { ...env };
  filled.METABASE_SITE_URL ||= 'http://localhost:3000';
  filled.SEAT_BUDGET ||= '5';
  filled.PUBLIC_URL ||= `http://127.0.0.1:${filled.PORT || '8080'}`;
  let generatedSecretsFile: string | undefined;
  if (DEMO_SECRETS.some((name) => !filled[name])) {
    const stored: Record<string, string> = existsSync(secretsFile) ? JSON.parse(readFileSync(secretsFile, 'utf8')) : {};
    for (const name of DEMO_SECRETS) stored[name] ||= randomBytes(32).toString('hex');
    mkdirSync(dirname(secretsFile), { recursive: true });
    writeFileSync(secretsFile, JSON.stringify(stored, null, 2), { mode: 0o600 });
    chmodSync(secretsFile, 0o600);
    for (const name of DEMO_SECRETS) filled[name] ||= stored[name];
    generatedSecretsFile = secretsFile;
  }
  return { env: filled, demo: true, generatedSecretsFile };
}
