import { Injectable, Logger } from '@nestjs/common';
import type { Principal } from '../auth/principal.js';
import { ApiError } from '../common/api-error.js';
import type { Viewer } from '../auth/viewer.js';
import { EmbedsService } from '../embeds/embeds.service.js';
import type { GuestProviderRequest } from './sdk-request.dto.js';

/** The provider endpoints' work: the viewer's identity, never the request's, goes down the embed path. */
@Injectable()
export class SdkProviders {
  private readonly logger = new Logger('SdkProviders');

  constructor(private readonly embeds: EmbedsService) {}

  ssoToken(principal: Principal, viewer: Viewer) {
    return this.forBrowser(this.embeds.sdkSso(principal, { tenant: viewer.tenant, user: viewer.user }));
  }

  guestToken(principal: Principal, viewer: Viewer, request: GuestProviderRequest) {
    return this.forBrowser(
      this.embeds.sdkGuest(principal, { tenant: viewer.tenant, user: viewer.user }, { type: request.entityType, metabaseId: String(request.entityId) }),
    );
  }

  /** A failure's detail (Metabase's errors, its setup, other users' accounts) goes to the log, not to the viewer's browser. */
  private async forBrowser<T>(answer: Promise<T>): Promise<T> {
    try {
      return await answer;
    } catch (error) {
      const detailed = error instanceof ApiError && (error.status >= 500 || error.code === 'identity_unsafe') && !('decision' in error.extra);
      if (!detailed) throw error;
      this.logger.warn(`provider call failed: ${error.code}: ${error.message}`);
      throw new ApiError(error.status, error.code, 'embedgate could not prepare this viewer’s access right now; retry later', {}, error.headers);
    }
  }
}
