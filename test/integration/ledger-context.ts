import { LicenseModule } from '../../src/license/license.module.js';
import { ReportsModule } from '../../src/reports/reports.module.js';
import { SeatsModule } from '../../src/seats/seats.module.js';
import { type TestDatabase } from '../support/database.js';
import { createIntegrationContext, uniqueSlug, type IntegrationContext } from './integration-context.js';

export interface ServicesContext extends IntegrationContext {
  /** A tenant row made for the test (an active drill tenant unless told otherwise). */
  tenant(fields?: { seatCap?: number; tier?: 'view' | 'drill'; status?: 'active' | 'suspended' }): Promise<{ id: string; slug: string }>;
}

/**
 * The seat ledger, the license and the reports on a fresh database (or `existing`), booted as the
 * service boots them (the license row is seeded with SEAT_BUDGET): no HTTP, no other feature.
 */
export async function servicesOn(env: Record<string, string> = {}, existing?: TestDatabase): Promise<ServicesContext> {
  const context = await createIntegrationContext([SeatsModule, LicenseModule, ReportsModule], env, existing);
  return {
    ...context,
    async tenant(fields = {}) {
      const slug = uniqueSlug('t');
      const [row] = await context.db.query<{ id: string }>(
        `INSERT INTO tenants (slug, name, kind, tier, customer_id, seat_cap, status)
         VALUES ($1, $2, 'external', $3, $4, $5, $6) RETURNING id`,
        [slug, slug, fields.tier ?? 'drill', slug, fields.seatCap ?? null, fields.status ?? 'active'],
      );
      return { id: row.id, slug };
    },
  };
}
