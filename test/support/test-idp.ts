import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { inflateRawSync } from 'node:zlib';
import * as samlify from 'samlify';
import selfsigned from 'selfsigned';

const POST = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST';
const REDIRECT = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect';

// The test IdP only builds responses; it never parses SAML, so no schema validator is needed.
samlify.setSchemaValidator({ validate: async () => 'skipped' });

export interface ResponseOptions {
  inResponseTo: string;
  nameId?: string;
  groups?: string[];
  /** Defaults to the SP's entity id. */
  audience?: string;
  /** Seconds from now until the assertion expires (negative: already expired). */
  validForSeconds?: number;
  /** Sign the response and the assertion (default), or neither. */
  signed?: boolean;
  /** The Response's Destination; null leaves the attribute out. Defaults to the SP's ACS URL. */
  destination?: string | null;
  /** The Issuer of the Response (samlify signs after it, so it cannot be left out). Defaults to this IdP's entity id. */
  responseIssuer?: string;
  /** The Issuer of the Assertion. Defaults to this IdP's entity id. */
  assertionIssuer?: string;
  /** The bearer SubjectConfirmationData's Recipient; null leaves the attribute out. Defaults to the SP's ACS URL. */
  recipient?: string | null;
}

/** samlify's response template has one {Issuer} tag for both Issuers: give each its own, to vary them apart. */
function withIssuerTags(template: string): string {
  const response = '<saml:Issuer>{Issuer}</saml:Issuer><samlp:Status>';
  const assertion = '<saml:Issuer>{Issuer}</saml:Issuer><saml:Subject>';
  if (!template.includes(response) || !template.includes(assertion)) throw new Error('samlify changed its login response template');
  return template
    .replace(response, '<saml:Issuer>{ResponseIssuer}</saml:Issuer><samlp:Status>')
    .replace(assertion, '<saml:Issuer>{AssertionIssuer}</saml:Issuer><saml:Subject>');
}

/**
 * An identity provider built on samlify (an implementation independent of node-saml), with its own
 * key pair and self-signed certificate made for the test. It signs real SAML responses; it also
 * serves an SSO endpoint that answers an AuthnRequest with an auto-posting form, as a real IdP does.
 */
export class TestIdp {
  private server?: Server;
  url = '';
  /** Who the IdP signs in when a browser arrives (for browser tests). */
  loginAs = { nameId: 'ada@corp.example', groups: ['bi-admins'] };

  private constructor(
    readonly entityId: string,
    readonly cert: string,
    private readonly privateKey: string,
  ) {}

  static async create(entityId = 'https://idp.test.example/metadata'): Promise<TestIdp> {
    const pems = await selfsigned.generate([{ name: 'commonName', value: 'test-idp' }], {
      keySize: 2048,
      algorithm: 'sha256',
      notAfterDate: new Date(Date.now() + 2 * 86_400_000),
    });
    return new TestIdp(entityId, pems.cert, pems.private);
  }

  private built?: ReturnType<typeof samlify.IdentityProvider>;

  private idp(ssoUrl: string) {
    return (this.built ??= samlify.IdentityProvider({
      entityID: this.entityId,
      privateKey: this.privateKey,
      signingCert: this.cert,
      isAssertionEncrypted: false,
      singleSignOnService: [{ Binding: REDIRECT, Location: ssoUrl }],
      singleLogoutService: [{ Binding: REDIRECT, Location: `${ssoUrl}/logout` }],
    }));
  }

  /** A base64 SAMLResponse for the SP at acsUrl. */
  async response(sp: { entityId: string; acsUrl: string }, options: ResponseOptions): Promise<string> {
    const signed = options.signed ?? true;
    const serviceProvider = samlify.ServiceProvider({
      entityID: sp.entityId,
      assertionConsumerService: [{ Binding: POST, Location: sp.acsUrl }],
      wantAssertionsSigned: signed,
      wantMessageSigned: signed,
    });
    const now = new Date();
    const until = new Date(now.getTime() + (options.validForSeconds ?? 300) * 1000);
    const groups = options.groups ?? ['bi-admins'];
    const attributes = groups.map((group) => `<saml:AttributeValue xsi:type="xs:string">${group}</saml:AttributeValue>`).join('');
    const attributeStatement = `<saml:AttributeStatement><saml:Attribute Name="groups" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:basic">${attributes}</saml:Attribute><saml:Attribute Name="email" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:basic"><saml:AttributeValue xsi:type="xs:string">${options.nameId ?? 'ada@corp.example'}</saml:AttributeValue></saml:Attribute></saml:AttributeStatement>`;
    const authnStatement = `<saml:AuthnStatement AuthnInstant="${now.toISOString()}" SessionIndex="_${randomUUID()}"><saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>`;
    const id = `_${randomUUID()}`;
    const result = await this.idp(`${this.url}/sso`).createLoginResponse(
      serviceProvider,
      { extract: { request: { id: options.inResponseTo } } } as never,
      'post',
      { email: options.nameId ?? 'ada@corp.example' } as never,
      {
        customTagReplacement: (template: string) => ({
          id,
          context: samlify.SamlLib.replaceTagsByValue(withIssuerTags(template), {
            ID: id,
            AssertionID: `_${randomUUID()}`,
            Destination: options.destination === undefined ? sp.acsUrl : options.destination,
            Audience: options.audience ?? sp.entityId,
            EntityID: sp.entityId,
            SubjectRecipient: options.recipient === undefined ? sp.acsUrl : options.recipient,
            ResponseIssuer: options.responseIssuer ?? this.entityId,
            AssertionIssuer: options.assertionIssuer ?? this.entityId,
            IssueInstant: now.toISOString(),
            AssertionConsumerServiceURL: sp.acsUrl,
            StatusCode: 'urn:oasis:names:tc:SAML:2.0:status:Success',
            ConditionsNotBefore: new Date(now.getTime() - 60_000).toISOString(),
            ConditionsNotOnOrAfter: until.toISOString(),
            SubjectConfirmationDataNotOnOrAfter: until.toISOString(),
            NameIDFormat: 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress',
            NameID: options.nameId ?? 'ada@corp.example',
            InResponseTo: options.inResponseTo,
            // replaceTagsByValue escapes values (and drops an attribute or element whose value is null): the two XML fragments go in afterwards.
            AuthnStatement: '__AUTHN_STATEMENT__',
            AttributeStatement: '__ATTRIBUTE_STATEMENT__',
          })
            .replace('__AUTHN_STATEMENT__', authnStatement)
            .replace('__ATTRIBUTE_STATEMENT__', attributeStatement),
        }),
      } as never,
    );
    return (result as { context: string }).context;
  }

  /** The AuthnRequest id inside an SP's redirect to this IdP (HTTP-Redirect binding: deflated, base64). */
  static requestIdOf(redirectUrl: string): { id: string; relayState: string | null } {
    const url = new URL(redirectUrl);
    const xml = inflateRawSync(Buffer.from(url.searchParams.get('SAMLRequest')!, 'base64')).toString('utf8');
    return { id: /\sID="([^"]+)"/.exec(xml)![1], relayState: url.searchParams.get('RelayState') };
  }

  /** Serves GET /sso: signs in `loginAs` and posts the response back to the SP with an auto-submitting form. */
  async start(sp: () => { entityId: string; acsUrl: string }): Promise<this> {
    this.server = createServer((req, res) => void this.serve(req, res, sp).catch(() => res.writeHead(500).end()));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    const address = this.server.address();
    this.url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    return this;
  }

  private async serve(req: IncomingMessage, res: ServerResponse, sp: () => { entityId: string; acsUrl: string }): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://idp');
    if (url.pathname !== '/sso') return void res.writeHead(404).end();
    const { id, relayState } = TestIdp.requestIdOf(`http://idp${req.url}`);
    const target = sp();
    const samlResponse = await this.response(target, { inResponseTo: id, nameId: this.loginAs.nameId, groups: this.loginAs.groups });
    const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
    res
      .writeHead(200, { 'content-type': 'text/html' })
      .end(
        `<!doctype html><html><body onload="document.forms[0].submit()"><form method="post" action="${esc(target.acsUrl)}">` +
          `<input type="hidden" name="SAMLResponse" value="${esc(samlResponse)}"><input type="hidden" name="RelayState" value="${esc(relayState ?? '')}">` +
          `<noscript><button>Continue</button></noscript></form></body></html>`,
      );
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
