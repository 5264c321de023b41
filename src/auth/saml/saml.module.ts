import { Module, type DynamicModule } from '@nestjs/common';
import { PassportModule } from '@nestjs/passport';
import type { Config } from '../../config/config.js';
import { SamlAuthGuard } from './saml-auth.guard.js';
import { SamlController } from './saml.controller.js';
import { SamlRepository } from './saml.repository.js';
import { SamlStrategy } from './saml.strategy.js';

/** Staff sign-in (SAML 2.0: metadata, login, the assertion consumer, logout); present only when SAML is configured. */
@Module({})
export class SamlModule {
  static forRoot(config: Config): DynamicModule {
    if (!config.saml) return { module: SamlModule };
    return {
      module: SamlModule,
      imports: [PassportModule],
      providers: [SamlRepository, SamlStrategy, SamlAuthGuard],
      controllers: [SamlController],
    };
  }
}
