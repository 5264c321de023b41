import { Inject, Injectable } from '@nestjs/common';
import { CONFIG, type Config } from '../config/config.js';
import {
  GuestTokenMinter,
  guestEmbedUrl,
  MAX_SDK_SSO_TTL_SECONDS,
  ssoLoginUrl,
  SsoTokenMinter,
  type EmbedDisplayOptions,
  type EmbedTarget,
  type MintedToken,
  type SsoIdentity,
} from './metabase-tokens.js';
import { ATTR, SPAN, traceCalls } from '../tracing/spans.js';

export interface GuestEmbed extends MintedToken {
  /** The iframe URL: `{site}/embed/{type}/{token}#…`. */
  url: string;
}

/** The one place that mints Metabase tokens, guest and SSO, with the configured secrets and lifetimes. */
@Injectable()
export class MetabaseTokens {
  private readonly guest: GuestTokenMinter;
  private readonly sso: SsoTokenMinter;

  constructor(@Inject(CONFIG) private readonly config: Pick<Config, 'metabase'>) {
    // Each mint in a span when tracing is on: the kind of token and its lifetime, never its claims.
    this.guest = traceCalls(new GuestTokenMinter(config.metabase.embeddingSecretKey), 'mint', SPAN.mintGuest, (input) => ({
      [ATTR.resourceType]: input.target.type,
      [ATTR.tokenTtlSeconds]: input.ttlSeconds,
    }));
    this.sso = traceCalls(new SsoTokenMinter(config.metabase.jwtSharedSecret), 'mint', SPAN.mintSso, (_identity, _now, ttlSeconds) => ({
      [ATTR.tokenTtlSeconds]: ttlSeconds,
    }));
  }

  /** A guest embed of the resource, its tenant parameter locked to the customerId. */
  guestEmbed(input: { target: EmbedTarget; tenantParam: string; customerId: string; options?: EmbedDisplayOptions }, now = new Date()): GuestEmbed {
    const minted = this.guest.mint({ ...input, now, ttlSeconds: this.config.metabase.guestTokenTtlSeconds });
    return { ...minted, url: guestEmbedUrl(this.config.metabase.siteUrl, input.target.type, minted.token, input.options) };
  }

  /** An SSO token for the identity (iat now, its own jti). */
  ssoToken(identity: SsoIdentity, now = new Date()): MintedToken {
    return this.sso.mint(identity, now, this.config.metabase.ssoTokenTtlSeconds);
  }

  /**
   * An SSO token for Metabase's embedding SDK (the provider endpoint). The SDK keeps its Metabase
   * session until the token's exp and then signs in again, so this lifetime is longer
   * (SDK_SSO_TOKEN_TTL_SECONDS); Metabase itself only checks that iat, always the minting second, is
   * at most 180 s old at sign-in (enterprise/.../sso/integrations/jwt.clj).
   */
  sdkSsoToken(identity: SsoIdentity, now = new Date()): MintedToken {
    return this.sso.mint(identity, now, this.config.metabase.sdkSsoTokenTtlSeconds, MAX_SDK_SSO_TTL_SECONDS);
  }

  /** A guest token alone, for embed.js's guest provider (`{jwt}`): the resource, its tenant parameter locked. */
  guestToken(input: { target: EmbedTarget; tenantParam: string; customerId: string }, now = new Date()): MintedToken {
    return this.guest.mint({ ...input, now, ttlSeconds: this.config.metabase.guestTokenTtlSeconds });
  }

  /** Metabase's own login URL for the token: `{site}/auth/sso?jwt=…&return_to=…`. */
  ssoLoginUrl(token: string, returnTo: string): string {
    return ssoLoginUrl(this.config.metabase.siteUrl, token, returnTo);
  }
}
