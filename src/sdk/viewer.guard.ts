import { Inject, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { AppsService } from '../apps/apps.service.js';
import { principalOfViewer, type Viewer } from '../auth/viewer.js';
import { ApiError } from '../common/api-error.js';
import { CONFIG, type Config } from '../config/config.js';
import { OidcViewers } from '../oidc/oidc-viewers.service.js';
import { RateLimits } from '../rate-limits/rate-limits.service.js';
import { claimedPageOrigin } from '../viewer-sessions/page-origin.js';
import { VIEWER_COOKIE_PREFIX, viewerCookieName, ViewerSessionsService } from '../viewer-sessions/viewer-sessions.service.js';
import { refuseForeignOrigin } from './browser-origin.js';
import { bearerCredential } from '../auth/bearer.js';

declare module 'fastify' {
  interface FastifyRequest {
    viewer?: Viewer;
  }
}

/**
 * Authenticates the viewer of a provider call: `Authorization: Bearer <OIDC token>` (the SDK's
 * fetchRequestToken) or, without it, the viewer session cookie of the calling page's origin (a
 * session serves only the origin it was opened for). Then the viewer acts through its app's
 * principal, so the app's tenant scope applies exactly as with the app's key. An address that keeps
 * failing is slowed down like one presenting bad API keys.
 */
@Injectable()
export class ViewerGuard implements CanActivate {
  private readonly ownOrigin: string;

  constructor(
    @Inject(CONFIG) private readonly config: Pick<Config, 'corsOrigins' | 'publicUrl'>,
    private readonly sessions: ViewerSessionsService,
    private readonly oidc: OidcViewers,
    private readonly apps: AppsService,
    private readonly limits: RateLimits,
  ) {
    this.ownOrigin = new URL(config.publicUrl).origin;
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    refuseForeignOrigin(request.headers, this.config.corsOrigins ?? [], this.ownOrigin);
    this.limits.checkAuthFailures(request.ip);
    let viewer: Viewer;
    try {
      viewer = await this.authenticate(request);
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) throw (await this.limits.recordAuthFailure(request.ip)) ?? error;
      throw error;
    }
    const app = await this.apps.find(viewer.appId);
    if (!app) throw new ApiError(401, 'viewer_session_invalid', 'the app this viewer belongs to no longer exists');
    request.viewer = viewer;
    request.principal = principalOfViewer(viewer, app.allTenants);
    return true;
  }

  private async authenticate(request: FastifyRequest): Promise<Viewer> {
    const header = request.headers.authorization;
    if (header !== undefined) {
      const token = bearerCredential(header);
      if (!token) throw new ApiError(401, 'invalid_token', 'send the OIDC token as Authorization: Bearer <token>');
      return this.oidc.verify(token);
    }
    // A browser names its page (Origin); a same-origin GET does not, and then the page is embedgate's own.
    const browser = request.headers['sec-fetch-site'] !== undefined;
    const pageOrigin = claimedPageOrigin(request.headers) ?? (browser ? this.ownOrigin : null);
    const cookies = request.cookies ?? {};
    let secret: string | undefined;
    if (pageOrigin !== null) {
      secret = cookies[viewerCookieName(pageOrigin)];
    } else {
      // A client that is not a browser and names no page: it may hold one viewer cookie, no more.
      const held = Object.keys(cookies).filter((name) => name.startsWith(VIEWER_COOKIE_PREFIX));
      if (held.length > 1) throw new ApiError(401, 'viewer_session_invalid', 'several viewer sessions: send the Origin of the page they belong to');
      secret = held.length === 1 ? cookies[held[0]] : undefined;
    }
    return this.sessions.viewerOf(secret, pageOrigin);
  }
}
