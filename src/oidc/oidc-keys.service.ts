import { Injectable } from '@nestjs/common';
import { createRemoteJWKSet, type JWTVerifyGetKey } from 'jose';
import { z } from 'zod';
import { urlProblem } from './oidc-provider.dto.js';
import type { OidcProvider } from './oidc-provider.js';

/** Why an issuer's keys could not be had (its discovery document): the token is refused with this. */
export class OidcKeysUnavailable extends Error {
  override readonly name = 'OidcKeysUnavailable';
}

const DISCOVERY_TIMEOUT_MS = 5_000;
/** A discovery document is read again after this; a failed read is retried after DISCOVERY_RETRY_MS. */
const DISCOVERY_TTL_MS = 60 * 60_000;
const DISCOVERY_RETRY_MS = 10_000;
const MAX_DISCOVERY_BYTES = 256 * 1024;
/** Bounds on what is held in memory: one JWKS per app with a provider, one discovery per issuer. */
const MAX_ENTRIES = 1_000;

/** The two fields of a discovery document that matter here (others are ignored). */
const discoveryDocument = z.object({ issuer: z.string(), jwks_uri: z.string().max(2_000) });

/** The discovery document's URL: `/.well-known/openid-configuration` after the issuer's path (OIDC Discovery 1.0, 4). */
const discoveryUrlOf = (issuer: string) => `${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;

function remember<K, V>(map: Map<K, V>, key: K, value: V): void {
  map.delete(key);
  if (map.size >= MAX_ENTRIES) map.delete(map.keys().next().value as K);
  map.set(key, value);
}

/** A response body as text, refused past `maxBytes` (a discovery document is a few kilobytes). */
async function boundedText(response: Response, maxBytes: number): Promise<string> {
  const reader = response.body?.getReader();
  if (!reader) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel();
      throw new OidcKeysUnavailable(`the issuer's discovery document is larger than ${maxBytes} bytes`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * The signing keys of apps' identity providers: a jose remote JWKS per app, from the provider's
 * `jwksUri` or its issuer's discovery document. jose caches the key set (10 minutes), and fetches it
 * again for a key id it does not hold, at most once per 30 s cooldown, so rotated keys are picked up
 * and unknown key ids cannot make it hammer the provider. A changed provider gets a new key set.
 */
@Injectable()
export class OidcKeys {
  /** By app id, tagged with the provider's version: a changed provider (or JWKS URL) gets a fresh set. */
  private readonly sets = new Map<string, { version: string; keys: JWTVerifyGetKey }>();
  private readonly discovered = new Map<string, { jwksUri?: string; problem?: string; until: number }>();
  private readonly discovering = new Map<string, Promise<string>>();

  async keysFor(provider: OidcProvider): Promise<JWTVerifyGetKey> {
    const jwksUri = provider.jwksUri ?? (await this.discoveredJwksUri(provider.issuer));
    const version = `${provider.updatedAt.getTime()} ${jwksUri}`;
    const cached = this.sets.get(provider.appId);
    if (cached?.version === version) return cached.keys;
    const keys = createRemoteJWKSet(new URL(jwksUri));
    remember(this.sets, provider.appId, { version, keys });
    return keys;
  }

  /** The `jwks_uri` of the issuer's discovery document (cached; concurrent reads share one fetch). */
  private async discoveredJwksUri(issuer: string): Promise<string> {
    const known = this.discovered.get(issuer);
    if (known && known.until > Date.now()) {
      if (known.jwksUri) return known.jwksUri;
      throw new OidcKeysUnavailable(known.problem ?? "the issuer's discovery document could not be read");
    }
    const pending = this.discovering.get(issuer);
    if (pending) return pending;
    const loading = this.discover(issuer).then(
      (jwksUri) => {
        remember(this.discovered, issuer, { jwksUri, until: Date.now() + DISCOVERY_TTL_MS });
        return jwksUri;
      },
      (error: unknown) => {
        const problem =
          error instanceof OidcKeysUnavailable
            ? error.message
            : error instanceof Error && error.name === 'TimeoutError'
              ? `the issuer's discovery document did not answer within ${DISCOVERY_TIMEOUT_MS / 1000} s`
              : "the issuer's discovery document could not be fetched";
        remember(this.discovered, issuer, { problem, until: Date.now() + DISCOVERY_RETRY_MS });
        throw new OidcKeysUnavailable(problem);
      },
    );
    const shared = loading.finally(() => this.discovering.delete(issuer));
    this.discovering.set(issuer, shared);
    return shared;
  }

  private async discover(issuer: string): Promise<string> {
    const response = await fetch(discoveryUrlOf(issuer), {
      headers: { accept: 'application/json' },
      redirect: 'error',
      signal: AbortSignal.timeout(DISCOVERY_TIMEOUT_MS),
    });
    if (response.status !== 200) {
      await response.body?.cancel();
      throw new OidcKeysUnavailable(`the issuer's discovery document answered HTTP ${response.status}`);
    }
    const body = await boundedText(response, MAX_DISCOVERY_BYTES);
    let document: unknown;
    try {
      document = JSON.parse(body);
    } catch {
      throw new OidcKeysUnavailable("the issuer's discovery document is not JSON");
    }
    const parsed = discoveryDocument.safeParse(document);
    if (!parsed.success || urlProblem(parsed.data.jwks_uri, { query: true })) {
      throw new OidcKeysUnavailable("the issuer's discovery document has no usable issuer and jwks_uri (an https URL)");
    }
    // OIDC Discovery 1.0, 4.3: the document's issuer must be the issuer it was fetched for.
    if (parsed.data.issuer !== issuer) throw new OidcKeysUnavailable("the issuer's discovery document names another issuer");
    return parsed.data.jwks_uri;
  }
}
