import { Body, Controller, Delete, HttpCode, Param, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { text } from '../common/text.js';
import { ApiError } from '../common/api-error.js';
import { ApiBodyFrom } from '../common/openapi.js';
import { validBody } from '../common/zod-validation.pipe.js';
import { ApiKeysService } from './api-keys.service.js';
import { CurrentPrincipal } from './current-principal.decorator.js';
import { actorOf, type Principal } from './principal.js';
import { Roles } from './roles.decorator.js';

const rotateKeySchema = z.strictObject({
  /** How long the old key keeps working: 0 (at once) to 7 days; default one hour. */
  overlapSeconds: z
    .number()
    .int('overlapSeconds must be a whole number')
    .min(0)
    .max(7 * 86_400)
    .default(3_600),
});

const createKeySchema = z.strictObject({
  role: z.enum(['admin', 'finance'], { error: 'role is admin or finance (app keys come with POST /v1/apps)' }),
  name: text({ max: 200, min: 1, trim: true }),
});

@ApiTags('keys')
@ApiBearerAuth()
@Controller('v1/keys')
export class KeysController {
  constructor(private readonly keys: ApiKeysService) {}

  @Post()
  @Roles('admin')
  @ApiOperation({ summary: 'Create an admin or finance key; the key is shown once' })
  @ApiBodyFrom(createKeySchema)
  create(@Body(validBody(createKeySchema)) body: z.output<typeof createKeySchema>, @CurrentPrincipal() principal: Principal) {
    return this.keys.issue(body, actorOf(principal));
  }

  @Post(':id/rotate')
  @Roles('admin')
  @ApiOperation({ summary: 'Rotate a key (admin, finance or app): a new key now, the old one works for overlapSeconds more' })
  @ApiBodyFrom(rotateKeySchema)
  rotate(@Param('id') id: string, @Body(validBody(rotateKeySchema)) body: z.output<typeof rotateKeySchema>, @CurrentPrincipal() principal: Principal) {
    if (!/^[a-z2-7]{16}$/.test(id)) throw new ApiError(404, 'key_not_found', 'key not found');
    return this.keys.rotateKey(id, body.overlapSeconds, actorOf(principal));
  }

  @Delete(':id')
  @Roles('admin')
  @HttpCode(200)
  @ApiOperation({ summary: 'Revoke a key (or, given an app id, every key of that app); effective on the next request' })
  async revoke(@Param('id') id: string, @CurrentPrincipal() principal: Principal) {
    if (!/^[A-Za-z0-9_]{1,64}$/.test(id)) throw new ApiError(404, 'key_not_found', 'key not found');
    return { id, revoked: await this.keys.revokeKey(id, actorOf(principal)) };
  }
}
