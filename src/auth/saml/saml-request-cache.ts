import type { CacheItem, CacheProvider } from '@node-saml/node-saml';
import type { SamlRepository } from './saml.repository.js';

/**
 * node-saml's store of the AuthnRequest ids it issued (for InResponseTo), in Postgres so that a
 * response can arrive at any instance. Single use is enforced separately (saml_consumed).
 */
export class SamlRequestCache implements CacheProvider {
  constructor(
    private readonly repository: SamlRepository,
    private readonly ttlMs: number,
  ) {}

  async saveAsync(key: string, value: string): Promise<CacheItem | null> {
    const createdAt = new Date(value);
    await this.repository.saveRequest(key, createdAt);
    return { value, createdAt: createdAt.getTime() };
  }

  async getAsync(key: string): Promise<string | null> {
    const issuedAt = await this.repository.requestIssuedAt(key);
    if (!issuedAt || issuedAt.getTime() + this.ttlMs < Date.now()) return null;
    return issuedAt.toISOString();
  }

  async removeAsync(key: string | null): Promise<string | null> {
    if (!key) return null;
    return (await this.repository.removeRequest(key)) ? key : null;
  }
}
