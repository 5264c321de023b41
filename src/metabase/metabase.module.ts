import { Module } from '@nestjs/common';
import { DeactivationOutbox } from './deactivation-outbox.service.js';

/** Metabase's side: the deactivation outbox and its worker (token minting is plain code in this folder). */
@Module({ providers: [DeactivationOutbox], exports: [DeactivationOutbox] })
export class MetabaseModule {}
