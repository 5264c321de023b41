import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module.js';
import { AlertThresholdRepository } from './alert-threshold.repository.js';
import { AlertThresholds } from './alert-thresholds.service.js';
import { WebhookDeliveryRepository } from './webhook-delivery.repository.js';
import { WebhookDeliveryWorker } from './webhook-delivery.worker.js';
import { WebhookRepository } from './webhook.repository.js';
import { WebhooksController } from './webhooks.controller.js';
import { WebhooksService } from './webhooks.service.js';

/**
 * Webhooks: the admin API (/v1/webhooks), the alert thresholds, and the delivery worker of the durable
 * outbox that database triggers fill (migration 20261201110000_webhooks).
 */
@Module({
  imports: [AuditModule],
  providers: [WebhookRepository, WebhookDeliveryRepository, AlertThresholdRepository, WebhooksService, AlertThresholds, WebhookDeliveryWorker],
  controllers: [WebhooksController],
  exports: [WebhooksService],
})
export class WebhooksModule {}
