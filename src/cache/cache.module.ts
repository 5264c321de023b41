import { Module } from '@nestjs/common';
import { MetricsModule } from '../metrics/metrics.module.js';
import { Caches } from './caches.service.js';

@Module({ imports: [MetricsModule], providers: [Caches], exports: [Caches] })
export class CacheModule {}
