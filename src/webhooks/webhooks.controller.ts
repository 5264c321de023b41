import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { CurrentPrincipal } from '../auth/current-principal.decorator.js';
import { actorOf, type Principal } from '../auth/principal.js';
import { Roles } from '../auth/roles.decorator.js';
import { ApiBodyFrom, ApiQueryFrom } from '../common/openapi.js';
import { validBody, validQuery } from '../common/zod-validation.pipe.js';
import {
  createWebhookSchema,
  deliveriesQuery,
  rotateSecretSchema,
  updateWebhookSchema,
  webhooksQuery,
  type CreateWebhookInput,
  type UpdateWebhookInput,
} from './webhook.dto.js';
import { WebhooksService } from './webhooks.service.js';

@ApiTags('webhooks')
@ApiBearerAuth()
@Controller('v1/webhooks')
export class WebhooksController {
  constructor(private readonly webhooks: WebhooksService) {}

  @Post()
  @Roles('admin')
  @ApiOperation({ summary: 'Subscribe a URL to events; the signing secret is in this answer only' })
  @ApiBodyFrom(createWebhookSchema)
  create(@Body(validBody(createWebhookSchema)) body: CreateWebhookInput, @CurrentPrincipal() principal: Principal) {
    return this.webhooks.create(body, actorOf(principal));
  }

  @Get()
  @Roles('admin')
  @ApiOperation({ summary: 'The webhooks, oldest first (never their secrets)' })
  @ApiQueryFrom(webhooksQuery)
  list(@Query(validQuery(webhooksQuery)) query: z.output<typeof webhooksQuery>) {
    return this.webhooks.list(query.limit, query.cursor);
  }

  @Get(':id')
  @Roles('admin')
  @ApiOperation({ summary: 'One webhook, with its deliveries counted by status' })
  get(@Param('id') id: string) {
    return this.webhooks.get(id);
  }

  @Patch(':id')
  @Roles('admin')
  @ApiOperation({ summary: "Change a webhook's URL, events, description or enabled" })
  @ApiBodyFrom(updateWebhookSchema)
  update(@Param('id') id: string, @Body(validBody(updateWebhookSchema)) body: UpdateWebhookInput, @CurrentPrincipal() principal: Principal) {
    return this.webhooks.update(id, body, actorOf(principal));
  }

  @Delete(':id')
  @Roles('admin')
  @HttpCode(200)
  @ApiOperation({ summary: 'Delete a webhook and its deliveries' })
  remove(@Param('id') id: string, @CurrentPrincipal() principal: Principal) {
    return this.webhooks.remove(id, actorOf(principal));
  }

  @Post(':id/rotate-secret')
  @Roles('admin')
  @ApiOperation({ summary: 'A new signing secret, shown once; the previous one keeps signing for overlapSeconds' })
  @ApiBodyFrom(rotateSecretSchema)
  rotateSecret(
    @Param('id') id: string,
    @Body(validBody(rotateSecretSchema)) body: z.output<typeof rotateSecretSchema>,
    @CurrentPrincipal() principal: Principal,
  ) {
    return this.webhooks.rotateSecret(id, body.overlapSeconds, actorOf(principal));
  }

  @Get(':id/deliveries')
  @Roles('admin')
  @ApiOperation({ summary: "A webhook's deliveries, newest first; status=failed lists its dead letters" })
  @ApiQueryFrom(deliveriesQuery)
  deliveries(@Param('id') id: string, @Query(validQuery(deliveriesQuery)) query: z.output<typeof deliveriesQuery>) {
    return this.webhooks.listDeliveries(id, query);
  }

  @Post(':id/deliveries/:deliveryId/retry')
  @Roles('admin')
  @HttpCode(200)
  @ApiOperation({ summary: 'Send a dead letter again (same event, same webhook-id), its attempts from zero' })
  retry(@Param('id') id: string, @Param('deliveryId') deliveryId: string, @CurrentPrincipal() principal: Principal) {
    return this.webhooks.retryDelivery(id, deliveryId, actorOf(principal));
  }
}
