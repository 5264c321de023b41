import type { INestApplicationContext } from '@nestjs/common';
import { AppsService } from '../apps/apps.service.js';
import { ResourcesService } from '../resources/resources.service.js';
import { TenantsService } from '../tenants/tenants.service.js';

/**
 * Seeds the demo database: two tenants (one view-only, one drill-through), one dashboard and a
 * host app key, and returns a curl that gets an embed.
 */
export async function seedDemo(app: INestApplicationContext, baseUrl: string): Promise<string> {
  const actor = 'demo-seed';
  const tenants = app.get(TenantsService);
  await tenants.create({ slug: 'acme', name: 'Acme Corp', kind: 'external', tier: 'view', customerId: 'acme-001' }, actor);
  await tenants.create({ slug: 'globex', name: 'Globex Inc', kind: 'external', tier: 'drill', customerId: 'globex-002', seatCap: 3 }, actor);
  await app.get(ResourcesService).create({ key: 'sales-overview', type: 'dashboard', metabaseId: '1', tenantParam: 'customer_id', guest: true }, actor);
  const demoApp = await app.get(AppsService).create({ name: 'demo host app', tenants: ['acme', 'globex'] }, actor);
  const body = JSON.stringify({
    tenant: 'acme',
    user: { id: 'u-1', email: 'ana@acme.example', firstName: 'Ana', lastName: 'Ng' },
    resource: 'sales-overview',
    options: { bordered: true, titled: true },
  });
  return [
    'Demo data: tenants acme (view tier: guest embeds) and globex (drill tier: SSO embeds, seat cap 3), resource sales-overview.',
    `Demo app key: ${demoApp.apiKey}`,
    'Get an embed:',
    `  curl -s -X POST ${baseUrl}/v1/embeds -H 'Authorization: Bearer ${demoApp.apiKey}' -H 'Content-Type: application/json' -d '${body}'`,
    `(use "tenant":"globex" for an SSO embed that takes a seat; API docs at ${baseUrl}/docs)`,
  ].join('\n');
}
