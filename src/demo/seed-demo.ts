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
  await tenants.create({ slug: 'acme', name: 'Acme Corp', kind: 'external', tier: 'view', customerId: 'acme-001', emailDomains: ['acme.example'] }, actor);
  await tenants.create(
    { slug: 'globex', name: 'Globex Inc', kind: 'external', tier: 'drill', customerId: 'globex-002', seatCap: 3, emailDomains: ['globex.example'] },
    actor,
  );
  await app.get(ResourcesService).create({ key: 'sales-overview', type: 'dashboard', metabaseId: '1', tenantParam: 'customer_id', guest: true }, actor);
  const demoApp = await app.get(AppsService).create({ name: 'demo host app', tenants: ['acme', 'globex'] }, actor);
  const curl = (tenant: string, user: Record<string, string>) =>
    `  curl -s -X POST ${baseUrl}/v1/embeds -H 'Authorization: Bearer ${demoApp.apiKey}' -H 'Content-Type: application/json' -d '${JSON.stringify({
      tenant,
      user,
      resource: 'sales-overview',
      options: { bordered: true, titled: true },
    })}'`;
  return [
    'Demo data: tenants acme (view tier: guest embeds) and globex (drill tier: SSO embeds for @globex.example emails, seat cap 3), resource sales-overview.',
    `Demo app key: ${demoApp.apiKey}`,
    'Get a guest embed:',
    curl('acme', { id: 'u-1', email: 'ana@acme.example', firstName: 'Ana', lastName: 'Ng' }),
    'Get an SSO embed (it takes a seat):',
    curl('globex', { id: 'u-2', email: 'bo@globex.example', firstName: 'Bo', lastName: 'Li' }),
    `(API docs at ${baseUrl}/docs)`,
  ].join('\n');
}
