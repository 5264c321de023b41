import { Injectable } from '@nestjs/common';
import { PrismaService } from '../database/prisma.service.js';

/** A row of the epoch read: the bigint counter, cast to text. */
interface CacheEpochRow {
  epoch: string;
}

/** The one-row cache_epoch table: a counter triggers move on every write to the cached tables. */
@Injectable()
export class CacheEpochRepository {
  constructor(private readonly prisma: PrismaService) {}

  /** The current epoch, or null when its row is missing. One prepared statement on the pool (read every CACHE_TTL_MS / 4). */
  async current(): Promise<string | null> {
    const [row] = await this.prisma.sql<CacheEpochRow>('SELECT epoch::text AS epoch FROM cache_epoch WHERE id = 1', [], 'cache-epoch');
    return row ? row.epoch : null;
  }
}
