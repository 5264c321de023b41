import type { PrismaService } from '../database/prisma.service.js';
import type { Prisma } from '../generated/prisma/client.js';

type Callback<T = void> = (error?: unknown, value?: T) => void;
type StoredSession = { cookie?: { expires?: string | Date | null } } & Record<string, unknown>;

/**
 * Server-side console sessions in Postgres (the @fastify/session store interface), so that any
 * instance can serve a signed-in person; the cookie carries only the signed session id.
 */
export class ConsoleSessionStore {
  constructor(
    private readonly prisma: PrismaService,
    private readonly idleMs: number,
  ) {}

  set(sid: string, session: StoredSession, callback: Callback): void {
    const expires = session.cookie?.expires ? new Date(session.cookie.expires) : new Date(Date.now() + this.idleMs);
    const data = JSON.parse(JSON.stringify(session)) as Prisma.InputJsonValue;
    this.prisma.consoleSession
      .upsert({ where: { sid }, create: { sid, data, expiresAt: expires }, update: { data, expiresAt: expires } })
      .then(() => callback(), callback);
  }

  get(sid: string, callback: Callback<StoredSession | null>): void {
    this.prisma.consoleSession
      .findFirst({ where: { sid, expiresAt: { gt: new Date() } } })
      .then((row) => callback(null, row ? (row.data as StoredSession) : null), callback);
  }

  destroy(sid: string, callback: Callback): void {
    this.prisma.consoleSession.deleteMany({ where: { sid } }).then(() => callback(), callback);
  }
}
