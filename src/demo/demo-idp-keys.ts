import { X509Certificate } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/** The demo identity provider's signing key and its self-signed certificate (PEM). */
export interface DemoIdpKeys {
  privateKey: string;
  cert: string;
}

const VALID_DAYS = 5 * 365;

/**
 * The demo IdP's key pair and certificate, generated once into `file` (mode 0600, under the demo
 * directory) so a restart keeps the certificate the service pins; an unreadable or expired one is
 * replaced.
 */
export async function loadOrCreateDemoIdpKeys(file: string): Promise<DemoIdpKeys> {
  const stored = readKeys(file);
  if (stored) return stored;
  // Loaded here: only demo mode generates a certificate.
  const { default: selfsigned } = await import('selfsigned');
  const pems = await selfsigned.generate([{ name: 'commonName', value: 'embedgate demo identity provider' }], {
    keySize: 2048,
    algorithm: 'sha256',
    notAfterDate: new Date(Date.now() + VALID_DAYS * 86_400_000),
  });
  const keys = { privateKey: pems.private, cert: pems.cert };
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(keys, null, 2), { mode: 0o600 });
  chmodSync(file, 0o600);
  return keys;
}

function readKeys(file: string): DemoIdpKeys | null {
  if (!existsSync(file)) return null;
  try {
    const keys = JSON.parse(readFileSync(file, 'utf8')) as Partial<DemoIdpKeys>;
    if (typeof keys.privateKey !== 'string' || typeof keys.cert !== 'string') return null;
    // A day of margin: a certificate about to expire is replaced now rather than mid-session.
    if (new Date(new X509Certificate(keys.cert).validTo).getTime() < Date.now() + 86_400_000) return null;
    return { privateKey: keys.privateKey, cert: keys.cert };
  } catch {
    return null;
  }
}
