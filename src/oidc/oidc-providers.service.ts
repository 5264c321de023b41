import { Injectable } from '@nestjs/common';
import { AuditService } from '../audit/audit.service.js';
import { Caches } from '../cache/caches.service.js';
import type { EpochCache } from '../cache/epoch-cache.js';
import { ApiError } from '../common/api-error.js';
import { isUniqueViolation } from '../database/database-errors.js';
import { Transactions } from '../database/transactions.js';
import type { OidcProviderInput } from './oidc-provider.dto.js';
import type { OidcProvider, OidcProviderSettings } from './oidc-provider.js';
import { OidcProviderRepository } from './oidc-provider.repository.js';

/** An app's OIDC provider as the admin API shows it. */
export interface OidcProviderView extends OidcProviderSettings {
  appId: string;
  createdAt: string;
  updatedAt: string;
}

const oidcProviderView = (provider: OidcProvider): OidcProviderView => ({
  appId: provider.appId,
  ...settingsOf(provider),
  createdAt: provider.createdAt.toISOString(),
  updatedAt: provider.updatedAt.toISOString(),
});

const settingsOf = (provider: OidcProviderSettings): OidcProviderSettings => ({
  issuer: provider.issuer,
  audience: provider.audience,
  jwksUri: provider.jwksUri,
  algorithms: provider.algorithms,
  clockToleranceSeconds: provider.clockToleranceSeconds,
  maxTokenAgeSeconds: provider.maxTokenAgeSeconds,
  claims: provider.claims,
});

/** An app id is `app_` and hex digits (AppsService.create); anything not of this alphabet names no app. */
const APP_ID = /^[A-Za-z0-9_]{1,64}$/;

const appNotFound = () => new ApiError(404, 'app_not_found', 'app not found');
const providerNotFound = () => new ApiError(404, 'oidc_provider_not_found', 'the app has no OIDC provider');

/** The admin API of apps' OIDC providers, and the cached read of them by issuer for token verification. */
@Injectable()
export class OidcProvidersService {
  /** Providers by issuer. */
  private readonly byIssuer: EpochCache<string, OidcProvider[]>;

  constructor(
    private readonly providers: OidcProviderRepository,
    private readonly transactions: Transactions,
    private readonly audit: AuditService,
    caches: Caches,
  ) {
    // A trigger moves the cache epoch on every write to app_oidc_providers, as for the other cached
    // tables. The issuer comes from the token (unverified yet): at most 1,000 of them are kept.
    this.byIssuer = caches.create('oidc-providers', { maxEntries: 1_000 });
  }

  async get(appId: string): Promise<OidcProviderView> {
    const { appExists, provider } = await this.providers.findForApp(checkAppId(appId));
    if (!appExists) throw appNotFound();
    if (!provider) throw providerNotFound();
    return oidcProviderView(provider);
  }

  /** Creates or replaces the app's provider, audited in the same transaction. */
  async put(appId: string, input: OidcProviderInput, actor: string): Promise<OidcProviderView> {
    checkAppId(appId);
    const settings: OidcProviderSettings = input;
    // Writes are rare: each one drops every cached issuer (the old issuer's entry and the new one's).
    const saved = await this.byIssuer.invalidating('all', () =>
      this.transactions.run(async (tx) => {
        const { appExists, provider: previous } = await this.providers.findForApp(appId, tx);
        if (!appExists) throw appNotFound();
        const provider = await this.providers.upsert(appId, settings, tx).catch((error: unknown) => {
          if (!isUniqueViolation(error)) throw error;
          throw new ApiError(
            409,
            'oidc_provider_conflict',
            'another app already has an OIDC provider with this issuer and audience (each would accept the other’s tokens)',
          );
        });
        await this.audit.record(tx, {
          type: previous ? 'app.oidc_provider_replaced' : 'app.oidc_provider_created',
          actor,
          data: { appId, provider: settingsOf(provider), ...(previous ? { previous: settingsOf(previous) } : {}) },
        });
        return provider;
      }),
    );
    return oidcProviderView(saved);
  }

  /** Deletes the app's provider, audited in the same transaction: its tokens are refused from then on. */
  async remove(appId: string, actor: string): Promise<{ appId: string; deleted: true }> {
    checkAppId(appId);
    await this.byIssuer.invalidating('all', () =>
      this.transactions.run(async (tx) => {
        const { appExists, provider } = await this.providers.findForApp(appId, tx);
        if (!appExists) throw appNotFound();
        if (!provider || !(await this.providers.delete(appId, tx))) throw providerNotFound();
        await this.audit.record(tx, { type: 'app.oidc_provider_deleted', actor, data: { appId, issuer: provider.issuer, audience: provider.audience } });
      }),
    );
    return { appId, deleted: true };
  }

  /** The providers whose issuer is exactly `issuer` (cached; see the constructor for the bound). */
  forIssuer(issuer: string): Promise<OidcProvider[]> {
    return this.byIssuer.getOrLoad(issuer, () => this.providers.findByIssuer(issuer));
  }
}

function checkAppId(appId: string): string {
  if (!APP_ID.test(appId)) throw appNotFound();
  return appId;
}
