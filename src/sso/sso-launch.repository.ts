import { Injectable } from '@nestjs/common';
import { PrismaService } from '../database/prisma.service.js';
import type { SsoLaunch as SsoLaunchModel } from '../generated/prisma/client.js';
import type { NewSsoLaunch, SsoLaunch } from './sso-launch.js';

/** The columns the redeeming UPDATE returns. */
type RedeemedRow = {
  tenant_id: string;
  user_id: string;
  email: string;
  first_name: string | null;
  last_name: string | null;
  role: string;
  return_to: string;
  expires_at: Date;
  used_at: Date;
};

const fromRedeemed = (row: RedeemedRow): SsoLaunch => ({
  tenantId: row.tenant_id,
  userId: row.user_id,
  email: row.email,
  firstName: row.first_name,
  lastName: row.last_name,
  role: row.role,
  returnTo: row.return_to,
  expiresAt: row.expires_at,
  usedAt: row.used_at,
});

const fromModel = (model: SsoLaunchModel): SsoLaunch => ({
  tenantId: model.tenantId,
  userId: model.userId,
  email: model.email,
  firstName: model.firstName,
  lastName: model.lastName,
  role: model.role,
  returnTo: model.returnTo,
  expiresAt: model.expiresAt,
  usedAt: model.usedAt,
});

/**
 * One-time SSO launch links (sso_launches). The SSO identities (sso_identities) are written by the
 * seat ledger's seat_ledger_acquire, in the statement that takes the seat.
 */
@Injectable()
export class SsoLaunchRepository {
  constructor(private readonly prisma: PrismaService) {}

  /** On the embed path: one prepared statement on the pool. */
  async create(launch: NewSsoLaunch): Promise<void> {
    await this.prisma.sql(
      `INSERT INTO sso_launches (id_hash, tenant_id, user_id, email, first_name, last_name, role, return_to, expires_at)
       VALUES ($1, $2::uuid, $3, $4, $5, $6, $7, $8, $9)`,
      [launch.idHash, launch.tenantId, launch.userId, launch.email, launch.firstName, launch.lastName, launch.role, launch.returnTo, launch.expiresAt],
      'sso-launch-create',
    );
  }

  /** Marks the link used if it is unused and unexpired, atomically (of two concurrent calls one gets it); null otherwise. */
  async redeem(idHash: Buffer): Promise<SsoLaunch | null> {
    const [row] = await this.prisma.$queryRaw<RedeemedRow[]>`
      UPDATE sso_launches SET used_at = now()
      WHERE id_hash = ${idHash} AND used_at IS NULL AND expires_at > now()
      RETURNING tenant_id::text, user_id, email, first_name, last_name, role, return_to, expires_at, used_at`;
    return row ? fromRedeemed(row) : null;
  }

  async find(idHash: Buffer): Promise<SsoLaunch | null> {
    const model = await this.prisma.ssoLaunch.findUnique({ where: { idHash: new Uint8Array(idHash) } });
    return model ? fromModel(model) : null;
  }
}
