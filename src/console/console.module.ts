import { Module, type DynamicModule } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module.js';
import type { Config } from '../config/config.js';
import { LicenseModule } from '../license/license.module.js';
import { MetabaseStatusModule } from '../metabase-status/metabase-status.module.js';
import { ReportsModule } from '../reports/reports.module.js';
import { TenantsModule } from '../tenants/tenants.module.js';
import { WebhooksModule } from '../webhooks/webhooks.module.js';
import { ConsoleSessionRepository } from './console-session.repository.js';
import { ConsoleSessionStore } from './console-session.store.js';
import { ConsoleController } from './console.controller.js';
import { FinancePagesController } from './finance-pages.controller.js';
import { WebhooksPagesController } from './webhooks-pages.controller.js';

/**
 * The console's pages and its sessions' store (app.factory.ts hands ConsoleSessionStore to
 * @fastify/session); present only when SAML is configured (sign-in is auth/saml's SamlModule).
 */
@Module({})
export class ConsoleModule {
  static forRoot(config: Config): DynamicModule {
    if (!config.saml) return { module: ConsoleModule };
    return {
      module: ConsoleModule,
      imports: [TenantsModule, LicenseModule, ReportsModule, AuditModule, MetabaseStatusModule, WebhooksModule],
      providers: [ConsoleSessionRepository, ConsoleSessionStore],
      controllers: [ConsoleController, WebhooksPagesController, FinancePagesController],
      exports: [ConsoleSessionStore],
    };
  }
}
