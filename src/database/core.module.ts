import { Global, Module, type DynamicModule } from '@nestjs/common';
import { AuditService } from '../audit/audit.service.js';
import { CONFIG, type Config } from '../config/config.js';
import { PrismaService } from './prisma.service.js';

/** Config, the database and the audit trail: available to every module. */
@Global()
@Module({})
export class CoreModule {
  static forRoot(config: Config): DynamicModule {
    return {
      module: CoreModule,
      providers: [{ provide: CONFIG, useValue: config }, PrismaService, AuditService],
      exports: [CONFIG, PrismaService, AuditService],
    };
  }
}
