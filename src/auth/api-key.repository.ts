import { Injectable } from '@nestjs/common';
import { PrismaService } from '../database/prisma.service.js';
import { clientOf, type Tx } from '../database/transactions.js';
import type { ApiKey as ApiKeyModel } from '../generated/prisma/client.js';
import type { ApiKey, KeyCredentials, NewApiKey } from './api-key.js';
import type { Role } from './principal.js';

/** One row of the authentication read (the SQL names its columns as the domain does). */
interface KeyCredentialsRow {
  id: string;
  role: Role;
  name: string;
  appId: string | null;
  allTenants: boolean;
  /** bytea, as pg returns it. */
  secretHash: Buffer;
  revokedAt: Date | null;
  expiresAt: Date | null;
}

const fromRow = (row: KeyCredentialsRow): KeyCredentials => ({
  id: row.id,
  role: row.role,
  name: row.name,
  appId: row.appId,
  allTenants: row.allTenants,
  secretHash: row.secretHash,
  revokedAt: row.revokedAt,
  expiresAt: row.expiresAt,
});

const fromModel = (model: ApiKeyModel): ApiKey => ({
  id: model.id,
  role: model.role,
  name: model.name,
  appId: model.appId,
  createdAt: model.createdAt,
  revokedAt: model.revokedAt,
  expiresAt: model.expiresAt,
});

/** The api_keys table. */
@Injectable()
export class ApiKeyRepository {
  constructor(private readonly prisma: PrismaService) {}

  async create(key: NewApiKey, tx?: Tx): Promise<void> {
    await clientOf(this.prisma, tx).apiKey.create({
      data: { id: key.id, role: key.role, name: key.name, appId: key.appId, secretHash: key.secretHash },
    });
  }

  /** What authenticating a key with this id needs, with its app's scope: every request's read, on the pool. */
  async findCredentials(id: string): Promise<KeyCredentials | null> {
    const [row] = await this.prisma.sql<KeyCredentialsRow>(
      `SELECT k.id, k.role::text AS role, k.name, k.app_id AS "appId", coalesce(a.all_tenants, false) AS "allTenants",
                k.secret_hash AS "secretHash", k.revoked_at AS "revokedAt", k.expires_at AS "expiresAt"
         FROM api_keys k LEFT JOIN apps a ON a.id = k.app_id WHERE k.id = $1`,
      [id],
      'api-key-by-id',
    );
    return row ? fromRow(row) : null;
  }

  async findById(id: string, tx?: Tx): Promise<ApiKey | null> {
    const model = await clientOf(this.prisma, tx).apiKey.findUnique({ where: { id } });
    return model ? fromModel(model) : null;
  }

  async setExpiry(id: string, expiresAt: Date, tx?: Tx): Promise<void> {
    await clientOf(this.prisma, tx).apiKey.update({ where: { id }, data: { expiresAt } });
  }

  /** Revokes the key with this id unless it is revoked already; how many were (0 or 1). */
  async revoke(id: string, at: Date, tx?: Tx): Promise<number> {
    return (await clientOf(this.prisma, tx).apiKey.updateMany({ where: { id, revokedAt: null }, data: { revokedAt: at } })).count;
  }

  /** Revokes every key of an app not revoked already; how many were. */
  async revokeAllOfApp(appId: string, at: Date, tx?: Tx): Promise<number> {
    return (await clientOf(this.prisma, tx).apiKey.updateMany({ where: { appId, revokedAt: null }, data: { revokedAt: at } })).count;
  }

  /** Whether there is a key with this id, or a key of an app with this id (revoked or not). */
  async existsForKeyOrApp(id: string, tx?: Tx): Promise<boolean> {
    return (await clientOf(this.prisma, tx).apiKey.count({ where: { OR: [{ id }, { appId: id }] } })) > 0;
  }
}
