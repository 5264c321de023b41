import { Injectable, Logger, type ExecutionContext } from '@nestjs/common';
import { AuthGuard } from '@nestjs/passport';
import { ApiError } from '../../common/api-error.js';
import { isDatabaseUnavailable } from '../../database/database-errors.js';

/** Runs the SAML strategy on the ACS request; any failure is a refusal with a stable code and no session. */
@Injectable()
export class SamlAuthGuard extends AuthGuard('saml') {
  private readonly logger = new Logger('SamlAuthGuard');

  override handleRequest<T>(error: unknown, user: T, info: unknown, _context: ExecutionContext): T {
    if (error instanceof ApiError || isDatabaseUnavailable(error)) throw error;
    if (error || !user) {
      // The library's words name its internals: they go to the log, the browser gets our code only.
      const reason = error instanceof Error ? error.message : info instanceof Error ? info.message : 'no profile in the SAML response';
      this.logger.warn(`SAML sign-in refused (saml_rejected): ${reason.slice(0, 300)}`);
      throw new ApiError(401, 'saml_rejected', 'the SAML response was not accepted');
    }
    return user;
  }
}
