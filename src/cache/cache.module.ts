import { Global, Module } from '@nestjs/common';
import { Caches } from './caches.service.js';

@Global()
@Module({ providers: [Caches], exports: [Caches] })
export class CacheModule {}
