import { Injectable } from '@nestjs/common';
import { PrismaService } from '../database/prisma.service.js';
import { clientOf, type Tx } from '../database/transactions.js';
import { FAIL_CLOSED_DEFAULT, type FailClosedSetting } from './fail-closed.js';

/** The fail-closed switch: one row (id 1) of metabase_fail_closed; no row means on. */
@Injectable()
export class FailClosedRepository {
  constructor(private readonly prisma: PrismaService) {}

  async get(tx?: Tx): Promise<FailClosedSetting> {
    const row = await clientOf(this.prisma, tx).metabaseFailClosed.findUnique({ where: { id: 1 } });
    return row ? { enabled: row.enabled, reason: row.reason, actor: row.actor, changedAt: row.changedAt } : FAIL_CLOSED_DEFAULT;
  }

  async set(change: { enabled: boolean; reason: string; actor: string }, tx: Tx): Promise<FailClosedSetting> {
    const row = await clientOf(this.prisma, tx).metabaseFailClosed.upsert({
      where: { id: 1 },
      create: { id: 1, ...change },
      update: { ...change, changedAt: new Date() },
    });
    return { enabled: row.enabled, reason: row.reason, actor: row.actor, changedAt: row.changedAt };
  }
}
