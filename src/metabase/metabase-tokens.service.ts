import { Inject, Injectable } from '@nestjs/common';
import { CONFIG, type Config } from '../config/config.js';
import {
  GuestTokenMinter,
  guestEmbedUrl,
  ssoLoginUrl,
  SsoTokenMinter,
  type EmbedDisplayOptions,
  type EmbedTarget,
  type MintedToken,
  type SsoIdentity,
} from './metabase-tokens.js';

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
    this.guest = new GuestTokenMinter(config.metabase.embeddingSecretKey);
    this.sso = new SsoTokenMinter(config.metabase.jwtSharedSecret);
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

  /** Metabase's own login URL for the token: `{site}/auth/sso?jwt=…&return_to=…`. */
  ssoLoginUrl(token: string, returnTo: string): string {
    return ssoLoginUrl(this.config.metabase.siteUrl, token, returnTo);
  }
}
