import { Module } from '@nestjs/common';
import { MetricsController } from './metrics.controller.js';
import { MetricsRepository } from './metrics.repository.js';
import { MetricsService } from './metrics.service.js';

@Module({ providers: [MetricsRepository, MetricsService], controllers: [MetricsController], exports: [MetricsService] })
export class MetricsModule {}
