import { Inject, Injectable } from '@nestjs/common';
import { CONFIG, type Config } from '../config/config.js';
import type { StoredSession } from './console-session.js';
import { ConsoleSessionRepository } from './console-session.repository.js';

type Callback<T = void> = (error?: unknown, value?: T) => void;

/**
 * Server-side console sessions in Postgres (the @fastify/session store interface), so that any
 * instance can serve a signed-in person; the cookie carries only the signed session id.
 */
@Injectable()
export class ConsoleSessionStore {
  private readonly idleMs: number;

  constructor(
    private readonly sessions: ConsoleSessionRepository,
    @Inject(CONFIG) config: Pick<Config, 'saml'>,
  ) {
    this.idleMs = (config.saml?.sessionIdleMinutes ?? 0) * 60_000;
  }

  set(sid: string, session: StoredSession, callback: Callback): void {
    const expires = session.cookie?.expires ? new Date(session.cookie.expires) : new Date(Date.now() + this.idleMs);
    this.sessions.save(sid, session, expires).then(() => callback(), callback);
  }

  get(sid: string, callback: Callback<StoredSession | null>): void {
    this.sessions.findLive(sid, new Date()).then((session) => callback(null, session), callback);
  }

  destroy(sid: string, callback: Callback): void {
    this.sessions.remove(sid).then(() => callback(), callback);
  }
}
