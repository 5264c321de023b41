import { applyDecorators, SetMetadata } from '@nestjs/common';
import { ApiExtension } from '@nestjs/swagger';
import type { Role } from './principal.js';

export const ROLES_KEY = 'embedgate:roles';
export const PUBLIC_KEY = 'embedgate:public';
/** A viewer route (src/sdk/viewer-route.decorator.ts): authenticated by its own ViewerGuard, not by an API key. */
export const VIEWER_KEY = 'embedgate:viewer';

/**
 * The roles that may call a route. Every route needs @Roles or @Public: the guard fails closed.
 * The OpenAPI document lists them as `x-roles`, so clients (and the generated test suites) know
 * which key a route takes.
 */
export const Roles = (...roles: Role[]) => applyDecorators(SetMetadata(ROLES_KEY, roles), ApiExtension('x-roles', roles));
export const Public = () => applyDecorators(SetMetadata(PUBLIC_KEY, true), ApiExtension('x-roles', ['public']));
