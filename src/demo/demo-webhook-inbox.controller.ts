import { Body, Controller, HttpCode, Logger, Post } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { Public } from '../auth/roles.decorator.js';

/** Where the demo's webhook delivers: this path of the service itself (demo mode only). */
export const DEMO_WEBHOOK_INBOX_PATH = '/demo-webhooks/inbox';

/**
 * The demo's webhook receiver, so that the alerts (budget.threshold_crossed, tenant.tier_changed) of
 * the demo data are really delivered and the console's webhooks page shows them. It takes every
 * delivery and logs its type; it does not check the signature, as a real receiver must (Standard
 * Webhooks: docs/api-v1.md). Mounted only in demo mode, like the demo IdP.
 */
@ApiExcludeController()
@Controller('demo-webhooks')
export class DemoWebhookInboxController {
  private readonly logger = new Logger('DemoWebhookInbox');

  @Post('inbox')
  @Public()
  @HttpCode(204)
  receive(@Body() body: unknown) {
    const type = (body as { type?: unknown } | null)?.type;
    this.logger.log(`demo webhook received: ${typeof type === 'string' ? type.slice(0, 60) : 'an event without a type'}`);
  }
}
