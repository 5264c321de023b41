import { z } from 'zod';
import { parseTrustProxy, type TrustProxy } from './trust-proxy.js';

/** Smallest accepted secret length, in bytes of its UTF-8 text (Metabase HMACs the string itself). */
export const MIN_SECRET_BYTES = 32;

const secret = (name: string) =>
  z.string({ error: `${name} is required` }).refine((value) => Buffer.byteLength(value, 'utf8') >= MIN_SECRET_BYTES, {
    message: `${name} must be at least ${MIN_SECRET_BYTES} bytes (generate one with: openssl rand -hex 32)`,
  });

const jsonOf = <T extends z.ZodType>(name: string, schema: T) =>
  z.string().transform((text, ctx) => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      ctx.addIssue({ code: 'custom', message: `${name} must be valid JSON` });
      return z.NEVER;
    }
    const result = schema.safeParse(parsed);
    if (!result.success) {
      ctx.addIssue({ code: 'custom', message: `${name}: ${result.error.issues.map((i) => i.message).join('; ')}` });
      return z.NEVER;
    }
    return result.data as z.output<T>;
  });

const groupNames = z.array(z.string().min(1).max(200)).max(50);

/** Metabase's administrators group: its members are superusers. Never a group embedgate assigns. */
export const ADMINISTRATORS_GROUP = 'Administrators';

/** Whether a group name is an administrator group (Administrators, or one of `adminGroups`), in any case. */
export const isAdminGroup = (name: string, adminGroups: readonly string[]): boolean =>
  [ADMINISTRATORS_GROUP, ...adminGroups].some((admin) => admin.trim().toLowerCase() === name.trim().toLowerCase());

const integer = (name: string, min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, `${name} must be a whole number`)
    .transform(Number)
    .pipe(z.number().int().min(min, `${name} must be at least ${min}`).max(max, `${name} must be at most ${max}`));

/** The environment embedgate reads, and what each variable becomes. */
export const envObject = z.object({
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'DATABASE_URL must be a postgres:// or postgresql:// URL')
    .optional(),
  DATABASE_POOL_SIZE: integer('DATABASE_POOL_SIZE', 1, 200).default(10),
  DATABASE_CONNECT_TIMEOUT_MS: integer('DATABASE_CONNECT_TIMEOUT_MS', 100, 120_000).default(5_000),
  // 0 turns it off; the seat ledger's transactions are bounded at 15 s anyway (seat-ledger.service.ts).
  DATABASE_STATEMENT_TIMEOUT_MS: integer('DATABASE_STATEMENT_TIMEOUT_MS', 0, 3_600_000).default(15_000),
  METABASE_SITE_URL: z
    .url({ protocol: /^https?$/, error: 'METABASE_SITE_URL must be an http(s) URL, e.g. https://metabase.example.com' })
    .transform((url) => url.replace(/\/+$/, '')),
  METABASE_EMBEDDING_SECRET_KEY: secret('METABASE_EMBEDDING_SECRET_KEY'),
  METABASE_JWT_SHARED_SECRET: secret('METABASE_JWT_SHARED_SECRET'),
  HOST: z.string().min(1).default('0.0.0.0'),
  PORT: integer('PORT', 0, 65535).default(8080),
  SEAT_BUDGET: integer('SEAT_BUDGET', 0, 10_000_000).default(0),
  GUEST_TOKEN_TTL_SECONDS: integer('GUEST_TOKEN_TTL_SECONDS', 10, 600).default(600),
  SSO_TOKEN_TTL_SECONDS: integer('SSO_TOKEN_TTL_SECONDS', 10, 180).default(60),
  // Metabase's SDK keeps its session until the SSO token's exp; Metabase only bounds iat's age (180 s).
  SDK_SSO_TOKEN_TTL_SECONDS: integer('SDK_SSO_TOKEN_TTL_SECONDS', 60, 3_600).default(600),
  VIEWER_SESSION_IDLE_MINUTES: integer('VIEWER_SESSION_IDLE_MINUTES', 1, 1_440).default(30),
  VIEWER_SESSION_MAX_HOURS: integer('VIEWER_SESSION_MAX_HOURS', 1, 168).default(12),
  VIEWER_COOKIE_SAMESITE: z.enum(['none', 'lax', 'strict'], { error: 'VIEWER_COOKIE_SAMESITE is none, lax or strict' }).optional(),
  GROUPS_INTERNAL: jsonOf('GROUPS_INTERNAL', groupNames).default(['Internal analysts']),
  GROUPS_EXTERNAL: jsonOf('GROUPS_EXTERNAL', groupNames).default(['Customers']),
  ROLE_GROUPS: jsonOf('ROLE_GROUPS', z.partialRecord(z.enum(['viewer', 'analyst']), groupNames)).default({
    analyst: ['Analysts'],
  }),
  // Groups with administrator rights besides Administrators: no tenant or role may be given one.
  ADMIN_GROUPS: jsonOf('ADMIN_GROUPS', groupNames).default([]),
  METABASE_API_URL: z
    .url({ protocol: /^https?$/, error: 'METABASE_API_URL must be an http(s) URL' })
    .transform((url) => url.replace(/\/+$/, ''))
    .optional(),
  METABASE_API_KEY: z.string().min(8, 'METABASE_API_KEY looks too short to be a Metabase API key').optional(),
  METABASE_API_TIMEOUT_MS: integer('METABASE_API_TIMEOUT_MS', 100, 120_000).default(5_000),
  METABASE_CHECK_INTERVAL_MINUTES: integer('METABASE_CHECK_INTERVAL_MINUTES', 1, 1_440).default(10),
  // Who creates SSO users' Metabase accounts: Metabase's JWT login, or embedgate when a seat is first taken.
  METABASE_USER_PROVISIONING: z.enum(['metabase', 'embedgate'], { error: 'METABASE_USER_PROVISIONING is metabase or embedgate' }).default('metabase'),
  OUTBOX_INTERVAL_SECONDS: integer('OUTBOX_INTERVAL_SECONDS', 1, 3_600).default(5),
  RECLAIM_INTERVAL_MINUTES: integer('RECLAIM_INTERVAL_MINUTES', 0, 525_600).default(0),
  RECLAIM_IDLE_DAYS: integer('RECLAIM_IDLE_DAYS', 1, 3_650).default(30),
  RETENTION_INTERVAL_MINUTES: integer('RETENTION_INTERVAL_MINUTES', 0, 525_600).default(60),
  RETENTION_DAYS: integer('RETENTION_DAYS', 1, 3_650).default(7),
  // The embed usage roll-up (src/usage): each instance counts in memory and flushes every USAGE_FLUSH_SECONDS (0: off).
  USAGE_FLUSH_SECONDS: integer('USAGE_FLUSH_SECONDS', 0, 3_600).default(5),
  USAGE_BUFFER_LIMIT: integer('USAGE_BUFFER_LIMIT', 100, 10_000_000).default(50_000),
  USAGE_RETENTION_DAYS: integer('USAGE_RETENTION_DAYS', 1, 3_650).default(400),
  // Snapshots of Metabase's active-user count for the billing report (with METABASE_API_KEY; 0: off).
  METABASE_SNAPSHOT_INTERVAL_MINUTES: integer('METABASE_SNAPSHOT_INTERVAL_MINUTES', 0, 1_440).default(60),
  // Webhooks (src/webhooks): the delivery worker, its retries, and which targets a webhook URL may name.
  ALERT_THRESHOLDS_PERCENT: z
    .string()
    .transform((list, ctx) => {
      const items = list.split(',').map((item) => item.trim());
      const percents = items.map(Number);
      if (items.some((item) => !/^\d{1,3}$/.test(item)) || percents.some((p) => p < 1 || p > 100) || percents.length > 10) {
        ctx.addIssue({
          code: 'custom',
          message: 'ALERT_THRESHOLDS_PERCENT is a comma-separated list of up to 10 whole percentages, 1 to 100 (e.g. 80,90,100)',
        });
        return z.NEVER;
      }
      return [...new Set(percents)].sort((a, b) => a - b);
    })
    .default([80, 90, 100]),
  WEBHOOK_POLL_INTERVAL_MS: integer('WEBHOOK_POLL_INTERVAL_MS', 50, 60_000).default(1_000),
  WEBHOOK_TIMEOUT_MS: integer('WEBHOOK_TIMEOUT_MS', 100, 60_000).default(10_000),
  WEBHOOK_MAX_ATTEMPTS: integer('WEBHOOK_MAX_ATTEMPTS', 1, 50).default(12),
  WEBHOOK_BACKOFF_BASE_MS: integer('WEBHOOK_BACKOFF_BASE_MS', 10, 3_600_000).default(5_000),
  WEBHOOK_BACKOFF_MAX_MS: integer('WEBHOOK_BACKOFF_MAX_MS', 10, 86_400_000).default(3_600_000),
  WEBHOOK_ALLOW_HTTP_LOCALHOST: z
    .enum(['true', 'false'])
    .default('false')
    .transform((v) => v === 'true'),
  WEBHOOK_ALLOW_PRIVATE_NETWORKS: z
    .enum(['true', 'false'])
    .default('false')
    .transform((v) => v === 'true'),
  PUBLIC_URL: z
    .url({ protocol: /^https?$/, error: 'PUBLIC_URL must be an http(s) URL: where browsers reach embedgate' })
    .transform((url) => url.replace(/\/+$/, ''))
    .optional(),
  METABASE_TENANTS: z
    .enum(['true', 'false'])
    .default('false')
    .transform((v) => v === 'true'),
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, 'REDIS_URL must be a redis:// or rediss:// URL')
    .optional(),
  REDIS_KEY_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9:_-]{1,64}$/, 'REDIS_KEY_PREFIX is 1-64 letters, digits, :, _ or -')
    .default('embedgate'),
  RATE_LIMIT_EMBEDS_PER_MINUTE: integer('RATE_LIMIT_EMBEDS_PER_MINUTE', 1, 10_000_000).default(6_000),
  RATE_LIMIT_AUTH_FAILURES_PER_MINUTE: integer('RATE_LIMIT_AUTH_FAILURES_PER_MINUTE', 1, 100_000).default(30),
  CORS_ORIGINS: z
    .string()
    .transform((list) =>
      list
        .split(',')
        .map((origin) => origin.trim())
        .filter(Boolean),
    )
    .pipe(z.array(z.url({ protocol: /^https?$/, error: 'CORS_ORIGINS is a comma-separated list of http(s) origins' })))
    .optional(),
  SEAT_PRICE_PER_DAY: z
    .string()
    .regex(/^\d{1,9}(\.\d{1,6})?$/, 'SEAT_PRICE_PER_DAY is a decimal number, e.g. 2.50 (the price of one seat for one day)')
    .transform(Number)
    .optional(),
  SEAT_PRICE_CURRENCY: z
    .string()
    .regex(/^[A-Z]{3}$/, 'SEAT_PRICE_CURRENCY is a 3-letter currency code, e.g. USD')
    .default('USD'),
  SAML_SP_ENTITY_ID: z.string().min(1).max(500).optional(),
  SAML_IDP_ENTRY_POINT: z.url({ protocol: /^https?$/, error: 'SAML_IDP_ENTRY_POINT must be the IdP’s http(s) SSO URL' }).optional(),
  SAML_IDP_ISSUER: z.string().min(1).max(500).optional(),
  SAML_IDP_CERT: z
    .string()
    .refine((pem) => pem.includes('BEGIN CERTIFICATE') || /^[A-Za-z0-9+/=\s]{200,}$/.test(pem), 'SAML_IDP_CERT must be the IdP’s signing certificate (PEM)')
    .optional(),
  SAML_ROLE_ATTRIBUTE: z.string().min(1).max(200).default('groups'),
  // A Map: an IdP group named like an Object property (constructor, toString) must not find a role.
  SAML_ROLE_MAP: jsonOf(
    'SAML_ROLE_MAP',
    z
      .record(z.string().min(1), z.enum(['admin', 'finance', 'analyst']))
      .transform((roles) => new Map(Object.entries(roles)) as ReadonlyMap<string, 'admin' | 'finance' | 'analyst'>),
  ).default(new Map()),
  SESSION_SECRET: secret('SESSION_SECRET').optional(),
  SESSION_IDLE_MINUTES: integer('SESSION_IDLE_MINUTES', 1, 1_440).default(30),
  SESSION_ABSOLUTE_HOURS: integer('SESSION_ABSOLUTE_HOURS', 1, 168).default(8),
  // Whose X-Forwarded-* to believe: see src/config/trust-proxy.ts for each form and what Fastify makes of it.
  TRUST_PROXY: z
    .string()
    .default('false')
    .transform((text, ctx): TrustProxy => {
      const parsed = parseTrustProxy(text);
      if ('value' in parsed) return parsed.value;
      for (const message of parsed.problems) ctx.addIssue({ code: 'custom', message });
      return z.NEVER;
    }),
  CACHE_TTL_MS: integer('CACHE_TTL_MS', 0, 10_000).default(2_000),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  // /metrics: on a port of its own (not the API's) and/or behind a bearer token; neither: open on the API's port.
  METRICS_PORT: integer('METRICS_PORT', 1, 65535).optional(),
  METRICS_TOKEN: secret('METRICS_TOKEN').optional(),
  // OpenTelemetry tracing (OTLP/HTTP, JSON): off, and no SDK loaded, unless the endpoint is set.
  OTEL_EXPORTER_OTLP_ENDPOINT: z
    .url({ protocol: /^https?$/, error: 'OTEL_EXPORTER_OTLP_ENDPOINT must be the http(s) base URL of an OTLP/HTTP receiver, e.g. http://otel-collector:4318' })
    .transform((url) => url.replace(/\/+$/, ''))
    .optional(),
  OTEL_SERVICE_NAME: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,100}$/, 'OTEL_SERVICE_NAME is 1-100 letters, digits, ., _ or -')
    .default('embedgate'),
  OTEL_TRACES_SAMPLER_ARG: z
    .string()
    .regex(/^(0(\.\d{1,6})?|1(\.0{1,6})?)$/, 'OTEL_TRACES_SAMPLER_ARG is the share of traces kept, from 0 to 1 (e.g. 0.1)')
    .transform(Number)
    .default(1),
  MIGRATE_ON_START: z
    .enum(['true', 'false'])
    .default('true')
    .transform((v) => v === 'true'),
  // Read by demo-defaults.ts before validation; here so that it is refused with a real database.
  EMBEDGATE_DEMO_DIR: z.string().min(1).max(1000).optional(),
});

const SAML_REQUIRED = ['SAML_SP_ENTITY_ID', 'SAML_IDP_ENTRY_POINT', 'SAML_IDP_ISSUER', 'SAML_IDP_CERT'] as const;

export const envSchema = envObject.superRefine((env, ctx) => {
  // Demo mode (its data, its identity provider, its defaults) exists only without a database: nothing turns it on with one.
  if (env.DATABASE_URL !== undefined && env.EMBEDGATE_DEMO_DIR !== undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['EMBEDGATE_DEMO_DIR'],
      message: 'EMBEDGATE_DEMO_DIR is for demo mode only (DATABASE_URL unset); with DATABASE_URL set there is no demo: unset it',
    });
  }
  // SAML is off when none of its settings is given; on, it needs all of them and a session secret.
  const given = SAML_REQUIRED.filter((name) => env[name] !== undefined);
  if (given.length > 0) {
    for (const name of SAML_REQUIRED) {
      if (env[name] === undefined)
        ctx.addIssue({ code: 'custom', path: [name], message: `${name} is required when SAML is configured (${given.join(', ')} set)` });
    }
    if (env.SESSION_SECRET === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['SESSION_SECRET'],
        message: 'SESSION_SECRET is required when SAML is configured (at least 32 bytes: openssl rand -hex 32)',
      });
    }
  }
  // An SSO login with an administrator group makes a Metabase superuser (group sync applies names as given).
  const assigned: [string, string[]][] = [
    ['GROUPS_INTERNAL', env.GROUPS_INTERNAL],
    ['GROUPS_EXTERNAL', env.GROUPS_EXTERNAL],
    ...Object.entries(env.ROLE_GROUPS).map(([role, groups]): [string, string[]] => [`ROLE_GROUPS.${role}`, groups ?? []]),
  ];
  for (const [name, groups] of assigned) {
    const admin = groups.find((group) => isAdminGroup(group, env.ADMIN_GROUPS));
    if (admin !== undefined) {
      ctx.addIssue({ code: 'custom', path: [name.split('.')[0]], message: `${name} must not name an administrator group ('${admin}')` });
    }
  }
  if (env.METABASE_USER_PROVISIONING === 'embedgate' && env.METABASE_API_KEY === undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['METABASE_USER_PROVISIONING'],
      message: 'METABASE_USER_PROVISIONING=embedgate needs METABASE_API_KEY (embedgate creates the Metabase accounts through the API)',
    });
  }
  if (env.METRICS_PORT !== undefined && env.METRICS_PORT === env.PORT) {
    ctx.addIssue({ code: 'custom', path: ['METRICS_PORT'], message: 'METRICS_PORT must differ from PORT (/metrics gets a port of its own)' });
  }
  if (env.METABASE_EMBEDDING_SECRET_KEY === env.METABASE_JWT_SHARED_SECRET) {
    ctx.addIssue({
      code: 'custom',
      path: ['METABASE_JWT_SHARED_SECRET'],
      message: 'METABASE_JWT_SHARED_SECRET must differ from METABASE_EMBEDDING_SECRET_KEY (Metabase keeps them separate)',
    });
  }
});

export type Env = z.output<typeof envSchema>;
