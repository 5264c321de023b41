import { createHash, randomBytes } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { AppsService } from '../apps/apps.service.js';
import type { Principal } from '../auth/principal.js';
import type { Viewer } from '../auth/viewer.js';
import { ApiError } from '../common/api-error.js';
import { CONFIG, type Config } from '../config/config.js';
import { TenantsService } from '../tenants/tenants.service.js';
import type { OpenViewerSessionInput } from './viewer-session.dto.js';
import { ViewerSessionRepository } from './viewer-session.repository.js';
import { sha256 } from '../common/hash.js';

/**
 * The cookie of the sessions bound to one host page origin: one cookie per origin, so a page of one
 * origin can never use (nor replace) a session opened for another. `__Host-` makes browsers insist on
 * Secure, Path=/ and no Domain (no other host can set or shadow it).
 */
export const viewerCookieName = (origin: string) => `__Host-embedgate_viewer_${createHash('sha256').update(origin, 'utf8').digest('hex').slice(0, 16)}`;
export const VIEWER_COOKIE_PREFIX = '__Host-embedgate_viewer_';
/** Exchange URLs live this long and work once. */
const EXCHANGE_TTL_SECONDS = 60;
const RANDOM_PART = /^[A-Za-z0-9_-]{43}$/;
/** How stale last_seen_at may get before a provider call records activity (the repository's touch is given it too). */
const TOUCH_EVERY_MS = 60_000;

const invalidSession = (message: string) => new ApiError(401, 'viewer_session_invalid', message);

/**
 * Viewer sessions: a host app's backend opens one for one user of one tenant (its key, its scope);
 * the browser spends the one-time exchange URL to get an HttpOnly cookie; Metabase's embedding
 * clients then call the provider endpoints with it. Idle and absolute timeouts; ended by the app, by
 * the tenant's suspension and by an admin's release of the user's seat (triggers, see the repository).
 */
@Injectable()
export class ViewerSessionsService {
  constructor(
    @Inject(CONFIG) private readonly config: Pick<Config, 'publicUrl' | 'corsOrigins' | 'viewerSessions'>,
    private readonly sessions: ViewerSessionRepository,
    private readonly tenants: TenantsService,
    private readonly apps: AppsService,
  ) {}

  async open(principal: Principal, input: OpenViewerSessionInput) {
    const tenant = await this.tenantInScope(principal, input.tenant);
    if (tenant.status !== 'active') throw new ApiError(403, 'tenant_suspended', `tenant '${tenant.slug}' is suspended`);
    const returnTo = input.returnTo === undefined ? undefined : this.allowedReturn(input.returnTo);
    const origin = this.pageOrigin(input.origin, returnTo);
    const code = randomBytes(32).toString('base64url');
    const now = Date.now();
    const exchangeExpiresAt = new Date(now + EXCHANGE_TTL_SECONDS * 1000);
    const expiresAt = new Date(now + this.config.viewerSessions.maxHours * 3_600_000);
    const { id } = await this.sessions.create({
      appId: principal.appId!,
      tenantId: tenant.id,
      userId: input.user.id,
      email: input.user.email ?? null,
      firstName: input.user.firstName ?? null,
      lastName: input.user.lastName ?? null,
      role: input.user.role,
      origin,
      keyId: principal.keyId,
      exchangeHash: sha256(code),
      exchangeExpiresAt,
      expiresAt,
    });
    const query = returnTo ? `?returnTo=${encodeURIComponent(returnTo)}` : '';
    return {
      id,
      origin,
      url: `${this.config.publicUrl}/v1/viewer-sessions/exchange/${code}${query}`,
      expiresAt: exchangeExpiresAt.toISOString(),
      sessionExpiresAt: expiresAt.toISOString(),
    };
  }

  /**
   * Spends an exchange code: the cookie (named after the session's origin), its lifetime, and where to
   * send the browser. `fromOrigin` is the page the browser says it comes from (Origin, else Referer):
   * a code sent to someone else and opened from another site does not log them in as its user.
   */
  async exchange(
    code: string,
    returnTo: string | undefined,
    fromOrigin: string | null,
  ): Promise<{ cookieName: string; secret: string; maxAgeSeconds: number; redirectTo?: string }> {
    const redirectTo = returnTo === undefined ? undefined : this.allowedReturn(returnTo);
    const spent = new ApiError(
      410,
      'viewer_session_exchange_invalid',
      'this exchange URL is unknown, already used, expired, or opened from another site than its host page (they work once, for 60 s)',
    );
    if (!RANDOM_PART.test(code)) throw spent;
    const secret = randomBytes(32).toString('base64url');
    const session = await this.sessions.exchange(sha256(code), sha256(secret), fromOrigin);
    if (!session) throw spent;
    return {
      cookieName: viewerCookieName(session.origin),
      secret,
      maxAgeSeconds: Math.max(1, Math.floor((session.expiresAt.getTime() - Date.now()) / 1000)),
      redirectTo,
    };
  }

  /**
   * The viewer a cookie stands for; 401 when there is none or it has ended (and it stays ended), or
   * when the calling page's origin (when the browser said it) is not the session's.
   */
  async viewerOf(secret: string | undefined, pageOrigin: string | null, now = Date.now()): Promise<Viewer> {
    if (!secret)
      throw new ApiError(401, 'viewer_session_required', 'no viewer session: the host app opens one (POST /v1/viewer-sessions), or send an OIDC token');
    if (!RANDOM_PART.test(secret)) throw invalidSession('the viewer session cookie is malformed');
    const session = await this.sessions.findBySecret(sha256(secret));
    if (!session) throw invalidSession('the viewer session is unknown');
    if (pageOrigin !== null && session.origin !== pageOrigin) throw invalidSession('the viewer session belongs to another host page origin');
    if (session.revokedAt) throw invalidSession(`the viewer session has ended (${session.revokedReason ?? 'revoked'})`);
    if (session.expiresAt.getTime() <= now) throw invalidSession('the viewer session has expired');
    const lastSeen = (session.lastSeenAt ?? session.createdAt).getTime();
    if (lastSeen + this.config.viewerSessions.idleMinutes * 60_000 <= now) {
      await this.sessions.end(session.id, 'idle');
      throw invalidSession('the viewer session has ended (idle)');
    }
    if (!session.tenantActive) {
      await this.sessions.end(session.id, 'tenant-suspended');
      throw invalidSession('the viewer session has ended (tenant-suspended)');
    }
    // The idle clock needs minute precision: most calls skip the write (the row just read says when).
    if (now - lastSeen >= TOUCH_EVERY_MS) await this.sessions.touch(session.id, TOUCH_EVERY_MS);
    return {
      appId: session.appId,
      tenant: session.tenantSlug,
      user: {
        id: session.userId,
        email: session.email ?? undefined,
        firstName: session.firstName ?? undefined,
        lastName: session.lastName ?? undefined,
        role: session.role,
      },
      via: { kind: 'session', sessionId: session.id },
    };
  }

  /** Ends one of the calling app's sessions; 404 when it has none with that id. */
  async revoke(principal: Principal, id: string): Promise<void> {
    const notFound = new ApiError(404, 'viewer_session_not_found', 'this app has no viewer session with that id');
    if (!UUID.test(id)) throw notFound;
    const ended = await this.sessions.revoke(principal.appId!, id, 'revoked-by-app');
    if (!ended && !(await this.sessions.exists(principal.appId!, id))) throw notFound;
  }

  /** Ends every session the calling app opened for one user of a tenant. */
  async revokeForUser(principal: Principal, tenantSlug: string, userId: string): Promise<{ revoked: number }> {
    const tenant = await this.tenantInScope(principal, tenantSlug);
    return { revoked: await this.sessions.revokeForUser(principal.appId!, tenant.id, userId, 'revoked-by-app') };
  }

  /** Unknown and out-of-scope tenants answer alike (404), as on the embed path. */
  private async tenantInScope(principal: Principal, slug: string) {
    const tenant = await this.tenants.findCached(slug);
    if (!tenant || !principal.appId || !(await this.apps.mayActFor(principal, tenant.id))) {
      throw new ApiError(404, 'tenant_not_found', 'the tenant does not exist or is outside this app’s scope');
    }
    return tenant;
  }

  /**
   * The host page origin a session is bound to: as given, else returnTo's, else the only one of
   * CORS_ORIGINS, else (no CORS_ORIGINS) embedgate's own. It must be one of those.
   */
  private pageOrigin(given: string | undefined, returnTo: string | undefined): string {
    const own = new URL(this.config.publicUrl).origin;
    const allowed = this.config.corsOrigins ?? [];
    const fallback = allowed.length === 1 ? allowed[0] : allowed.length === 0 ? own : undefined;
    const origin = given ? new URL(given).origin : returnTo ? new URL(returnTo).origin : fallback;
    if (origin === undefined) {
      throw new ApiError(400, 'validation_error', 'origin is required: the origin of the host page that will call the providers (one of CORS_ORIGINS)');
    }
    if (origin !== own && !allowed.includes(origin)) throw new ApiError(400, 'origin_not_allowed', `origin ${origin} is not one of CORS_ORIGINS`);
    return origin;
  }

  /** A return URL on one of CORS_ORIGINS (the host pages), never elsewhere: no open redirect. */
  private allowedReturn(returnTo: string): string {
    let url: URL;
    try {
      url = new URL(returnTo);
    } catch {
      throw new ApiError(400, 'validation_error', 'returnTo must be an absolute http(s) URL');
    }
    if (!(this.config.corsOrigins ?? []).includes(url.origin) || !/^https?:$/.test(url.protocol)) {
      throw new ApiError(400, 'return_to_not_allowed', 'returnTo must be on one of the host origins in CORS_ORIGINS');
    }
    return url.href;
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
