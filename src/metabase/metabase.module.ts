import { Module } from '@nestjs/common';
import { DeactivationOutbox } from './deactivation-outbox.service.js';
import { OutboxRepository } from './outbox.repository.js';
import { MetabaseTokens } from './metabase-tokens.service.js';

/**
 * Metabase's side: minting its tokens (MetabaseTokens), and the deactivation outbox and its worker.
 * The configuration check, the sync and MetabaseSafety are MetabaseStatusModule's (src/metabase-status).
 */
@Module({ providers: [MetabaseTokens, DeactivationOutbox, OutboxRepository], exports: [MetabaseTokens, DeactivationOutbox] })
export class MetabaseModule {}
