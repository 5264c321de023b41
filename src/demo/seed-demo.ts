import { randomUUID } from 'node:crypto';
import type { INestApplicationContext } from '@nestjs/common';
import type { Logger } from 'pino';
import { AppsService } from '../apps/apps.service.js';
import { AuditService } from '../audit/audit.service.js';
import { ApiKeysService } from '../auth/api-keys.service.js';
import { ApiError } from '../common/api-error.js';
import { CONFIG, type Config } from '../config/config.js';
import { Transactions } from '../database/transactions.js';
import { embedRequestSchema } from '../embeds/embed-request.dto.js';
import { EmbedsService } from '../embeds/embeds.service.js';
import { LicenseService } from '../license/license.service.js';
import { createResourceSchema, ResourcesService } from '../resources/resources.service.js';
import { createTenantSchema } from '../tenants/tenant.dto.js';
import { TenantsService } from '../tenants/tenants.service.js';
import { createWebhookSchema } from '../webhooks/webhook.dto.js';
import { WebhooksService } from '../webhooks/webhooks.service.js';
import { planDemoHistory, type DemoGuestTenant, type DemoHistory, type DemoSeatTenant } from './demo-history.js';
import { DEMO_WEBHOOK_INBOX_PATH } from './demo-webhook-inbox.controller.js';
import { DEMO_SEEDED_EVENT, DemoRepository } from './demo.repository.js';
import { DAY_MS } from '../common/days.js';

const ACTOR = 'demo-seed';
/** The actor of the history's seat events: they were not made by anyone, and say so. */
const HISTORY_ACTOR = 'demo-history';
const HISTORY_DAYS = 42;
const DEMO_APP = 'demo host app';
/** Thousands of rows, each seat event through the webhooks' trigger, on a one-session embedded Postgres: more than the default 5 s. */
const HISTORY_TX = { maxWait: 10_000, timeout: 120_000 };
const DEMO_WEBHOOK_EVENTS = ['budget.threshold_crossed', 'tenant.tier_changed'];
const DEMO_WEBHOOK_DESCRIPTION = 'demo: the alerts, delivered to the demo itself';

const TENANTS = [
  { slug: 'acme', name: 'Acme Corp', kind: 'external', tier: 'view', customerId: 'acme-001', emailDomains: ['acme.example'] },
  { slug: 'globex', name: 'Globex Inc', kind: 'external', tier: 'drill', customerId: 'globex-002', seatCap: 5, emailDomains: ['globex.example'] },
  { slug: 'initech', name: 'Initech (internal analysts)', kind: 'internal', tier: 'drill', emailDomains: ['initech.example'] },
  { slug: 'umbrella', name: 'Umbrella Health', kind: 'external', tier: 'drill', customerId: 'umbrella-004', seatCap: 12, emailDomains: ['umbrella.example'] },
].map((tenant) => createTenantSchema.parse(tenant));

/** How the drill tenants' seats grow over the weeks (globex keeps room for the printed SSO curl's user). */
const SEAT_TENANTS: DemoSeatTenant[] = [
  { slug: 'globex', emailDomain: 'globex.example', seatCap: 5, seatsAtStart: 1, seatsAtEnd: 3 },
  { slug: 'initech', emailDomain: 'initech.example', seatCap: null, seatsAtStart: 4, seatsAtEnd: 8 },
  { slug: 'umbrella', emailDomain: 'umbrella.example', seatCap: 12, seatsAtStart: 2, seatsAtEnd: 9 },
];
const GUEST_TENANTS: DemoGuestTenant[] = [{ slug: 'acme', emailDomain: 'acme.example', viewersAtStart: 18, viewersAtEnd: 40 }];

const RESOURCES = [
  { key: 'sales-overview', type: 'dashboard', metabaseId: '1', tenantParam: 'customer_id', guest: true },
  { key: 'support-tickets', type: 'dashboard', metabaseId: '2', tenantParam: 'customer_id', guest: true },
].map((resource) => createResourceSchema.parse(resource));

/**
 * The demo's data, made once per demo database (`npm run demo:reset` starts over): four tenants (a
 * view-tier one, two drill-tier customers and an internal team), two dashboards, a host app, six weeks
 * of seat and embed history, and today's seats taken through the real embed path. At every start, new
 * admin, finance and app keys (the previous demo keys stop working: only their hashes are stored, so
 * a key cannot be shown twice). Returns what to print: the console, the keys and curls to try.
 */
export async function seedDemo(app: INestApplicationContext, baseUrl: string, logger: Logger): Promise<string> {
  const config = app.get<Config>(CONFIG);
  const repository = app.get(DemoRepository);
  const state = await repository.seedState();
  let appKey: string | undefined;
  if (state === 'empty') {
    appKey = await seedData(app, config, logger);
  } else if (state === 'partial') {
    logger.warn('the demo database holds an interrupted seeding: `npm run demo:reset` (with the service stopped) starts the demo over');
  } else {
    logger.info('demo data found: seeded at an earlier start');
    await pointDemoWebhookHere(app, config);
  }
  const adminKey = await freshStaffKey(app, 'admin');
  const financeKey = await freshStaffKey(app, 'finance');
  appKey ??= await freshAppKey(app);
  return printout(config, baseUrl, { adminKey, financeKey, appKey });
}

/**
 * Tenants, resources, the host app, the alerts webhook, the history and today's seats; the completion
 * mark last. Returns the app's key.
 */
async function seedData(app: INestApplicationContext, config: Config, logger: Logger): Promise<string> {
  const tenants = app.get(TenantsService);
  for (const tenant of TENANTS) await tenants.create(tenant, ACTOR);
  for (const resource of RESOURCES) await app.get(ResourcesService).create(resource, ACTOR);
  const demoApp = await app.get(AppsService).create({ name: DEMO_APP, tenants: TENANTS.map((t) => t.slug) }, ACTOR);
  // Before the history: the webhooks' triggers then queue the history's threshold crossings, at their own times.
  const inbox = `${config.publicUrl}${DEMO_WEBHOOK_INBOX_PATH}`;
  try {
    await app.get(WebhooksService).create(createWebhookSchema.parse({ url: inbox, events: DEMO_WEBHOOK_EVENTS, description: DEMO_WEBHOOK_DESCRIPTION }), ACTOR);
  } catch (error) {
    // A PUBLIC_URL no webhook may name (PORT=0, say): the demo goes on without its alerts.
    if (!(error instanceof ApiError)) throw error;
    logger.warn({ url: inbox, reason: error.message }, 'demo: no webhook for the alerts');
  }

  const today = new Date(Math.floor(Date.now() / DAY_MS) * DAY_MS);
  const history = planDemoHistory({
    today,
    days: HISTORY_DAYS,
    budget: (await app.get(LicenseService).get()).seatBudget,
    seatTenants: SEAT_TENANTS,
    guestTenants: GUEST_TENANTS,
    resources: RESOURCES.map((r) => r.key),
    newSeatId: randomUUID,
  });
  await writeHistory(app, history);
  const live = await takeTodaysSeats(app, demoApp.apiKey, history, logger);

  await app
    .get(Transactions)
    .run((tx) =>
      app
        .get(AuditService)
        .record(tx, { type: DEMO_SEEDED_EVENT, actor: ACTOR, data: { historyDays: HISTORY_DAYS, seatEvents: history.seatEvents.length, seatsToday: live } }),
    );
  logger.info({ historyDays: HISTORY_DAYS, seatEvents: history.seatEvents.length, seatsToday: live }, 'demo data seeded');
  return demoApp.apiKey;
}

/** At a later start, PUBLIC_URL (or PORT) may have changed: the demo webhook follows it. */
async function pointDemoWebhookHere(app: INestApplicationContext, config: Config): Promise<void> {
  const webhooks = app.get(WebhooksService);
  const url = `${config.publicUrl}${DEMO_WEBHOOK_INBOX_PATH}`;
  const demo = (await webhooks.list(200)).items.find((w) => w.description === DEMO_WEBHOOK_DESCRIPTION);
  if (demo && demo.url !== url) await webhooks.update(demo.id, { url }, ACTOR);
}

/** The past, in one transaction: seat events with their own timestamps, and the usage roll-up's days. */
async function writeHistory(app: INestApplicationContext, history: DemoHistory): Promise<void> {
  const ids = new Map((await app.get(TenantsService).findIdsBySlugs(TENANTS.map((t) => t.slug))).map((t) => [t.slug, t.id]));
  const idOf = (slug: string) => ids.get(slug)!;
  const repository = app.get(DemoRepository);
  await app.get(Transactions).run(async (tx) => {
    await repository.appendSeatHistory(
      history.seatEvents.map(({ tenant, ...event }) => ({ ...event, tenantId: idOf(tenant), actor: HISTORY_ACTOR })),
      tx,
    );
    await repository.appendUsageHistory(
      history.embeds.map(({ tenant, resource, viewerIds: _viewers, ...counts }) => ({ ...counts, tenantId: idOf(tenant), resourceKey: resource })),
      history.embeds.flatMap(({ day, tenant, resource, viewerIds }) =>
        viewerIds.map((userId) => ({ day, tenantId: idOf(tenant), resourceKey: resource, userId })),
      ),
      tx,
    );
  }, HISTORY_TX);
}

/**
 * Today's seats go through the real embed path, as the host app would ask (policy, identity binding,
 * seat ledger, launch link, usage count): the history's last holders, then a few guest viewers.
 * Returns the seats taken.
 */
async function takeTodaysSeats(app: INestApplicationContext, appKey: string, history: DemoHistory, logger: Logger): Promise<number> {
  const principal = await app.get(ApiKeysService).authenticate(appKey);
  if (!principal) throw new Error('the demo app key does not authenticate');
  const embeds = app.get(EmbedsService);
  let seats = 0;
  for (const { tenant, ...user } of history.holders) {
    const answer = await embeds.embed(principal, embedRequestSchema.parse({ tenant, user, resource: RESOURCES[0].key }));
    if (answer.mode === 'sso') seats++;
    else logger.warn({ tenant, user: user.id, rule: answer.decision.rule }, 'demo: a seat of the history was not taken today');
  }
  for (const n of [1, 2, 3, 4, 5, 6]) {
    await embeds.embed(
      principal,
      embedRequestSchema.parse({ tenant: 'acme', user: { id: `acme-${String(n).padStart(3, '0')}` }, resource: RESOURCES[n % 2].key }),
    );
  }
  return seats;
}

/** A new admin or finance key named "demo <role>"; the previous ones are rotated out (they stop now). */
async function freshStaffKey(app: INestApplicationContext, role: 'admin' | 'finance'): Promise<string> {
  const keys = app.get(ApiKeysService);
  const [latest, ...older] = await app.get(DemoRepository).activeKeyIds({ role, name: `demo ${role}` });
  for (const id of older) await keys.revokeKey(id, ACTOR);
  if (latest) return (await keys.rotateKey(latest, 0, ACTOR)).apiKey;
  return (await keys.issue({ role, name: `demo ${role}` }, ACTOR)).apiKey;
}

/** A new key for the demo host app; its previous keys are rotated out. Undefined when the app is gone. */
async function freshAppKey(app: INestApplicationContext): Promise<string | undefined> {
  const repository = app.get(DemoRepository);
  const appId = await repository.appIdNamed(DEMO_APP);
  if (!appId) return undefined;
  const keys = app.get(ApiKeysService);
  const [latest, ...older] = await repository.activeKeyIds({ role: 'app', name: DEMO_APP, appId });
  for (const id of older) await keys.revokeKey(id, ACTOR);
  if (latest) return (await keys.rotateKey(latest, 0, ACTOR)).apiKey;
  return app.get(Transactions).run(async (tx) => {
    const created = await keys.create({ role: 'app', name: DEMO_APP, appId }, tx);
    await app.get(AuditService).record(tx, { type: 'key.created', actor: ACTOR, data: { id: created.id, role: 'app', name: DEMO_APP, appId } });
    return created.apiKey;
  });
}

function printout(config: Config, baseUrl: string, keys: { adminKey: string; financeKey: string; appKey?: string }): string {
  const embedCurl = (tenant: string, user: Record<string, string>) =>
    `  curl -s -X POST ${baseUrl}/v1/embeds -H 'Authorization: Bearer ${keys.appKey}' -H 'Content-Type: application/json' -d '${JSON.stringify({
      tenant,
      user,
      resource: RESOURCES[0].key,
      options: { bordered: true, titled: true },
    })}'`;
  const today = new Date().toISOString().slice(0, 10);
  const from = new Date(Date.now() - HISTORY_DAYS * DAY_MS).toISOString().slice(0, 10);
  const consoleLines = config.saml
    ? [
        `Console: ${baseUrl}/console`,
        config.demo?.idp
          ? '  sign in through the demo identity provider as finance (Billing, Usage, Forecast), admin (also tier changes, Webhooks: the alerts, Audit) or analyst'
          : '  sign in through your SAML identity provider (SAML_* is set)',
      ]
    : [];
  const finance = `-H 'Authorization: Bearer ${keys.financeKey}'`;
  return [
    `embedgate demo: data in ${config.demo?.dir ?? 'memory'} (kept across restarts; npm run demo:reset starts over)`,
    ...consoleLines,
    `Demo data: tenants acme (view tier: guest embeds), globex and umbrella (drill tier: SSO embeds, seat caps 5 and 12), initech (internal),`,
    `  resources ${RESOURCES.map((r) => r.key).join(' and ')}, ${HISTORY_DAYS / 7} weeks of seats and embeds, alerts delivered to a demo webhook.`,
    'Keys, new at each start (the previous demo keys stop working):',
    `  admin:   ${keys.adminKey}`,
    `  finance: ${keys.financeKey}`,
    ...(keys.appKey ? [`  app:     ${keys.appKey}`] : [`  app:     none (the app "${DEMO_APP}" is gone)`]),
    ...(keys.appKey
      ? [
          'Get a guest embed:',
          embedCurl('acme', { id: 'u-1', email: 'ana@acme.example', firstName: 'Ana', lastName: 'Ng' }),
          'Get an SSO embed (it takes a seat):',
          embedCurl('globex', { id: 'u-2', email: 'bo@globex.example', firstName: 'Bo', lastName: 'Li' }),
        ]
      : []),
    'What Metabase bills, day by day (finance):',
    `  curl -s '${baseUrl}/v1/reports/billing?from=${from}&to=${today}' ${finance}`,
    'A forecast (finance): the seats acme would need on the drill tier, nothing applied:',
    `  curl -s -X POST ${baseUrl}/v1/reports/forecast ${finance} -H 'Content-Type: application/json' -d '{"changes":[{"tenant":"acme","tier":"drill"}]}'`,
    `(API docs at ${baseUrl}/docs)`,
  ].join('\n');
}
