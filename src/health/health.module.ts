import { Module } from '@nestjs/common';
import { HealthController } from './health.controller.js';
import { HealthRepository } from './health.repository.js';
import { HealthService } from './health.service.js';

@Module({ providers: [HealthRepository, HealthService], controllers: [HealthController] })
export class HealthModule {}
