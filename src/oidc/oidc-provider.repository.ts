import { Injectable } from '@nestjs/common';
import { PrismaService } from '../database/prisma.service.js';
import { clientOf, type Tx } from '../database/transactions.js';
import type { AppOidcProvider as OidcProviderModel } from '../generated/prisma/client.js';
import { storedClaimsSchema } from './oidc-provider.dto.js';
import { OIDC_ALGORITHMS, type OidcAlgorithm, type OidcProvider, type OidcProviderSettings } from './oidc-provider.js';

/** More apps than this sharing one issuer is not a configuration anyone makes: the read stays bounded. */
const MAX_PROVIDERS_PER_ISSUER = 100;

const isAlgorithm = (value: string): value is OidcAlgorithm => (OIDC_ALGORITHMS as readonly string[]).includes(value);

function fromModel(model: OidcProviderModel): OidcProvider {
  return {
    appId: model.appId,
    issuer: model.issuer,
    audience: model.audience,
    jwksUri: model.jwksUri,
    // Written only from validated input; an algorithm no longer allowed is dropped, never accepted.
    algorithms: model.algorithms.filter(isAlgorithm),
    clockToleranceSeconds: model.clockToleranceSeconds,
    maxTokenAgeSeconds: model.maxTokenAgeSeconds,
    claims: storedClaimsSchema.parse(model.claims),
    createdAt: model.createdAt,
    updatedAt: model.updatedAt,
  };
}

/** app_oidc_providers: each host app's OIDC identity provider. */
@Injectable()
export class OidcProviderRepository {
  constructor(private readonly prisma: PrismaService) {}

  /** Whether the app exists, and its provider (null when it has none), in one read. */
  async findForApp(appId: string, tx?: Tx): Promise<{ appExists: boolean; provider: OidcProvider | null }> {
    const app = await clientOf(this.prisma, tx).app.findUnique({ where: { id: appId }, select: { oidcProvider: true } });
    return { appExists: app !== null, provider: app?.oidcProvider ? fromModel(app.oidcProvider) : null };
  }

  /** The providers whose issuer is exactly `issuer` (several apps may share one, each with its own audience). */
  async findByIssuer(issuer: string): Promise<OidcProvider[]> {
    const models = await this.prisma.appOidcProvider.findMany({ where: { issuer }, orderBy: { appId: 'asc' }, take: MAX_PROVIDERS_PER_ISSUER });
    return models.map(fromModel);
  }

  /** Creates or replaces the app's provider. A unique violation means another app has the issuer and audience. */
  async upsert(appId: string, settings: OidcProviderSettings, tx?: Tx): Promise<OidcProvider> {
    const data = {
      issuer: settings.issuer,
      audience: settings.audience,
      jwksUri: settings.jwksUri,
      algorithms: settings.algorithms,
      clockToleranceSeconds: settings.clockToleranceSeconds,
      maxTokenAgeSeconds: settings.maxTokenAgeSeconds,
      claims: { ...settings.claims },
    };
    const model = await clientOf(this.prisma, tx).appOidcProvider.upsert({ where: { appId }, create: { appId, ...data }, update: data });
    return fromModel(model);
  }

  /** Deletes the app's provider; whether there was one. */
  async delete(appId: string, tx?: Tx): Promise<boolean> {
    const { count } = await clientOf(this.prisma, tx).appOidcProvider.deleteMany({ where: { appId } });
    return count > 0;
  }
}
