import { Injectable, Logger } from '@nestjs/common';
import { decodeJwt, decodeProtectedHeader, errors, jwtVerify, type JWTPayload } from 'jose';
import type { Viewer } from '../auth/viewer.js';
import { ApiError } from '../common/api-error.js';
import { ClaimProblem, viewerOfClaims } from './oidc-claims.js';
import { OidcKeys, OidcKeysUnavailable } from './oidc-keys.service.js';
import { MAX_ISSUER_LENGTH } from './oidc-provider.dto.js';
import type { OidcProvider } from './oidc-provider.js';
import { OidcProvidersService } from './oidc-providers.service.js';

/** Far above any identity provider's token; a longer header is refused before any work. */
const MAX_TOKEN_LENGTH = 16_384;
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

const invalidToken = (message: string) => new ApiError(401, 'invalid_token', message);

/** A header value fit for a message: an algorithm name as jose knows them, or nothing. */
const shown = (value: unknown) => (typeof value === 'string' && /^[A-Za-z0-9]{1,16}$/.test(value) ? value : undefined);

/** What was wrong, from jose's error (its messages hold no part of the token; these say it plainly). */
function describe(error: unknown, provider: OidcProvider): string {
  if (error instanceof errors.JWTExpired) {
    return error.claim === 'iat' ? `the token is too old: issued more than ${provider.maxTokenAgeSeconds} s ago (maxTokenAgeSeconds)` : 'the token has expired';
  }
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.reason === 'missing') return `the token has no "${error.claim}" claim`;
    if (error.claim === 'iss') return 'wrong issuer';
    if (error.claim === 'aud') return 'wrong audience: the token is not for this app';
    if (error.claim === 'nbf') return 'the token is not valid yet (nbf)';
    if (error.claim === 'iat') return 'the token was issued in the future (iat)';
    return `the "${error.claim}" claim is invalid`;
  }
  if (error instanceof errors.JOSEAlgNotAllowed) return `algorithm not allowed (allowed: ${provider.algorithms.join(', ')})`;
  if (error instanceof errors.JWKSNoMatchingKey) return "unknown key: no key of the issuer's JWKS matches the token's kid and algorithm";
  if (error instanceof errors.JWKSMultipleMatchingKeys) return "several keys of the issuer's JWKS match: the token must name its key (kid)";
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'bad signature';
  if (error instanceof errors.JWKSTimeout) return "the issuer's JWKS did not answer in time";
  if (error instanceof errors.JWKSInvalid || error instanceof errors.JWKInvalid) return "the issuer's JWKS is not a valid key set";
  if (error instanceof errors.JOSENotSupported) return 'unsupported algorithm or key type';
  if (error instanceof errors.JWSInvalid || error instanceof errors.JWTInvalid) return 'malformed token';
  return "the issuer's JWKS could not be fetched";
}

/**
 * Viewers from OIDC tokens of host apps' identity providers (`Authorization: Bearer <token>` on the
 * provider endpoints). The token's issuer picks the app (its audience too, when apps share the
 * issuer); jose verifies it against that app's provider: key set, issuer, audience, algorithm
 * allow-list, clock tolerance, maximum age and required claims. Whether the app may act for the
 * viewer's tenant is the caller's check.
 */
@Injectable()
export class OidcViewers {
  private readonly logger = new Logger('OidcViewers');

  constructor(
    private readonly providers: OidcProvidersService,
    private readonly keys: OidcKeys,
  ) {}

  /** The viewer a bearer token names; any fault in the token is a 401 invalid_token saying what was wrong. */
  async verify(bearerToken: string): Promise<Viewer> {
    if (bearerToken.length > MAX_TOKEN_LENGTH || !COMPACT_JWS.test(bearerToken)) {
      throw invalidToken('malformed token: expected a signed JWT (three base64url parts)');
    }
    let header: ReturnType<typeof decodeProtectedHeader>;
    let unverified: JWTPayload;
    try {
      header = decodeProtectedHeader(bearerToken);
      unverified = decodeJwt(bearerToken);
    } catch {
      throw invalidToken('malformed token: its header or claims are not JSON objects');
    }
    if (typeof unverified.iss !== 'string' || unverified.iss === '') throw invalidToken('the token has no issuer (iss)');
    if (unverified.iss.length > MAX_ISSUER_LENGTH) throw invalidToken('unknown issuer: no app takes tokens from it');
    const provider = this.providerFor(await this.providers.forIssuer(unverified.iss), unverified.aud);
    // jose refuses it too; said first, plainly (and before any key is fetched).
    if (!provider.algorithms.some((algorithm) => algorithm === header.alg)) {
      const alg = shown(header.alg);
      throw invalidToken(`algorithm ${alg ? `${alg} ` : ''}not allowed (allowed: ${provider.algorithms.join(', ')})`);
    }
    let payload: JWTPayload;
    try {
      const keys = await this.keys.keysFor(provider);
      ({ payload } = await jwtVerify(bearerToken, keys, {
        issuer: provider.issuer,
        audience: provider.audience,
        algorithms: provider.algorithms,
        clockTolerance: provider.clockToleranceSeconds,
        maxTokenAge: provider.maxTokenAgeSeconds,
        requiredClaims: ['iat', 'exp', provider.claims.tenant, provider.claims.userId],
      }));
    } catch (error) {
      if (error instanceof OidcKeysUnavailable) throw invalidToken(error.message);
      // A network failure (jose's own errors say what the token did wrong): worth an operator's look.
      if (!(error instanceof errors.JOSEError)) {
        this.logger.warn(`app ${provider.appId}: its JWKS could not be fetched (${error instanceof Error ? error.message : String(error)})`);
      }
      throw invalidToken(describe(error, provider));
    }
    try {
      return viewerOfClaims(provider, payload);
    } catch (error) {
      if (error instanceof ClaimProblem) throw invalidToken(error.message);
      throw error;
    }
  }

  /** The one provider the token is for: by issuer, then by audience when apps share the issuer. */
  private providerFor(candidates: OidcProvider[], aud: JWTPayload['aud']): OidcProvider {
    if (candidates.length === 0) throw invalidToken('unknown issuer: no app takes tokens from it');
    if (candidates.length === 1) return candidates[0];
    const audiences = typeof aud === 'string' ? [aud] : Array.isArray(aud) ? aud : [];
    const matching = candidates.filter((candidate) => audiences.includes(candidate.audience));
    if (matching.length === 0) throw invalidToken('wrong audience: the token is not for any app of its issuer');
    if (matching.length > 1) throw invalidToken('ambiguous audience: the token names several apps of its issuer');
    return matching[0];
  }
}
