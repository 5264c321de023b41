import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, type BrowserContext, type Page } from 'playwright-core';
import { ARTIFACTS, describeInBrowser, launchBrowser } from '../support/browser.js';
import { startServiceProcess, type ServiceProcess } from '../support/process.js';
import { freePort } from '../support/service.js';

/**
 * The demo as a newcomer meets it (Debian's chromium driven by playwright-core): `node dist/main.js`
 * with DATABASE_URL unset, the printed console URL, sign-in through the built-in demo identity
 * provider; as finance the billing report, usage and the forecast; as admin a tier change and the
 * alerts it sends. Screenshots of each page go to test/artifacts/. Same skip rule as
 * console.browser.spec.ts: without Chromium these tests are skipped with a warning, unless
 * REQUIRE_BROWSER_TESTS=1.
 */

describeInBrowser('the demo in a browser', () => {
  let dir: string;
  let service: ServiceProcess;
  let consoleUrl: string;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'embedgate-demo-browser-'));
    // As `npm start` runs it: no database, no secret, no SAML setting; only where the demo keeps its data and a free port.
    service = await startServiceProcess(
      {
        DATABASE_URL: undefined,
        METABASE_SITE_URL: undefined,
        METABASE_EMBEDDING_SECRET_KEY: undefined,
        METABASE_JWT_SHARED_SECRET: undefined,
        PUBLIC_URL: undefined,
        PORT: String(await freePort()),
        EMBEDGATE_DEMO_DIR: dir,
      },
      200_000,
    );
    for (let waited = 0; !service.output.some((l) => l.startsWith('Console: ')) && waited < 60_000; waited += 100) await new Promise((r) => setTimeout(r, 100));
    consoleUrl = service.output
      .find((l) => l.startsWith('Console: '))!
      .slice('Console: '.length)
      .trim();
    browser = await launchBrowser();
  }, 300_000);
  afterAll(async () => {
    await browser?.close();
    await service?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Opens the printed console URL in a fresh browser: the console sends it to the demo IdP's page. */
  async function openConsole() {
    await context?.close();
    context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    page = await context.newPage();
    await page.goto(consoleUrl);
    await page.waitForURL(/\/demo-idp\/sso\?/);
  }
  const nav = (name: string) => page.locator('header').getByRole('link', { name, exact: true });

  it('sends a newcomer from the printed console URL to the demo identity provider, who picks finance', async () => {
    await openConsole();
    await page.screenshot({ path: join(ARTIFACTS, 'demo-idp-sign-in.png'), fullPage: true });
    await expect(page.locator('form[data-role]').count()).resolves.toBe(3);
    await page.locator('form[data-role="finance"] button').click();
    await page.waitForURL(/\/console\/tenants$/);
    await expect(page.locator('header').textContent()).resolves.toContain('fin.finance@staff.demo.example (finance)');
  }, 120_000);

  it('as finance, opens the billing report: six weeks of billable seats and their cost', async () => {
    await nav('Billing').click();
    await page.waitForURL(/\/console\/reports\/billing$/);
    await page.waitForSelector('#billing-chart');
    expect(Number(await page.locator('#billable-seat-days').textContent())).toBeGreaterThan(200);
    await expect(page.locator('#cost').textContent()).resolves.toMatch(/USD$/);
    await page.goto(`${page.url()}?from=${new Date(Date.now() - 41 * 86_400_000).toISOString().slice(0, 10)}`);
    await page.waitForSelector('#billing-chart');
    await page.screenshot({ path: join(ARTIFACTS, 'demo-billing.png'), fullPage: true });
  }, 120_000);

  it('as finance, opens the embed usage: guest and SSO embeds and their viewers', async () => {
    await nav('Usage').click();
    await page.waitForURL(/\/console\/reports\/usage$/);
    expect(Number(await page.locator('#guest').textContent())).toBeGreaterThan(0);
    expect(Number(await page.locator('#sso').textContent())).toBeGreaterThan(0);
    await page.screenshot({ path: join(ARTIFACTS, 'demo-usage.png'), fullPage: true });
  }, 120_000);

  it('as finance, opens the forecast and tries acme on the drill tier', async () => {
    await nav('Forecast').click();
    await page.waitForURL(/\/console\/reports\/forecast$/);
    await page.waitForSelector('#forecast');
    await page.screenshot({ path: join(ARTIFACTS, 'demo-forecast.png'), fullPage: true });
    await page.locator('select[name="tier.acme"]').selectOption('drill');
    await page.locator('#forecast').locator('xpath=ancestor::form').locator('button', { hasText: 'Forecast' }).click();
    await page.waitForURL(/tier\.acme=drill/);
    expect(Number(await page.locator('tr[data-tenant="acme"] .needed').textContent())).toBeGreaterThan(20);
    await expect(page.locator('#falls-back').textContent()).resolves.toContain('acme');
    await page.screenshot({ path: join(ARTIFACTS, 'demo-forecast-acme-drill.png'), fullPage: true });
  }, 120_000);

  it('as admin, moves umbrella to the view tier after the confirmation of the seats it releases, and the alert is delivered', async () => {
    await openConsole();
    await page.locator('form[data-role="admin"] button').click();
    await page.waitForURL(/\/console\/tenants$/);
    const held = Number((await page.locator('tr[data-tenant="umbrella"] .seats').textContent())!.split('/')[0].trim());
    expect(held).toBeGreaterThan(0);
    await page.locator('tr[data-tenant="umbrella"] button').click();
    await page.waitForSelector('#release-count');
    await expect(page.locator('#release-count').textContent()).resolves.toBe(String(held));
    await page.screenshot({ path: join(ARTIFACTS, 'demo-downgrade-confirm.png'), fullPage: true });
    await page.locator('button.warn').click();
    await page.waitForURL(/\/console\/tenants\?flash=/);
    await expect(page.locator('.flash').textContent()).resolves.toContain(`${held} seats released`);
    await expect(page.locator('tr[data-tenant="umbrella"] .tier').textContent()).resolves.toBe('view');
    await page.screenshot({ path: join(ARTIFACTS, 'demo-tenants-after-downgrade.png'), fullPage: true });

    // The demo's webhook takes the alerts: the history's thresholds crossed, and this tier change.
    let delivered = false;
    for (let tries = 0; !delivered && tries < 40; tries++) {
      await page.goto(consoleUrl.replace(/\/console$/, '/console/webhooks'));
      delivered = ((await page.locator('main').textContent()) ?? '').includes('tenant.tier_changed');
      if (!delivered) await new Promise((r) => setTimeout(r, 250));
    }
    expect(delivered).toBe(true);
    await expect(page.locator('main').textContent()).resolves.toContain('budget.threshold_crossed');
    await page.screenshot({ path: join(ARTIFACTS, 'demo-webhooks-alerts.png'), fullPage: true });
  }, 120_000);
});
