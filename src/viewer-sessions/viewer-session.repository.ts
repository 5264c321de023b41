import { Injectable } from '@nestjs/common';
import { PrismaService } from '../database/prisma.service.js';
import type { NewViewerSession, ViewerSession } from './viewer-session.js';

interface ViewerSessionRow {
  id: string;
  appId: string;
  tenantId: string;
  tenantSlug: string;
  tenantStatus: string;
  userId: string;
  email: string | null;
  firstName: string | null;
  lastName: string | null;
  role: string;
  origin: string;
  createdAt: Date;
  lastSeenAt: Date | null;
  expiresAt: Date;
  revokedAt: Date | null;
  revokedReason: string | null;
}

const fromRow = (row: ViewerSessionRow): ViewerSession => ({
  id: row.id,
  appId: row.appId,
  tenantId: row.tenantId,
  tenantSlug: row.tenantSlug,
  tenantActive: row.tenantStatus === 'active',
  userId: row.userId,
  email: row.email,
  firstName: row.firstName,
  lastName: row.lastName,
  role: row.role === 'analyst' ? 'analyst' : 'viewer',
  origin: row.origin,
  createdAt: row.createdAt,
  lastSeenAt: row.lastSeenAt,
  expiresAt: row.expiresAt,
  revokedAt: row.revokedAt,
  revokedReason: row.revokedReason,
});

const COLUMNS = `v.id, v.app_id AS "appId", v.tenant_id AS "tenantId", t.slug AS "tenantSlug", t.status::text AS "tenantStatus",
  v.user_id AS "userId", v.email, v.first_name AS "firstName", v.last_name AS "lastName", v.role, v.origin, v.created_at AS "createdAt",
  v.last_seen_at AS "lastSeenAt", v.expires_at AS "expiresAt", v.revoked_at AS "revokedAt", v.revoked_reason AS "revokedReason"`;

/**
 * The viewer_sessions table. Sessions end by themselves (timeouts), by their app (revocation), and by
 * two database triggers (the viewer_sessions migration): when their tenant is suspended, and when an
 * admin releases their user's seat — in the same transaction as that change, on every instance.
 */
@Injectable()
export class ViewerSessionRepository {
  constructor(private readonly prisma: PrismaService) {}

  async create(session: NewViewerSession): Promise<{ id: string }> {
    return this.prisma.viewerSession.create({ data: { ...session, exchangeHash: new Uint8Array(session.exchangeHash) }, select: { id: true } });
  }

  /**
   * Spends a one-time exchange code: binds the cookie's secret to the session, in one statement, so
   * a code works once however many browsers race with it. Null when unknown, spent, expired, revoked,
   * or opened from a page of another origin than the session's (`fromOrigin`, when the browser says).
   */
  async exchange(exchangeHash: Buffer, secretHash: Buffer, fromOrigin: string | null): Promise<{ id: string; expiresAt: Date; origin: string } | null> {
    const [row] = await this.prisma.sql<{ id: string; expiresAt: Date; origin: string }>(
      `UPDATE viewer_sessions SET exchange_hash = NULL, secret_hash = $2, exchanged_at = now(), last_seen_at = now()
        WHERE exchange_hash = $1 AND exchange_expires_at > now() AND revoked_at IS NULL AND expires_at > now()
          AND ($3::text IS NULL OR origin = $3::text)
        RETURNING id, expires_at AS "expiresAt", origin`,
      [exchangeHash, secretHash, fromOrigin],
      'viewer-session-exchange',
    );
    return row ?? null;
  }

  /** The session a cookie's secret belongs to, with its tenant's slug and status. */
  async findBySecret(secretHash: Buffer): Promise<ViewerSession | null> {
    const [row] = await this.prisma.sql<ViewerSessionRow>(
      `SELECT ${COLUMNS} FROM viewer_sessions v JOIN tenants t ON t.id = v.tenant_id WHERE v.secret_hash = $1`,
      [secretHash],
      'viewer-session-by-secret',
    );
    return row ? fromRow(row) : null;
  }

  /** Records activity (for the idle timeout), unless it was recorded less than `everyMs` ago (a sibling call did). */
  async touch(id: string, everyMs: number): Promise<void> {
    await this.prisma.sql(
      `UPDATE viewer_sessions SET last_seen_at = now() WHERE id = $1::uuid AND (last_seen_at IS NULL OR last_seen_at < now() - make_interval(secs => $2::float8 / 1000))`,
      [id, everyMs],
      'viewer-session-touch',
    );
  }

  /** Ends one session of an app; false when it has none with that id (or it had ended). */
  async revoke(appId: string, id: string, reason: string): Promise<boolean> {
    const result = await this.prisma.viewerSession.updateMany({
      where: { id, appId, revokedAt: null },
      data: { revokedAt: new Date(), revokedReason: reason, exchangeHash: null },
    });
    return result.count > 0;
  }

  /** Whether the app has a session with this id (ended or not). */
  async exists(appId: string, id: string): Promise<boolean> {
    return (await this.prisma.viewerSession.count({ where: { id, appId } })) > 0;
  }

  /** Ends every live session of one user of a tenant, opened by the app. */
  async revokeForUser(appId: string, tenantId: string, userId: string, reason: string): Promise<number> {
    const result = await this.prisma.viewerSession.updateMany({
      where: { appId, tenantId, userId, revokedAt: null },
      data: { revokedAt: new Date(), revokedReason: reason, exchangeHash: null },
    });
    return result.count;
  }

  /** Ends a session found dead on use (so it stays ended even if its tenant comes back). */
  async end(id: string, reason: string): Promise<void> {
    await this.prisma.viewerSession.updateMany({ where: { id, revokedAt: null }, data: { revokedAt: new Date(), revokedReason: reason } });
  }
}
