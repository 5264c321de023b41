import { Inject, Injectable, Logger } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { Strategy, ValidateInResponseTo, type Profile } from '@node-saml/passport-saml';
import { ApiError } from '../../common/api-error.js';
import { CONFIG, type Config } from '../../config/config.js';
import { isUniqueViolation } from '../../database/database-errors.js';
import { PrismaService } from '../../database/prisma.service.js';
import { SamlRequestCache } from './saml-request-cache.js';

export type StaffRole = 'admin' | 'finance' | 'analyst';

/** Who is signed in to the console. */
export interface StaffUser {
  nameId: string;
  email: string | null;
  roles: StaffRole[];
}

const REQUEST_TTL_MS = 10 * 60_000;

/**
 * SAML 2.0 sign-in (@node-saml/passport-saml). The IdP certificate is pinned from config; both the
 * response and its assertion must be signed; the audience is our entity id; InResponseTo must name
 * a request we issued; and each request id and assertion id is accepted once, across instances.
 */
@Injectable()
export class SamlStrategy extends PassportStrategy(Strategy, 'saml') {
  private readonly logger = new Logger('SamlStrategy');

  constructor(
    @Inject(CONFIG) private readonly config: Config,
    private readonly prisma: PrismaService,
  ) {
    const saml = config.saml!;
    const options = {
      entryPoint: saml.idpEntryPoint,
      idpIssuer: saml.idpIssuer,
      idpCert: saml.idpCert,
      issuer: saml.spEntityId,
      audience: saml.spEntityId,
      callbackUrl: saml.acsUrl,
      wantAssertionsSigned: true,
      wantAuthnResponseSigned: true,
      validateInResponseTo: ValidateInResponseTo.always,
      requestIdExpirationPeriodMs: REQUEST_TTL_MS,
      cacheProvider: new SamlRequestCache(prisma, REQUEST_TTL_MS),
      acceptedClockSkewMs: 30_000,
      maxAssertionAgeMs: 10 * 60_000,
      disableRequestedAuthnContext: true,
      signatureAlgorithm: 'sha256' as const,
    };
    // The Nest mixin appends validate() as the sign-on verify callback (its typings expect it here too).
    super(...([options] as unknown as [never, never]));
  }

  /** The SAML instance of the strategy: builds AuthnRequests and the SP metadata. */
  get saml() {
    return this._saml!;
  }

  async validate(profile: Profile | null): Promise<StaffUser> {
    if (!profile?.nameID) throw new ApiError(401, 'saml_rejected', 'the SAML response carries no subject');
    await this.consumeOnce(profile);
    const raw = profile[this.config.saml!.roleAttribute];
    const groups = (Array.isArray(raw) ? raw : raw === undefined ? [] : [raw]).map(String);
    const roles = [...new Set(groups.map((group) => this.config.saml!.roleMap[group]).filter((role): role is StaffRole => !!role))];
    if (roles.length === 0) throw new ApiError(403, 'no_console_role', 'your identity provider groups give no embedgate role');
    const email = (profile.email ?? profile.mail ?? null) as string | null;
    return { nameId: profile.nameID, email, roles };
  }

  /** Records the response's InResponseTo and the assertion id; a second use of either is refused. */
  private async consumeOnce(profile: Profile): Promise<void> {
    const assertionId = (profile.getAssertion?.() as { Assertion?: { $?: { ID?: string } } } | undefined)?.Assertion?.$?.ID;
    const inResponseTo = /<(?:[\w-]+:)?Response\b[^>]*\sInResponseTo="([^"]+)"/.exec(profile.getSamlResponseXml?.() ?? '')?.[1];
    if (!assertionId || !inResponseTo) throw new ApiError(401, 'saml_rejected', 'the SAML response lacks an assertion id or InResponseTo');
    try {
      await this.prisma.samlConsumed.createMany({ data: [{ id: `request:${inResponseTo}` }, { id: `assertion:${assertionId}` }] });
    } catch (error) {
      if (isUniqueViolation(error)) {
        this.logger.warn('a SAML response was replayed');
        throw new ApiError(401, 'saml_replayed', 'this SAML response was already used');
      }
      throw error;
    }
    await this.prisma.samlRequest.deleteMany({ where: { id: inResponseTo } });
  }
}
