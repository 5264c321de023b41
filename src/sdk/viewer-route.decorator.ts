import { applyDecorators, SetMetadata, UseGuards } from '@nestjs/common';
import { ApiExtension } from '@nestjs/swagger';
import { VIEWER_KEY } from '../auth/roles.decorator.js';
import { EmbedRateLimitGuard } from '../rate-limits/embed-rate-limit.guard.js';
import { ViewerGuard } from './viewer.guard.js';

/**
 * A route a host app's end user calls from the browser (the provider endpoints): no API key (the
 * global ApiKeyGuard lets it through), the viewer authenticated by ViewerGuard — applied here, so no
 * viewer route can exist without it — then counted against the embed rate limit.
 * `x-roles: ["viewer"]` in the OpenAPI document.
 */
export const ViewerRoute = () =>
  applyDecorators(SetMetadata(VIEWER_KEY, true), UseGuards(ViewerGuard, EmbedRateLimitGuard), ApiExtension('x-roles', ['viewer']));
