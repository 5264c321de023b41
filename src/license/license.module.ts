import { Module } from '@nestjs/common';
import { LicenseController } from './license.controller.js';
import { LicenseService } from './license.service.js';

@Module({ providers: [LicenseService], controllers: [LicenseController], exports: [LicenseService] })
export class LicenseModule {}
