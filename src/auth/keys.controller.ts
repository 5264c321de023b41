import { Body, Controller, Delete, HttpCode, Param, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { AuditService } from '../audit/audit.service.js';
import { ApiError } from '../common/api-error.js';
import { ApiBodyFrom } from '../common/openapi.js';
import { validBody } from '../common/zod-validation.pipe.js';
import { PrismaService } from '../database/prisma.service.js';
import { ApiKeysService } from './api-keys.service.js';
import { CurrentPrincipal } from './current-principal.decorator.js';
import { actorOf, type Principal } from './principal.js';
import { Roles } from './roles.decorator.js';

const createKeySchema = z.strictObject({
  role: z.enum(['admin', 'finance'], { error: 'role is admin or finance (app keys come with POST /v1/apps)' }),
  name: z.string().trim().min(1).max(200),
});

@ApiTags('keys')
@ApiBearerAuth()
@Controller('v1/keys')
export class KeysController {
  constructor(
    private readonly keys: ApiKeysService,
    private readonly prisma: PrismaService,
    private readonly audit: AuditService,
  ) {}

  @Post()
  @Roles('admin')
  @ApiOperation({ summary: 'Create an admin or finance key; the key is shown once' })
  @ApiBodyFrom(createKeySchema)
  create(@Body(validBody(createKeySchema)) body: z.output<typeof createKeySchema>, @CurrentPrincipal() principal: Principal) {
    return this.prisma.$transaction(async (tx) => {
      const key = await this.keys.create(tx, body);
      await this.audit.record(tx, { type: 'key.created', actor: actorOf(principal), data: { id: key.id, role: body.role, name: body.name } });
      return key;
    });
  }

  @Delete(':id')
  @Roles('admin')
  @HttpCode(200)
  @ApiOperation({ summary: 'Revoke a key (or, given an app id, every key of that app); effective on the next request' })
  async revoke(@Param('id') id: string, @CurrentPrincipal() principal: Principal) {
    if (!/^[A-Za-z0-9_]{1,64}$/.test(id)) throw new ApiError(404, 'key_not_found', 'key not found');
    const revoked = await this.prisma.$transaction(async (tx) => {
      const count = await this.keys.revoke(tx, id, new Date());
      if (count === 0) {
        if (await this.keys.exists(tx, id)) throw new ApiError(409, 'key_already_revoked', 'the key is already revoked');
        throw new ApiError(404, 'key_not_found', 'key not found');
      }
      await this.audit.record(tx, { type: 'key.revoked', actor: actorOf(principal), data: { id, revoked: count } });
      return count;
    });
    return { id, revoked };
  }
}
