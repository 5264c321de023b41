import { readSignedResponse, refusalOf } from '../../src/auth/saml/signed-response.js';

const IDP = 'https://idp.test.example/metadata';
const ACS = 'https://embedgate.test.example/auth/saml/acs';
const expected = { idpIssuer: IDP, acsUrl: ACS };
const NS = 'xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion"';
const BEARER = 'urn:oasis:names:tc:SAML:2.0:cm:bearer';

/** The signature checks are node-saml's: these are the documents it would hand back once they pass. */
const response = ({ attributes = `Destination="${ACS}"`, issuer = `<saml:Issuer>${IDP}</saml:Issuer>`, extra = '' } = {}) =>
  `<samlp:Response ${NS} ID="_r" InResponseTo="_req" ${attributes}>${issuer}${extra}<samlp:Status/></samlp:Response>`;
const confirmation = (recipient: string | null, method = BEARER) =>
  `<saml:SubjectConfirmation Method="${method}"><saml:SubjectConfirmationData${recipient === null ? '' : ` Recipient="${recipient}"`}/></saml:SubjectConfirmation>`;
const assertion = ({ issuer = `<saml:Issuer>${IDP}</saml:Issuer>`, confirmations = confirmation(ACS) } = {}) =>
  `<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_a">${issuer}<saml:Subject><saml:NameID>ada</saml:NameID>${confirmations}</saml:Subject></saml:Assertion>`;

const refusal = (responseXml: string, assertionXml: string) => {
  const facts = readSignedResponse(responseXml, assertionXml);
  return facts ? refusalOf(facts, expected) : 'saml_malformed';
};

describe('readSignedResponse', () => {
  it('reads both Issuers, the Destination, InResponseTo, the assertion id and the bearer Recipients', () => {
    expect(readSignedResponse(response(), assertion())).toEqual({
      responseIssuer: IDP,
      destination: ACS,
      inResponseTo: '_req',
      assertionId: '_a',
      assertionIssuer: IDP,
      bearerRecipients: [ACS],
    });
  });

  it('refuses what is not a Response with an Assertion holding one Subject', () => {
    expect(readSignedResponse(assertion(), assertion())).toBeNull();
    expect(readSignedResponse(response(), response())).toBeNull();
    expect(readSignedResponse('not xml <', assertion())).toBeNull();
  });
});

describe('refusalOf', () => {
  it('accepts a response from our IdP addressed to our ACS, with or without a Destination', () => {
    expect(refusal(response(), assertion())).toBeNull();
    expect(refusal(response({ attributes: '' }), assertion())).toBeNull();
  });

  it.each([
    ['no Issuer on the response', response({ issuer: '' }), assertion()],
    ['two Issuers on the response', response({ issuer: `<saml:Issuer>${IDP}</saml:Issuer><saml:Issuer>${IDP}</saml:Issuer>` }), assertion()],
    ['an Issuer in another namespace', response({ issuer: `<x:Issuer xmlns:x="urn:example">${IDP}</x:Issuer>` }), assertion()],
    [
      'an Issuer that is not an entity id',
      response({ issuer: `<saml:Issuer Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress">${IDP}</saml:Issuer>` }),
      assertion(),
    ],
    ['a comment that would truncate a foreign Issuer to ours', response({ issuer: `<saml:Issuer>${IDP}<!-- -->.evil.example</saml:Issuer>` }), assertion()],
    [
      'our Issuer nested deeper than the foreign one',
      response({ issuer: '<saml:Issuer>https://evil.example</saml:Issuer>', extra: `<samlp:Extensions><saml:Issuer>${IDP}</saml:Issuer></samlp:Extensions>` }),
      assertion(),
    ],
    ['no Issuer on the assertion', response(), assertion({ issuer: '' })],
    ['a foreign Issuer on the assertion', response(), assertion({ issuer: '<saml:Issuer>https://evil.example</saml:Issuer>' })],
  ])('refuses %s as saml_issuer_mismatch', (_what, responseXml, assertionXml) => {
    expect(refusal(responseXml, assertionXml)).toBe('saml_issuer_mismatch');
  });

  it('refuses a foreign Destination, and one that differs only by a trailing slash', () => {
    expect(refusal(response({ attributes: 'Destination="https://evil.example/acs"' }), assertion())).toBe('saml_destination_mismatch');
    expect(refusal(response({ attributes: `Destination="${ACS}/"` }), assertion())).toBe('saml_destination_mismatch');
  });

  it.each([
    ['a foreign Recipient', confirmation('https://evil.example/acs')],
    ['no Recipient', confirmation(null)],
    ['a second bearer confirmation for someone else', confirmation(ACS) + confirmation('https://evil.example/acs')],
    ['no bearer confirmation at all', confirmation(ACS, 'urn:oasis:names:tc:SAML:2.0:cm:holder-of-key')],
  ])('refuses %s as saml_recipient_mismatch', (_what, confirmations) => {
    expect(refusal(response(), assertion({ confirmations }))).toBe('saml_recipient_mismatch');
  });
});
