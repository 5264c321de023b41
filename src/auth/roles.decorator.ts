import { SetMetadata } from '@nestjs/common';
import type { Role } from './principal.js';

export const ROLES_KEY = 'embedgate:roles';
export const PUBLIC_KEY = 'embedgate:public';

/** The roles that may call a route. Every route needs @Roles or @Public: the guard fails closed. */
export const Roles = (...roles: Role[]) => SetMetadata(ROLES_KEY, roles);
export const Public = () => SetMetadata(PUBLIC_KEY, true);
