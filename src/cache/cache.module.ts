import { Module } from '@nestjs/common';
import { MetricsModule } from '../metrics/metrics.module.js';
import { CacheEpochRepository } from './cache-epoch.repository.js';
import { Caches } from './caches.service.js';

@Module({ imports: [MetricsModule], providers: [CacheEpochRepository, Caches], exports: [Caches] })
export class CacheModule {}
