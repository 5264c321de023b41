import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, type Page } from 'playwright-core';
import { ARTIFACTS, describeInBrowser, launchBrowser } from '../support/browser.js';
import { embedBody, freePort, seed, startService, type RunningService } from '../support/service.js';
import { TestIdp } from '../support/test-idp.js';

/**
 * The console in a real browser (Debian's chromium driven by playwright-core): sign in through the
 * test IdP, downgrade a tenant and see its seats released, read the license, open the seat-usage
 * report and download its CSV. Screenshots of each page go to test/artifacts/.
 * Chromium comes from `apt-get install chromium` (.ci/run does it); without it these tests are
 * skipped with a warning, unless REQUIRE_BROWSER_TESTS=1 (set by .ci/run) makes that a failure.
 */
const SP_ENTITY_ID = 'https://embedgate.test.example/saml';

describeInBrowser('the console in a browser', () => {
  let idp: TestIdp;
  let service: RunningService;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    const port = await freePort();
    const publicUrl = `http://127.0.0.1:${port}`;
    idp = await TestIdp.create();
    await idp.start(() => ({ entityId: SP_ENTITY_ID, acsUrl: `${publicUrl}/auth/saml/acs` }));
    service = await startService({
      PORT: String(port),
      PUBLIC_URL: publicUrl,
      SEAT_BUDGET: '10',
      SEAT_PRICE_PER_DAY: '2',
      SAML_SP_ENTITY_ID: SP_ENTITY_ID,
      SAML_IDP_ENTRY_POINT: `${idp.url}/sso`,
      SAML_IDP_ISSUER: idp.entityId,
      SAML_IDP_CERT: idp.cert,
      SAML_ROLE_MAP: JSON.stringify({ 'bi-admins': 'admin', finance: 'finance' }),
      SESSION_SECRET: 'browser-session-secret-0123456789abcdef',
    });
    const apps = await seed(service.admin, {
      tenants: [
        { slug: 'acme', name: 'Acme Corp', kind: 'external', tier: 'view', customerId: 'acme-001' },
        { slug: 'globex', name: 'Globex Inc', kind: 'external', tier: 'drill', customerId: 'globex-002', seatCap: 5 },
      ],
      resources: [{ key: 'sales-overview', type: 'dashboard', metabaseId: 1, tenantParam: 'customer_id' }],
      apps: { host: { tenants: '*' } },
    });
    for (const user of ['g-1', 'g-2', 'g-3']) await apps.host.post('/v1/embeds', embedBody('globex', user));
    browser = await launchBrowser();
    page = await (await browser.newContext({ acceptDownloads: true, viewport: { width: 1200, height: 900 } })).newPage();
  });
  afterAll(async () => {
    await browser?.close();
    await service?.stop();
    await idp?.stop();
  });

  it('signs in through the IdP and lands on the tenants page', async () => {
    await page.goto(`${service.baseUrl}/console`);
    await page.waitForURL(/\/console\/tenants$/);
    await page.screenshot({ path: join(ARTIFACTS, 'console-tenants.png'), fullPage: true });
    await expect(page.locator('tr[data-tenant="globex"] .seats').textContent()).resolves.toBe('3 / 5');
  });

  it('downgrades a tenant after a confirmation that says how many seats it releases', async () => {
    await page.locator('tr[data-tenant="globex"] button').click();
    await page.waitForSelector('#release-count');
    await expect(page.locator('#release-count').textContent()).resolves.toBe('3');
    await page.screenshot({ path: join(ARTIFACTS, 'console-downgrade-confirm.png'), fullPage: true });
    await page.locator('button.warn').click();
    await page.waitForURL(/\/console\/tenants\?flash=/);
    await expect(page.locator('.flash').textContent()).resolves.toContain('3 seats released');
    await expect(page.locator('tr[data-tenant="globex"] .tier').textContent()).resolves.toBe('view');
    await expect(page.locator('tr[data-tenant="globex"] .seats').textContent()).resolves.toBe('0 / 5');
    await page.screenshot({ path: join(ARTIFACTS, 'console-tenants-after-downgrade.png'), fullPage: true });
    expect((await service.admin.get('/v1/license')).body.seatsHeld).toBe(0);
  });

  it('shows the license with its gauge', async () => {
    await page.goto(`${service.baseUrl}/console/license`);
    await expect(page.locator('#budget').textContent()).resolves.toBe('10');
    await expect(page.locator('#held').textContent()).resolves.toBe('0');
    await page.screenshot({ path: join(ARTIFACTS, 'console-license.png'), fullPage: true });
  });

  it('opens the seat-usage report with its chart and downloads the CSV', async () => {
    await page.goto(`${service.baseUrl}/console/reports/seat-usage`);
    await page.waitForSelector('#usage-chart');
    await page.screenshot({ path: join(ARTIFACTS, 'console-seat-usage.png'), fullPage: true });
    const [download] = await Promise.all([page.waitForEvent('download'), page.locator('#csv').click()]);
    const file = join(ARTIFACTS, 'seat-usage.csv');
    await download.saveAs(file);
    const csv = readFileSync(file, 'utf8').split('\r\n');
    expect(csv[0]).toBe('date,tenant,peak_seats,seat_days,cost_USD');
    const today = new Date().toISOString().slice(0, 10);
    expect(csv).toContain(`${today},globex,3,3,6`);
  });

  it('shows the audit trail of the downgrade', async () => {
    await page.goto(`${service.baseUrl}/console/audit?type=tenant.tier_changed`);
    await expect(page.locator('table').textContent()).resolves.toContain('staff:ada@corp.example');
    await page.screenshot({ path: join(ARTIFACTS, 'console-audit.png'), fullPage: true });
  });
});
