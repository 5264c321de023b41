import type { CacheItem, CacheProvider } from '@node-saml/node-saml';
import type { PrismaService } from '../../database/prisma.service.js';

/**
 * node-saml's store of the AuthnRequest ids it issued (for InResponseTo), in Postgres so that a
 * response can arrive at any instance. Single use is enforced separately (saml_consumed).
 */
export class SamlRequestCache implements CacheProvider {
  constructor(
    private readonly prisma: PrismaService,
    private readonly ttlMs: number,
  ) {}

  async saveAsync(key: string, value: string): Promise<CacheItem | null> {
    const createdAt = new Date(value);
    await this.prisma.samlRequest.upsert({ where: { id: key }, create: { id: key, createdAt }, update: {} });
    return { value, createdAt: createdAt.getTime() };
  }

  async getAsync(key: string): Promise<string | null> {
    const row = await this.prisma.samlRequest.findUnique({ where: { id: key } });
    if (!row || row.createdAt.getTime() + this.ttlMs < Date.now()) return null;
    return row.createdAt.toISOString();
  }

  async removeAsync(key: string | null): Promise<string | null> {
    if (!key) return null;
    const { count } = await this.prisma.samlRequest.deleteMany({ where: { id: key } });
    return count ? key : null;
  }
}
