import { Controller, Get, Res, UseFilters } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import type { StaffUser } from '../auth/staff/staff-session.js';
import { CurrentStaff, Staff } from '../auth/staff/staff.decorator.js';
import { StaffPages } from '../auth/staff/staff.guard.js';
import { WebhooksService } from '../webhooks/webhooks.service.js';
import { ConsoleExceptionsFilter } from './console-exceptions.filter.js';
import { webhooksView } from './views/webhooks.view.js';
import { sendPage } from '../common/html.js';

/** The console's webhooks page (admins): webhooks, their latest deliveries and dead letters, read-only. */
@ApiExcludeController()
@StaffPages()
@UseFilters(ConsoleExceptionsFilter)
@Controller('console')
export class WebhooksPagesController {
  constructor(private readonly webhooks: WebhooksService) {}

  @Get('webhooks')
  @Staff('admin')
  async webhooksPage(@CurrentStaff() staff: StaffUser, @Res() reply: FastifyReply) {
    const overview = await this.webhooks.overview();
    sendPage(reply, webhooksView({ staff, csrfToken: reply.generateCsrf(), overview }));
  }
}
