import { Module } from '@nestjs/common';
import { EmbedRateLimitGuard } from './embed-rate-limit.guard.js';
import { RateLimits } from './rate-limits.service.js';

@Module({ providers: [RateLimits, EmbedRateLimitGuard], exports: [RateLimits, EmbedRateLimitGuard] })
export class RateLimitsModule {}
