import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ApiError } from '../../src/common/api-error.js';
import { LicenseModule } from '../../src/license/license.module.js';
import { emailDomainAllowed } from '../../src/sso/sso-email.js';
import { TenantsModule } from '../../src/tenants/tenants.module.js';
import { TenantsService } from '../../src/tenants/tenants.service.js';
import { ROOT } from '../support/process.js';
import { createIntegrationContext, uniqueSlug, type IntegrationContext } from './integration-context.js';

let ctx: IntegrationContext;
let tenants: TenantsService;

beforeAll(async () => {
  ctx = await createIntegrationContext([TenantsModule, LicenseModule], { ADMIN_GROUPS: '["Data admins"]' });
  tenants = ctx.app.get(TenantsService);
});

afterAll(async () => {
  await ctx?.close();
});

async function expectApiError(promise: Promise<unknown>, status: number, code: string, message?: RegExp): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ApiError);
  expect(error).toMatchObject({ status, code });
  if (message) expect((error as ApiError).message).toMatch(message);
}

describe('emailDomainAllowed: the email the user gave, in its domain, exactly', () => {
  it.each([
    ['ana@acme.example', ['acme.example'], true],
    ['Ana@ACME.Example', ['acme.example'], true],
    ['ａｎａ@ａｃｍｅ.example', ['acme.example'], true], // NFKC, as every SSO email
    ['ana@eu.acme.example', ['acme.example'], false], // a subdomain only when listed
    ['ana@eu.acme.example', ['acme.example', 'eu.acme.example'], true],
    ['ana@acme.example.evil.example', ['acme.example'], false],
    ['ana@xacme.example', ['acme.example'], false],
    ['"a@acme.example"@evil.example', ['acme.example'], false], // the domain is after the last @
    ['ana@bücher.example', ['bücher.example'], true], // an IDN as given
    ['ana@xn--bcher-kva.example', ['bücher.example'], false],
    ['ana@acme.example', [], false], // no domains: nobody
    ['acme.example', ['acme.example'], false],
    ['ana@', ['acme.example'], false],
  ])('%s in %j: %s', (email, domains, allowed) => {
    expect(emailDomainAllowed(email, domains)).toBe(allowed);
  });
});

describe('TenantsService: email domains', () => {
  it('stores the domains given', async () => {
    const slug = uniqueSlug('dom');
    const view = await tenants.create({ slug, name: 'D', kind: 'internal', emailDomains: ['corp.example'] }, 'key:tester');
    expect(view.emailDomains).toEqual(['corp.example']);
    const [row] = await ctx.db.query<{ email_domains: string[] }>('SELECT email_domains FROM tenants WHERE slug = $1', [slug]);
    expect(row.email_domains).toEqual(['corp.example']);
  });

  it('refuses to empty the domains of a tenant that can get SSO, and changes nothing', async () => {
    const slug = uniqueSlug('keep');
    await tenants.create({ slug, name: 'K', kind: 'external', customerId: 'k', tier: 'drill', emailDomains: ['k.example'] }, 'key:tester');
    await expectApiError(tenants.update(slug, { emailDomains: [] }, 'key:editor'), 400, 'validation_error', /^emailDomains: /);
    expect((await tenants.get(slug)).emailDomains).toEqual(['k.example']);
  });

  it('lets a view-tier external tenant have no domains, and an upgrade to drill then needs them', async () => {
    const slug = uniqueSlug('view');
    await tenants.create({ slug, name: 'V', kind: 'external', customerId: 'v' }, 'key:tester');
    await expectApiError(tenants.setTier(slug, { tier: 'drill' }, 'key:editor'), 400, 'validation_error');
    await tenants.update(slug, { emailDomains: ['v.example'] }, 'key:editor');
    expect((await tenants.setTier(slug, { tier: 'drill' }, 'key:editor')).tenant.tier).toBe('drill');
  });
});

describe('TenantsService: administrator groups', () => {
  it.each([['Administrators'], ['administrators'], ['  ADMINISTRATORS'], ['Data admins'], ['DATA ADMINS']])(
    'refuses groups naming %j on create and on update, with nothing written',
    async (group) => {
      const slug = uniqueSlug('adm');
      await expectApiError(
        tenants.create({ slug, name: 'A', kind: 'external', customerId: 'a', groups: ['Customers', group] }, 'key:tester'),
        400,
        'validation_error',
        /^groups: .*administrator group/,
      );
      expect(await ctx.db.query('SELECT 1 FROM tenants WHERE slug = $1', [slug])).toEqual([]);
      await tenants.create({ slug, name: 'A', kind: 'external', customerId: 'a', groups: ['Customers'] }, 'key:tester');
      await expectApiError(tenants.update(slug, { groups: [group] }, 'key:editor'), 400, 'validation_error');
      expect((await tenants.get(slug)).groups).toEqual(['Customers']);
    },
  );

  it('accepts a group that merely contains the word', async () => {
    const slug = uniqueSlug('ok');
    const view = await tenants.create({ slug, name: 'O', kind: 'external', customerId: 'o', groups: ['Administrators of Acme data'] }, 'key:tester');
    expect(view.groups).toEqual(['Administrators of Acme data']);
  });
});

describe('migration 20261129110000_tenant_email_domains: the backfill of existing tenants', () => {
  const migration = readFileSync(join(ROOT, 'prisma/migrations/20261129110000_tenant_email_domains/migration.sql'), 'utf8');
  const backfill = migration.slice(migration.indexOf('UPDATE "tenants"'));

  it('gives each tenant the domains of its seats’ and SSO identities’ emails (lower case, once each), and none to a tenant without either', async () => {
    const withSeats = uniqueSlug('old');
    const without = uniqueSlug('bare');
    for (const slug of [withSeats, without]) {
      await ctx.db.query("INSERT INTO tenants (slug, name, kind, tier, customer_id) VALUES ($1, $2, 'external', 'drill', 'c')", [slug, slug]);
    }
    const [{ id }] = await ctx.db.query<{ id: string }>('SELECT id FROM tenants WHERE slug = $1', [withSeats]);
    for (const [user, email] of [
      ['u-1', 'ana@Old.example'],
      ['u-2', 'bo@old.example'],
      ['u-3', 'cy+x@eu.old.example'],
    ]) {
      const [row] = await ctx.db.query<{ outcome: string }>("SELECT outcome FROM seat_ledger_acquire($1::uuid, $2, $3, $4, 'test-fixture', false, 0)", [
        id,
        withSeats,
        user,
        email,
      ]);
      expect(row.outcome).toBe('allocated');
    }
    await ctx.db.query('INSERT INTO sso_identities (email, tenant_id) VALUES ($1, $2)', [`dee+${withSeats}@partner.example`, id]);
    await ctx.db.query(`UPDATE tenants SET email_domains = '{}' WHERE slug IN ($1, $2)`, [withSeats, without]);

    await ctx.db.query(backfill);

    const rows = await ctx.db.query<{ slug: string; email_domains: string[] }>('SELECT slug, email_domains FROM tenants WHERE slug IN ($1, $2)', [
      withSeats,
      without,
    ]);
    const domains = Object.fromEntries(rows.map((r) => [r.slug, r.email_domains]));
    expect(domains[withSeats]).toEqual(['eu.old.example', 'old.example', 'partner.example']);
    expect(domains[without]).toEqual([]);
  });
});
