import { Injectable } from '@nestjs/common';
import { PrismaService } from '../database/prisma.service.js';
import type { Prisma } from '../generated/prisma/client.js';
import type { StoredSession } from './console-session.js';

/** The console_sessions table: one row per session id, its data as JSON, until it expires. */
@Injectable()
export class ConsoleSessionRepository {
  constructor(private readonly prisma: PrismaService) {}

  async save(sid: string, session: StoredSession, expiresAt: Date): Promise<void> {
    // A plain JSON copy: dates become strings, as they will be when read back.
    const data = JSON.parse(JSON.stringify(session)) as Prisma.InputJsonValue;
    await this.prisma.consoleSession.upsert({ where: { sid }, create: { sid, data, expiresAt }, update: { data, expiresAt } });
  }

  /** The session, unless it is unknown or expired. */
  async findLive(sid: string, now: Date): Promise<StoredSession | null> {
    const row = await this.prisma.consoleSession.findFirst({ where: { sid, expiresAt: { gt: now } }, select: { data: true } });
    return row ? toStoredSession(row.data) : null;
  }

  async remove(sid: string): Promise<void> {
    await this.prisma.consoleSession.deleteMany({ where: { sid } });
  }
}

/** The stored JSON is what save() wrote: an object (anything else reads as an empty session). */
function toStoredSession(data: Prisma.JsonValue): StoredSession {
  return data !== null && typeof data === 'object' && !Array.isArray(data) ? (data as StoredSession) : {};
}
