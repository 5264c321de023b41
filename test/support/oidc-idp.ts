import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';

/** A signing key of the test identity provider, with its public JWK as the JWKS lists it. */
export interface IdpKey {
  kid: string;
  alg: string;
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  jwk: JWK;
}

export async function idpKey(alg = 'RS256', kid = `kid-${randomBytes(4).toString('hex')}`): Promise<IdpKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  return { kid, alg, privateKey, publicKey, jwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
}

export interface TokenOptions {
  /** Claims over the defaults (iss, aud, sub, tenant, email, names, iat, exp); undefined removes one. */
  claims?: Record<string, unknown>;
  key?: IdpKey;
  /** The header's kid; null leaves it out. Defaults to the key's. */
  kid?: string | null;
}

/**
 * A local OpenID provider for tests: node:http on a free loopback port, serving its discovery document
 * (`/.well-known/openid-configuration`) and its JWKS (`/jwks`), and signing tokens with jose. The keys
 * it publishes can change (rotation), and it counts the fetches of each document.
 */
export class TestOidcIdp {
  readonly fetches = { discovery: 0, jwks: 0 };
  /** What the discovery document says, over the defaults (issuer, jwks_uri). */
  discoveryOverrides: Record<string, unknown> = {};
  private published: IdpKey[];

  private constructor(
    private readonly server: Server,
    readonly issuer: string,
    readonly key: IdpKey,
  ) {
    this.published = [key];
  }

  static async start(): Promise<TestOidcIdp> {
    const key = await idpKey();
    // The handler needs the instance, which needs the server's port: filled in once it listens.
    const self: { idp?: TestOidcIdp } = {};
    const server = createServer((request, response) => {
      const path = new URL(request.url ?? '/', 'http://localhost').pathname;
      const send = (body: unknown) => {
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(JSON.stringify(body));
      };
      const idp = self.idp;
      if (path === '/.well-known/openid-configuration' && idp) {
        idp.fetches.discovery++;
        return send({ issuer: idp.issuer, jwks_uri: idp.jwksUri, id_token_signing_alg_values_supported: ['RS256'], ...idp.discoveryOverrides });
      }
      if (path === '/jwks' && idp) {
        idp.fetches.jwks++;
        return send({ keys: idp.published.map((published) => published.jwk) });
      }
      response.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    self.idp = new TestOidcIdp(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`, key);
    return self.idp;
  }

  get jwksUri(): string {
    return `${this.issuer}/jwks`;
  }

  /** Publishes these keys (and only these) from now on. */
  publish(...keys: IdpKey[]): void {
    this.published = keys;
  }

  /** A signed token: by default valid, for `audience`, tenant `acme`, user `u-1`. */
  async token(audience: string, options: TokenOptions = {}): Promise<string> {
    const key = options.key ?? this.key;
    const now = Math.floor(Date.now() / 1000);
    const defaults: JWTPayload = {
      iss: this.issuer,
      aud: audience,
      sub: 'u-1',
      tenant: 'acme',
      email: 'ana@acme.example',
      given_name: 'Ana',
      family_name: 'Ng',
      iat: now,
      exp: now + 300,
    };
    const claims = Object.fromEntries(Object.entries({ ...defaults, ...options.claims }).filter(([, value]) => value !== undefined));
    const kid = options.kid === undefined ? key.kid : options.kid;
    return new SignJWT(claims).setProtectedHeader({ alg: key.alg, typ: 'JWT', ...(kid === null ? {} : { kid }) }).sign(key.privateKey);
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/** A token with `alg: none` and no signature, built by hand (jose will not make one). */
export function unsignedToken(claims: Record<string, unknown>): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'none', typ: 'JWT' })}.${part(claims)}.`;
}
