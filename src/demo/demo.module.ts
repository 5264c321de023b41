import { Module, type DynamicModule, type Provider } from '@nestjs/common';
import type { Config } from '../config/config.js';
import { DemoIdpController } from './demo-idp.controller.js';
import { DemoIdentityProvider } from './demo-idp.js';
import { DemoWebhookInboxController } from './demo-webhook-inbox.controller.js';
import { DemoRepository } from './demo.repository.js';

/**
 * Demo mode (DATABASE_URL unset): the repository of the demo seeding, the inbox of the demo's webhook
 * and, when the demo fills the SAML settings, the built-in identity provider at /demo-idp. Without
 * config.demo, which only main.ts sets and only without DATABASE_URL, the module is empty: no route,
 * no provider.
 */
@Module({})
export class DemoModule {
  static forRoot(config: Config): DynamicModule {
    if (!config.demo) return { module: DemoModule };
    const idp = config.demo.idp;
    const saml = config.saml;
    const providers: Provider[] = [DemoRepository];
    if (!idp || !saml) return { module: DemoModule, providers, controllers: [DemoWebhookInboxController] };
    const identityProvider = new DemoIdentityProvider(idp, { entityId: saml.spEntityId, acsUrl: saml.acsUrl });
    return {
      module: DemoModule,
      providers: [...providers, { provide: DemoIdentityProvider, useValue: identityProvider }],
      controllers: [DemoWebhookInboxController, DemoIdpController],
    };
  }
}
