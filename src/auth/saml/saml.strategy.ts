import { Inject, Injectable, Logger } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { Strategy, ValidateInResponseTo, type Profile } from '@node-saml/passport-saml';
import { ApiError } from '../../common/api-error.js';
import { CONFIG, type Config } from '../../config/config.js';
import type { StaffRole, StaffUser } from '../staff/staff-session.js';
import { SamlRequestCache } from './saml-request-cache.js';
import { SamlRepository } from './saml.repository.js';
import { readSignedResponse, refusalOf, type EnvelopeExpectation, type SignedResponseFacts } from './signed-response.js';

const REQUEST_TTL_MS = 10 * 60_000;

/** Our words for each refusal of a signed response: the page shows the code, the log the reason. */
const ENVELOPE_REFUSALS = {
  saml_malformed: 'the SAML response is not a Response with one Assertion and one Subject',
  saml_issuer_mismatch: 'the Issuer of the SAML response or of its assertion is not our identity provider',
  saml_destination_mismatch: 'the SAML response was sent to another Destination',
  saml_recipient_mismatch: 'the SAML assertion names another Recipient, or none',
} as const;

/**
 * SAML 2.0 sign-in (@node-saml/passport-saml). The IdP certificate is pinned from config; both the
 * response and its assertion must be signed; the audience is our entity id; InResponseTo must name
 * a request we issued; both Issuers are our IdP, Destination and Recipient our ACS; and each request
 * id and assertion id is accepted once, across instances.
 */
@Injectable()
export class SamlStrategy extends PassportStrategy(Strategy, 'saml') {
  private readonly logger = new Logger('SamlStrategy');
  private readonly envelope: EnvelopeExpectation;

  constructor(
    @Inject(CONFIG) private readonly config: Config,
    private readonly repository: SamlRepository,
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
      // Also what makes the Response's root element (whose Issuer and Destination checkEnvelope reads) signed content.
      wantAuthnResponseSigned: true,
      validateInResponseTo: ValidateInResponseTo.always,
      requestIdExpirationPeriodMs: REQUEST_TTL_MS,
      cacheProvider: new SamlRequestCache(repository, REQUEST_TTL_MS),
      acceptedClockSkewMs: 30_000,
      maxAssertionAgeMs: 10 * 60_000,
      disableRequestedAuthnContext: true,
      signatureAlgorithm: 'sha256' as const,
    };
    // The Nest mixin appends validate() as the sign-on verify callback (its typings expect it here too).
    super(...([options] as unknown as [never, never]));
    this.envelope = { idpIssuer: saml.idpIssuer, acsUrl: saml.acsUrl };
  }

  /** The SAML instance of the strategy: builds AuthnRequests and the SP metadata. */
  get saml() {
    return this._saml!;
  }

  async validate(profile: Profile | null): Promise<StaffUser> {
    if (!profile?.nameID) throw new ApiError(401, 'saml_rejected', 'the SAML response carries no subject');
    const facts = this.checkEnvelope(profile);
    await this.consumeOnce(facts);
    const roles = this.rolesOf(profile);
    if (roles.length === 0) {
      this.logger.warn('SAML sign-in refused (no_console_role): the IdP groups map to no console role');
      throw new ApiError(403, 'no_console_role', 'your identity provider groups give no embedgate role');
    }
    const email = (profile.email ?? profile.mail ?? null) as string | null;
    return { nameId: profile.nameID, email, roles };
  }

  /** The Issuers, Destination and Recipient, read from the signed elements node-saml hands back. */
  private checkEnvelope(profile: Profile): SignedResponseFacts {
    const facts = readSignedResponse(profile.getSamlResponseXml?.() ?? '', profile.getAssertionXml?.() ?? '');
    const refusal = facts ? refusalOf(facts, this.envelope) : 'saml_malformed';
    if (refusal) {
      const received = facts && {
        responseIssuer: facts.responseIssuer,
        assertionIssuer: facts.assertionIssuer,
        destination: facts.destination,
        recipients: facts.bearerRecipients,
      };
      this.logger.warn(`SAML sign-in refused (${refusal}): ${ENVELOPE_REFUSALS[refusal]}; received ${JSON.stringify(received).slice(0, 600)}`);
      throw new ApiError(401, refusal, ENVELOPE_REFUSALS[refusal]);
    }
    return facts!;
  }

  /** The console roles of the IdP groups: exact names, own entries of the role map only. */
  private rolesOf(profile: Profile): StaffRole[] {
    const attributes = (profile.attributes ?? {}) as Record<string, unknown>;
    const attributeName = this.config.saml!.roleAttribute;
    const raw = Object.hasOwn(attributes, attributeName) ? attributes[attributeName] : undefined;
    const groups = (Array.isArray(raw) ? raw : [raw]).filter((group): group is string => typeof group === 'string');
    const roleMap = this.config.saml!.roleMap;
    return [...new Set(groups.flatMap((group) => roleMap.get(group) ?? []))];
  }

  /** Records the response's InResponseTo and the assertion id; a second use of either is refused. */
  private async consumeOnce({ assertionId, inResponseTo }: SignedResponseFacts): Promise<void> {
    if (!assertionId || !inResponseTo) throw new ApiError(401, 'saml_rejected', 'the SAML response lacks an assertion id or InResponseTo');
    if (!(await this.repository.consumeOnce(inResponseTo, assertionId))) {
      this.logger.warn('a SAML response was replayed');
      throw new ApiError(401, 'saml_replayed', 'this SAML response was already used');
    }
    await this.repository.removeRequest(inResponseTo);
  }
}
