import { Body, Controller, Delete, Get, HttpCode, Param, Put } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { actorOf, type Principal } from '../auth/principal.js';
import { CurrentPrincipal } from '../auth/current-principal.decorator.js';
import { Roles } from '../auth/roles.decorator.js';
import { ApiBodyFrom } from '../common/openapi.js';
import { validBody } from '../common/zod-validation.pipe.js';
import { oidcProviderSchema, type OidcProviderInput } from './oidc-provider.dto.js';
import { OidcProvidersService } from './oidc-providers.service.js';

@ApiTags('apps')
@ApiBearerAuth()
@Controller('v1/apps/:id/oidc')
export class OidcController {
  constructor(private readonly providers: OidcProvidersService) {}

  @Put()
  @Roles('admin')
  @ApiOperation({ summary: "Set the app's OIDC identity provider (creates or replaces it): its tokens identify the app's viewers" })
  @ApiBodyFrom(oidcProviderSchema)
  put(@Param('id') id: string, @Body(validBody(oidcProviderSchema)) body: OidcProviderInput, @CurrentPrincipal() principal: Principal) {
    return this.providers.put(id, body, actorOf(principal));
  }

  @Get()
  @Roles('admin')
  @ApiOperation({ summary: "The app's OIDC identity provider" })
  get(@Param('id') id: string) {
    return this.providers.get(id);
  }

  @Delete()
  @Roles('admin')
  @HttpCode(200)
  @ApiOperation({ summary: "Delete the app's OIDC identity provider: its tokens are refused from then on" })
  remove(@Param('id') id: string, @CurrentPrincipal() principal: Principal) {
    return this.providers.remove(id, actorOf(principal));
  }
}
