import { DOMParser } from '@xmldom/xmldom';

const PROTOCOL_NS = 'urn:oasis:names:tc:SAML:2.0:protocol';
const ASSERTION_NS = 'urn:oasis:names:tc:SAML:2.0:assertion';
const ENTITY_FORMAT = 'urn:oasis:names:tc:SAML:2.0:nameid-format:entity';
const BEARER = 'urn:oasis:names:tc:SAML:2.0:cm:bearer';

/** Why a validly signed response is still not for us; each is a stable error code. */
export type EnvelopeRefusal = 'saml_malformed' | 'saml_issuer_mismatch' | 'saml_destination_mismatch' | 'saml_recipient_mismatch';

/** What the SP checks beyond the signature: who sent the response and to whom. */
export interface EnvelopeExpectation {
  idpIssuer: string;
  acsUrl: string;
}

/** The facts embedgate reads from a SAML response, taken only from elements a signature covers. */
export interface SignedResponseFacts {
  responseIssuer: string | null;
  /** Absent is allowed; present must be our ACS URL. */
  destination: string | null;
  inResponseTo: string | null;
  assertionId: string | null;
  assertionIssuer: string | null;
  /** The Recipient of every bearer SubjectConfirmation (null where it has none). */
  bearerRecipients: (string | null)[];
}

const parse = (xml: string): Element | null => {
  let failed = false;
  const onError = () => {
    failed = true;
  };
  const document = new DOMParser({ errorHandler: { warning: () => {}, error: onError, fatalError: onError } }).parseFromString(xml, 'text/xml');
  return failed ? null : (document.documentElement ?? null);
};

const children = (parent: Element, namespace: string, localName: string): Element[] =>
  Array.from(parent.childNodes).filter(
    (node): node is Element => node.nodeType === 1 && (node as Element).namespaceURI === namespace && (node as Element).localName === localName,
  );

const attribute = (element: Element, name: string): string | null => (element.hasAttribute(name) ? element.getAttribute(name) : null);

/** The one Issuer child of a signed element; an Issuer in another Format names no entity (SAML core 2.5.1). */
function issuerOf(element: Element): string | null {
  const issuers = children(element, ASSERTION_NS, 'Issuer');
  if (issuers.length !== 1) return null;
  const format = attribute(issuers[0], 'Format');
  if (format !== null && format !== ENTITY_FORMAT) return null;
  // textContent joins every text node and skips comments: a comment cannot truncate the value.
  return (issuers[0].textContent ?? '').trim();
}

/**
 * Reads the facts from what node-saml hands back after its signature checks: `responseXml` is the
 * document whose root element carries the enveloped signature it verified (wantAuthnResponseSigned),
 * `assertionXml` the signed assertion itself. Only the root element, its direct children and the
 * assertion are read, never a search across the document, so a wrapped copy elsewhere is ignored.
 * Returns null when either is not the SAML element it should be.
 */
export function readSignedResponse(responseXml: string, assertionXml: string): SignedResponseFacts | null {
  const response = parse(responseXml);
  const assertion = parse(assertionXml);
  if (response?.namespaceURI !== PROTOCOL_NS || response.localName !== 'Response') return null;
  if (assertion?.namespaceURI !== ASSERTION_NS || assertion.localName !== 'Assertion') return null;
  const subjects = children(assertion, ASSERTION_NS, 'Subject');
  if (subjects.length !== 1) return null;
  const bearerRecipients = children(subjects[0], ASSERTION_NS, 'SubjectConfirmation')
    .filter((confirmation) => attribute(confirmation, 'Method') === BEARER)
    .map((confirmation) => {
      const data = children(confirmation, ASSERTION_NS, 'SubjectConfirmationData');
      return data.length === 1 ? attribute(data[0], 'Recipient') : null;
    });
  return {
    responseIssuer: issuerOf(response),
    destination: attribute(response, 'Destination'),
    inResponseTo: attribute(response, 'InResponseTo'),
    assertionId: attribute(assertion, 'ID'),
    assertionIssuer: issuerOf(assertion),
    bearerRecipients,
  };
}

/**
 * node-saml checks the signature, audience, times and InResponseTo, but its `idpIssuer` option is
 * only applied to logout messages: the Issuers, Destination and Recipient of a sign-in are ours to check.
 */
export function refusalOf(facts: SignedResponseFacts, expected: EnvelopeExpectation): EnvelopeRefusal | null {
  if (facts.responseIssuer !== expected.idpIssuer || facts.assertionIssuer !== expected.idpIssuer) return 'saml_issuer_mismatch';
  if (facts.destination !== null && facts.destination !== expected.acsUrl) return 'saml_destination_mismatch';
  // Every bearer confirmation must name our ACS (SAML profiles 4.1.4.2), and there must be one.
  if (facts.bearerRecipients.length === 0 || facts.bearerRecipients.some((recipient) => recipient !== expected.acsUrl)) {
    return 'saml_recipient_mismatch';
  }
  return null;
}
