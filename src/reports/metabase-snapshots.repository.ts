import { Injectable } from '@nestjs/common';
import { PrismaService } from '../database/prisma.service.js';

/** One reading of Metabase's active (not deactivated) users, with the seats the ledger held then. */
export interface MetabaseUserSnapshot {
  takenAt: Date;
  activeUsers: number;
  seatsHeld: number;
}

/** metabase_user_snapshots: written by the scheduled job, read by the billing report. */
@Injectable()
export class MetabaseSnapshotRepository {
  constructor(private readonly prisma: PrismaService) {}

  async record(snapshot: { activeUsers: number; seatsHeld: number }): Promise<void> {
    await this.prisma.metabaseUserSnapshot.create({ data: snapshot });
  }

  /** When the last snapshot was taken (by any instance); null before the first. */
  async latestAt(): Promise<Date | null> {
    const latest = await this.prisma.metabaseUserSnapshot.findFirst({ orderBy: { takenAt: 'desc' }, select: { takenAt: true } });
    return latest?.takenAt ?? null;
  }

  /** The snapshots taken in [from, end), oldest first. */
  async between(from: Date, end: Date): Promise<MetabaseUserSnapshot[]> {
    const rows = await this.prisma.metabaseUserSnapshot.findMany({
      where: { takenAt: { gte: from, lt: end } },
      orderBy: { takenAt: 'asc' },
      select: { takenAt: true, activeUsers: true, seatsHeld: true },
    });
    return rows.map((row) => ({ takenAt: row.takenAt, activeUsers: row.activeUsers, seatsHeld: row.seatsHeld }));
  }
}
