import { randomBytes, timingSafeEqual } from 'node:crypto';
import { Injectable, Optional } from '@nestjs/common';
import { AuditService } from '../audit/audit.service.js';
import { Caches } from '../cache/caches.service.js';
import { ApiError } from '../common/api-error.js';
import { EpochCache } from '../cache/epoch-cache.js';
import { Transactions, type Tx } from '../database/transactions.js';
import type { KeyCredentials } from './api-key.js';
import { ApiKeyRepository } from './api-key.repository.js';
import type { Principal, Role } from './principal.js';
import { sha256 } from '../common/hash.js';

/**
 * API keys look like `egk_<id>_<secret>`: a typed prefix, a non-secret id (80 random bits) used to
 * find the row, and a secret of 256 random bits of which only the SHA-256 is stored and compared
 * in constant time.
 */
const KEY_PATTERN = /^egk_([a-z2-7]{16})_([A-Za-z0-9_-]{43})$/;
const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';

function randomId(): string {
  const bytes = randomBytes(16);
  let id = '';
  for (let i = 0; i < 16; i++) id += BASE32[bytes[i] & 31];
  return id;
}

export interface CreatedKey {
  id: string;
  apiKey: string;
}

@Injectable()
export class ApiKeysService {
  /** Key rows by id: a revocation elsewhere is honoured here within CACHE_TTL_MS (see Caches). */
  private readonly cache: EpochCache<string, KeyCredentials | null>;

  constructor(
    private readonly keys: ApiKeyRepository,
    private readonly transactions: Transactions,
    private readonly audit: AuditService,
    @Optional() caches?: Caches,
  ) {
    // Without Caches (the CLI), nothing is cached.
    this.cache = caches ? caches.create('api-keys') : new EpochCache({ epoch: () => null });
  }

  /** Creates an admin or finance key and its audit entry (the API and the CLI both call this). */
  async issue(input: { role: 'admin' | 'finance'; name: string }, actor: string): Promise<CreatedKey> {
    return this.transactions.run(async (tx) => {
      const key = await this.create(input, tx);
      await this.audit.record(tx, { type: 'key.created', actor, data: { id: key.id, role: input.role, name: input.name } });
      return key;
    });
  }

  /** Rotates a key with its audit entry; 404 when there is no active key with this id. */
  async rotateKey(id: string, overlapSeconds: number, actor: string): Promise<CreatedKey & { previousKeyExpiresAt: string }> {
    return this.cache.invalidating([id], () =>
      this.transactions.run(async (tx) => {
        const rotated = await this.rotate(id, overlapSeconds, new Date(), tx);
        if (!rotated) throw new ApiError(404, 'key_not_found', 'no active key with this id');
        await this.audit.record(tx, { type: 'key.rotated', actor, data: { id, newId: rotated.id, previousKeyExpiresAt: rotated.previousKeyExpiresAt } });
        return rotated;
      }),
    );
  }

  /** Revokes a key, or every key of an app given its id, with the audit entry; 404 or 409 when there is nothing to revoke. */
  async revokeKey(id: string, actor: string): Promise<number> {
    return this.cache.invalidating('all', () =>
      this.transactions.run(async (tx) => {
        const count = await this.revoke(id, new Date(), tx);
        if (count === 0) {
          if (await this.keys.existsForKeyOrApp(id, tx)) throw new ApiError(409, 'key_already_revoked', 'the key is already revoked');
          throw new ApiError(404, 'key_not_found', 'key not found');
        }
        await this.audit.record(tx, { type: 'key.revoked', actor, data: { id, revoked: count } });
        return count;
      }),
    );
  }

  /**
   * Creates a key (in the caller's transaction when given one); the returned apiKey is the only
   * time its secret exists outside the caller.
   */
  async create(input: { role: Role; name: string; appId?: string }, tx?: Tx): Promise<CreatedKey> {
    const id = randomId();
    const secret = randomBytes(32).toString('base64url');
    await this.keys.create({ id, role: input.role, name: input.name, appId: input.appId ?? null, secretHash: sha256(secret) }, tx);
    return { id, apiKey: `egk_${id}_${secret}` };
  }

  /** The principal of a presented key, or null for a malformed, unknown or revoked one. */
  async authenticate(presented: string): Promise<Principal | null> {
    const match = KEY_PATTERN.exec(presented);
    if (!match) return null;
    const [, id, secret] = match;
    const key = await this.cache.getOrLoad(id, () => this.keys.findCredentials(id));
    if (!key || key.revokedAt || (key.expiresAt && key.expiresAt <= new Date())) return null;
    const given = sha256(secret);
    if (key.secretHash.length !== given.length || !timingSafeEqual(key.secretHash, given)) return null;
    return {
      keyId: key.id,
      role: key.role,
      name: key.name,
      appId: key.appId,
      allTenants: key.allTenants,
    };
  }

  /**
   * Revokes a key, or every key of an app when given an app id, in the caller's transaction, which
   * must run inside invalidating('all') (revokeKey does). Returns how many were revoked.
   */
  private async revoke(id: string, at: Date, tx: Tx): Promise<number> {
    const byKey = await this.keys.revoke(id, at, tx);
    if (byKey > 0) return byKey;
    return this.keys.revokeAllOfApp(id, at, tx);
  }

  /**
   * Rotates a key: a new key with the same role, name and app, while the old one keeps working for
   * the overlap window (so callers can switch without downtime), then stops.
   */
  private async rotate(id: string, overlapSeconds: number, now: Date, tx: Tx): Promise<(CreatedKey & { previousKeyExpiresAt: string }) | null> {
    const old = await this.keys.findById(id, tx);
    if (!old || old.revokedAt || (old.expiresAt && old.expiresAt <= now)) return null;
    const expiresAt = new Date(now.getTime() + overlapSeconds * 1000);
    await this.keys.setExpiry(id, old.expiresAt && old.expiresAt < expiresAt ? old.expiresAt : expiresAt, tx);
    const created = await this.create({ role: old.role, name: old.name, appId: old.appId ?? undefined }, tx);
    return { ...created, previousKeyExpiresAt: expiresAt.toISOString() };
  }
}
