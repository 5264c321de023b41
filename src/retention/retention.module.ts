import { Module } from '@nestjs/common';
import { MetricsModule } from '../metrics/metrics.module.js';
import { RetentionRepository } from './retention.repository.js';
import { RetentionService } from './retention.service.js';

/** The scheduled purge of rows past their use (launch links, SAML ids, console sessions, finished outbox jobs). */
@Module({ imports: [MetricsModule], providers: [RetentionRepository, RetentionService], exports: [RetentionService] })
export class RetentionModule {}
