import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module.js';
import { AppsController } from './apps.controller.js';
import { AppsService } from './apps.service.js';

@Module({ imports: [AuthModule], providers: [AppsService], controllers: [AppsController], exports: [AppsService] })
export class AppsModule {}
