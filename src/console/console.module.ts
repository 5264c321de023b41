import { Module, type DynamicModule } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module.js';
import { PassportModule } from '@nestjs/passport';
import { SamlAuthGuard } from '../auth/saml/saml-auth.guard.js';
import { SamlController } from '../auth/saml/saml.controller.js';
import { SamlStrategy } from '../auth/saml/saml.strategy.js';
import type { Config } from '../config/config.js';
import { LicenseModule } from '../license/license.module.js';
import { ReportsModule } from '../reports/reports.module.js';
import { TenantsModule } from '../tenants/tenants.module.js';
import { ConsoleController } from './console.controller.js';

/** Staff sign-in (SAML) and the console; present only when SAML is configured. */
@Module({})
export class ConsoleModule {
  static forRoot(config: Config): DynamicModule {
    if (!config.saml) return { module: ConsoleModule };
    return {
      module: ConsoleModule,
      imports: [PassportModule, TenantsModule, LicenseModule, ReportsModule, AuditModule],
      providers: [SamlStrategy, SamlAuthGuard],
      controllers: [SamlController, ConsoleController],
    };
  }
}
