import { Injectable, type ExecutionContext } from '@nestjs/common';
import { AuthGuard } from '@nestjs/passport';
import { ApiError } from '../../common/api-error.js';

/** Runs the SAML strategy on the ACS request; any failure is a 401 with no session. */
@Injectable()
export class SamlAuthGuard extends AuthGuard('saml') {
  override handleRequest<T>(error: unknown, user: T, info: unknown, _context: ExecutionContext): T {
    if (error instanceof ApiError) throw error;
    if (error || !user) {
      const reason = error instanceof Error ? error.message : info instanceof Error ? info.message : 'the SAML response was not accepted';
      throw new ApiError(401, 'saml_rejected', `sign-in refused: ${reason}`);
    }
    return user;
  }
}
