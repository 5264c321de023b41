import { Module } from '@nestjs/common';
import { ResourcesController } from './resources.controller.js';
import { ResourcesService } from './resources.service.js';

@Module({ providers: [ResourcesService], controllers: [ResourcesController], exports: [ResourcesService] })
export class ResourcesModule {}
