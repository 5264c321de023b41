import { randomBytes } from 'node:crypto';
import { inflateRawSync } from 'node:zlib';
import { DOMParser } from '@xmldom/xmldom';
import { SignedXml } from 'xml-crypto';
import type { DemoSettings } from '../config/demo-defaults.js';
import type { DEMO_STAFF } from './demo-staff.js';

const PROTOCOL_NS = 'urn:oasis:names:tc:SAML:2.0:protocol';
const ASSERTION_NS = 'urn:oasis:names:tc:SAML:2.0:assertion';
const RSA_SHA256 = 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256';
const SHA256 = 'http://www.w3.org/2001/04/xmlenc#sha256';
const EXC_C14N = 'http://www.w3.org/2001/10/xml-exc-c14n#';
const ENVELOPED = 'http://www.w3.org/2000/09/xmldsig#enveloped-signature';
const EMAIL_FORMAT = 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress';
/** As long as the service keeps the AuthnRequest's id (saml.strategy.ts: REQUEST_TTL_MS). */
const VALID_MS = 10 * 60_000;
/** A deflated AuthnRequest is a few hundred bytes; anything near this is not one. */
const MAX_REQUEST_BYTES = 16 * 1024;
const NC_NAME = /^[A-Za-z_][A-Za-z0-9._-]{0,255}$/;

export type DemoPerson = (typeof DEMO_STAFF)[number];

/** The service provider the demo IdP answers: embedgate itself (config.saml). */
export interface DemoServiceProvider {
  entityId: string;
  acsUrl: string;
}

/** Why an AuthnRequest was not answered. */
export class DemoIdpRefusal extends Error {}

const escapeXml = (value: string) => value.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!);
const samlId = () => `_${randomBytes(20).toString('hex')}`;
const childElements = (parent: Element, namespace: string, localName: string): Element[] =>
  Array.from(parent.childNodes).filter(
    (node): node is Element => node.nodeType === 1 && (node as Element).namespaceURI === namespace && (node as Element).localName === localName,
  );

/**
 * The demo's SAML 2.0 identity provider, inside the process: it reads the service's AuthnRequest
 * (HTTP-Redirect binding) and answers it with a Response and an Assertion that are both signed
 * (RSA-SHA256, exclusive c14n, xml-crypto) with the demo's generated key, whose certificate the
 * service pins like any IdP's (SAML_IDP_CERT). The service checks them with its ordinary SAML code.
 * It answers only embedgate: the request's Issuer must be our SP entity id, and the response goes to
 * our ACS whatever the request names.
 */
export class DemoIdentityProvider {
  constructor(
    private readonly idp: NonNullable<DemoSettings['idp']>,
    private readonly sp: DemoServiceProvider,
  ) {}

  /** Where the responses go: the service's assertion consumer. */
  get acsUrl(): string {
    return this.sp.acsUrl;
  }

  /** The id of the AuthnRequest in a SAMLRequest query value (base64 of raw DEFLATE); refuses anything but ours. */
  readAuthnRequest(samlRequest: string): { id: string } {
    let xml: string;
    try {
      xml = inflateRawSync(Buffer.from(samlRequest, 'base64'), { maxOutputLength: MAX_REQUEST_BYTES }).toString('utf8');
    } catch {
      throw new DemoIdpRefusal('SAMLRequest is not a deflated, base64-encoded AuthnRequest');
    }
    let failed = false;
    const onError = () => {
      failed = true;
    };
    const root = new DOMParser({ errorHandler: { warning: () => {}, error: onError, fatalError: onError } }).parseFromString(xml, 'text/xml').documentElement;
    if (failed || root?.namespaceURI !== PROTOCOL_NS || root.localName !== 'AuthnRequest') throw new DemoIdpRefusal('SAMLRequest is not an AuthnRequest');
    const id = root.getAttribute('ID') ?? '';
    if (!NC_NAME.test(id)) throw new DemoIdpRefusal('the AuthnRequest has no valid ID');
    const issuers = childElements(root, ASSERTION_NS, 'Issuer');
    if (issuers.length !== 1 || (issuers[0].textContent ?? '').trim() !== this.sp.entityId) {
      throw new DemoIdpRefusal('the AuthnRequest comes from another service provider: the demo identity provider answers only this embedgate');
    }
    const acs = root.getAttribute('AssertionConsumerServiceURL');
    if (acs && acs !== this.sp.acsUrl) throw new DemoIdpRefusal('the AuthnRequest asks for another assertion consumer service');
    return { id };
  }

  /** A signed SAML Response (base64, for the HTTP-POST binding) signing `person` in, in answer to the request `inResponseTo`. */
  signedResponse(inResponseTo: string, person: DemoPerson, now = new Date()): string {
    const instant = now.toISOString();
    const notBefore = new Date(now.getTime() - 60_000).toISOString();
    const notOnOrAfter = new Date(now.getTime() + VALID_MS).toISOString();
    const [acs, sp, issuer, requestId] = [this.sp.acsUrl, this.sp.entityId, this.idp.issuer, inResponseTo].map(escapeXml);
    const attribute = (name: string, values: string[]) =>
      `<saml:Attribute Name="${name}" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:basic">` +
      values.map((value) => `<saml:AttributeValue>${escapeXml(value)}</saml:AttributeValue>`).join('') +
      `</saml:Attribute>`;
    const assertion =
      `<saml:Assertion xmlns:saml="${ASSERTION_NS}" ID="${samlId()}" Version="2.0" IssueInstant="${instant}">` +
      `<saml:Issuer>${issuer}</saml:Issuer>` +
      `<saml:Subject><saml:NameID Format="${EMAIL_FORMAT}">${escapeXml(person.email)}</saml:NameID>` +
      `<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer">` +
      `<saml:SubjectConfirmationData NotOnOrAfter="${notOnOrAfter}" Recipient="${acs}" InResponseTo="${requestId}"/>` +
      `</saml:SubjectConfirmation></saml:Subject>` +
      `<saml:Conditions NotBefore="${notBefore}" NotOnOrAfter="${notOnOrAfter}"><saml:AudienceRestriction><saml:Audience>${sp}</saml:Audience></saml:AudienceRestriction></saml:Conditions>` +
      `<saml:AuthnStatement AuthnInstant="${instant}" SessionIndex="${samlId()}"><saml:AuthnContext>` +
      `<saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:unspecified</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>` +
      `<saml:AttributeStatement>${attribute('groups', [person.group])}${attribute('email', [person.email])}${attribute('displayName', [person.name])}</saml:AttributeStatement>` +
      `</saml:Assertion>`;
    const response =
      `<samlp:Response xmlns:samlp="${PROTOCOL_NS}" xmlns:saml="${ASSERTION_NS}" ID="${samlId()}" Version="2.0" IssueInstant="${instant}" Destination="${acs}" InResponseTo="${requestId}">` +
      `<saml:Issuer>${issuer}</saml:Issuer><samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>` +
      assertion +
      `</samlp:Response>`;
    // The assertion first, then the response, whose signature covers the signed assertion.
    const root = "/*[local-name(.)='Response']";
    const withAssertionSigned = this.sign(response, `${root}/*[local-name(.)='Assertion']`);
    return Buffer.from(this.sign(withAssertionSigned, root), 'utf8').toString('base64');
  }

  /** The IdP's SAML metadata: its entity id, signing certificate and SSO endpoint. */
  metadata(): string {
    const certificate = this.idp.cert.replace(/-----(BEGIN|END) CERTIFICATE-----|\s/g, '');
    return (
      `<?xml version="1.0" encoding="UTF-8"?>\n` +
      `<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="${escapeXml(this.idp.issuer)}">` +
      `<md:IDPSSODescriptor WantAuthnRequestsSigned="false" protocolSupportEnumeration="${PROTOCOL_NS}">` +
      `<md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>${certificate}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>` +
      `<md:NameIDFormat>${EMAIL_FORMAT}</md:NameIDFormat>` +
      `<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="${escapeXml(this.idp.ssoUrl)}"/>` +
      `</md:IDPSSODescriptor></md:EntityDescriptor>\n`
    );
  }

  /** An enveloped signature of the element at `xpath`, placed right after its Issuer (where SAML's schema wants it). */
  private sign(xml: string, xpath: string): string {
    const signature = new SignedXml({
      privateKey: this.idp.privateKey,
      publicCert: this.idp.cert,
      signatureAlgorithm: RSA_SHA256,
      canonicalizationAlgorithm: EXC_C14N,
    });
    signature.addReference({ xpath, transforms: [ENVELOPED, EXC_C14N], digestAlgorithm: SHA256 });
    signature.computeSignature(xml, { prefix: 'ds', location: { reference: `${xpath}/*[local-name(.)='Issuer']`, action: 'after' } });
    return signature.getSignedXml();
  }
}
