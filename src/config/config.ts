import { envObject, envSchema, type Env } from './config.schema.js';
import type { DemoSettings } from './demo-defaults.js';
import type { TrustProxy } from './trust-proxy.js';

/** The validated configuration, read once at boot. Nothing outside src/config reads process.env. */
export interface Config {
  /** Unset means: run on the embedded demo database (see src/database/embedded-postgres.ts). */
  databaseUrl: string | undefined;
  databasePoolSize: number;
  /** How long getting a Postgres connection may take (opening one, or waiting for a free one in the pool). */
  databaseConnectTimeoutMs: number;
  /** Postgres cancels a statement running longer (SQLSTATE 57014, answered 503); 0 means no limit. */
  databaseStatementTimeoutMs: number;
  host: string;
  port: number;
  /**
   * How long an instance may serve a cached key, tenant, resource or app scope: the bound on how late
   * another instance's revocation, suspension or tier change is seen here (this instance's own writes
   * are seen at once). 0 turns caching off.
   */
  cacheTtlMs: number;
  /** Whose X-Forwarded-For/-Proto/-Host to believe (TRUST_PROXY): none, every hop, a hop count or the proxies' addresses. */
  trustProxy: TrustProxy;
  /** Where browsers reach embedgate: the base of one-time SSO launch links. */
  publicUrl: string;
  /** Send Metabase's `@tenant` claim in SSO tokens (Metabase's own tenant isolation). */
  metabaseTenants: boolean;
  /** Rate limits, shared across instances through Redis when redisUrl is set. */
  rateLimits: { redisUrl?: string; redisKeyPrefix: string; embedsPerMinute: number; authFailuresPerMinute: number };
  /** Staff sign-in (SAML 2.0) and console sessions; undefined when SAML is not configured. */
  saml?: {
    spEntityId: string;
    idpEntryPoint: string;
    idpIssuer: string;
    idpCert: string;
    roleAttribute: string;
    /** IdP group name (exact) to console role. */
    roleMap: ReadonlyMap<string, 'admin' | 'finance' | 'analyst'>;
    acsUrl: string;
    sessionSecret: string;
    sessionIdleMinutes: number;
    sessionAbsoluteHours: number;
    /** Secure cookies: everywhere but plain-http local development. */
    secureCookies: boolean;
  };
  /** The price of one seat for one day, for the cost column of the seat-usage report. */
  seatPrice?: { perDay: number; currency: string };
  /** Origins allowed by CORS; undefined means CORS is off. */
  corsOrigins?: string[];
  /** Viewer sessions (src/viewer-sessions): the cookie's timeouts and SameSite (none when host pages are cross-site). */
  viewerSessions: { idleMinutes: number; maxHours: number; sameSite: 'none' | 'lax' | 'strict' };
  initialSeatBudget: number;
  /**
   * Demo mode (src/demo): set by main.ts only when DATABASE_URL is unset, never by loadConfig, so no
   * environment turns it on with a real database. Undefined in production.
   */
  demo?: DemoSettings;
  logLevel: Env['LOG_LEVEL'];
  /** Who may read /metrics: on a port of its own (`port`) and/or with a bearer token; neither: open on the API's port. */
  metrics: { port?: number; token?: string };
  /** OpenTelemetry tracing; undefined (the default) means off, and no SDK is loaded. */
  tracing?: { endpoint: string; serviceName: string; sampleRatio: number };
  migrateOnStart: boolean;
  metabase: {
    siteUrl: string;
    embeddingSecretKey: string;
    jwtSharedSecret: string;
    guestTokenTtlSeconds: number;
    ssoTokenTtlSeconds: number;
    /** The SSO token's lifetime on the SDK's provider endpoint (the SDK's session lasts until its exp). */
    sdkSsoTokenTtlSeconds: number;
    /** The Metabase API (users, deactivation); undefined when no API key is configured: then it is off. */
    api?: { url: string; key: string; timeoutMs: number };
    /** How often the configuration check runs (with the API key); the isolation verdict goes stale after 3 intervals. */
    checkIntervalMinutes: number;
    /**
     * Who creates an SSO user's Metabase account: 'metabase' (its JWT login, provisioning on) or
     * 'embedgate' (when the seat is first taken, through the API; Metabase's JWT provisioning off).
     */
    userProvisioning: 'metabase' | 'embedgate';
  };
  outbox: { intervalSeconds: number };
  /** Idle-seat reclamation on a schedule; intervalMinutes 0 means off. */
  reclaim: { intervalMinutes: number; idleDays: number };
  /** The purge of rows past their use (src/retention); intervalMinutes 0 means off. */
  retention: { intervalMinutes: number; days: number };
  /**
   * The embed usage roll-up (src/usage): flushed every flushSeconds (0: nothing is recorded), early
   * when bufferLimit viewers are buffered; rows kept retentionDays.
   */
  usage: { flushSeconds: number; bufferLimit: number; retentionDays: number };
  /** Snapshots of Metabase's active users for the billing report (with the API key); 0 means off. */
  metabaseSnapshotIntervalMinutes: number;
  /**
   * Webhooks (src/webhooks): the delivery worker's poll interval, one attempt's timeout, the attempts
   * before a delivery is dead-lettered, the backoff between them, and the targets a URL may name besides
   * public https hosts (loopback over plain http for development; private networks).
   */
  webhooks: {
    pollIntervalMs: number;
    timeoutMs: number;
    maxAttempts: number;
    backoffBaseMs: number;
    backoffMaxMs: number;
    allowHttpLocalhost: boolean;
    allowPrivateNetworks: boolean;
  };
  /** Usage thresholds (percent of the seat budget and of each tenant's cap) for budget.threshold_crossed. */
  alerts: { thresholdsPercent: number[] };
  groups: {
    internal: string[];
    external: string[];
    byRole: Partial<Record<'viewer' | 'analyst', string[]>>;
    /** Administrator groups besides Administrators (ADMIN_GROUPS): never assigned to a tenant or role. */
    admin: string[];
  };
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export const CONFIG = Symbol('CONFIG');

/** Validates an environment and turns it into a Config; throws ConfigError naming every bad variable. */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = envSchema.safeParse(cleaned);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => {
        const variable = String(issue.path[0] ?? '');
        return issue.message.includes(variable) ? issue.message : `${variable}: ${issue.message}`;
      }),
    );
  }
  const e = parsed.data;
  return {
    databaseUrl: e.DATABASE_URL,
    databasePoolSize: e.DATABASE_POOL_SIZE,
    databaseConnectTimeoutMs: e.DATABASE_CONNECT_TIMEOUT_MS,
    databaseStatementTimeoutMs: e.DATABASE_STATEMENT_TIMEOUT_MS,
    host: e.HOST,
    port: e.PORT,
    trustProxy: e.TRUST_PROXY,
    cacheTtlMs: e.CACHE_TTL_MS,
    publicUrl: e.PUBLIC_URL ?? `http://localhost:${e.PORT}`,
    metabaseTenants: e.METABASE_TENANTS,
    rateLimits: {
      redisUrl: e.REDIS_URL,
      redisKeyPrefix: e.REDIS_KEY_PREFIX,
      embedsPerMinute: e.RATE_LIMIT_EMBEDS_PER_MINUTE,
      authFailuresPerMinute: e.RATE_LIMIT_AUTH_FAILURES_PER_MINUTE,
    },
    corsOrigins: e.CORS_ORIGINS,
    viewerSessions: {
      idleMinutes: e.VIEWER_SESSION_IDLE_MINUTES,
      maxHours: e.VIEWER_SESSION_MAX_HOURS,
      // Host pages on other origins (CORS_ORIGINS) send the cookie from their site only with SameSite=None.
      sameSite: e.VIEWER_COOKIE_SAMESITE ?? (e.CORS_ORIGINS?.length ? 'none' : 'lax'),
    },
    saml:
      e.SAML_SP_ENTITY_ID && e.SAML_IDP_ENTRY_POINT && e.SAML_IDP_ISSUER && e.SAML_IDP_CERT && e.SESSION_SECRET
        ? {
            spEntityId: e.SAML_SP_ENTITY_ID,
            idpEntryPoint: e.SAML_IDP_ENTRY_POINT,
            idpIssuer: e.SAML_IDP_ISSUER,
            idpCert: e.SAML_IDP_CERT,
            roleAttribute: e.SAML_ROLE_ATTRIBUTE,
            roleMap: e.SAML_ROLE_MAP,
            acsUrl: `${e.PUBLIC_URL ?? `http://localhost:${e.PORT}`}/auth/saml/acs`,
            sessionSecret: e.SESSION_SECRET,
            sessionIdleMinutes: e.SESSION_IDLE_MINUTES,
            sessionAbsoluteHours: e.SESSION_ABSOLUTE_HOURS,
            secureCookies: !(e.PUBLIC_URL ?? `http://localhost`).startsWith('http://'),
          }
        : undefined,
    seatPrice: e.SEAT_PRICE_PER_DAY !== undefined ? { perDay: e.SEAT_PRICE_PER_DAY, currency: e.SEAT_PRICE_CURRENCY } : undefined,
    initialSeatBudget: e.SEAT_BUDGET,
    logLevel: e.LOG_LEVEL,
    metrics: { port: e.METRICS_PORT, token: e.METRICS_TOKEN },
    tracing: e.OTEL_EXPORTER_OTLP_ENDPOINT
      ? { endpoint: e.OTEL_EXPORTER_OTLP_ENDPOINT, serviceName: e.OTEL_SERVICE_NAME, sampleRatio: e.OTEL_TRACES_SAMPLER_ARG }
      : undefined,
    migrateOnStart: e.MIGRATE_ON_START,
    metabase: {
      siteUrl: e.METABASE_SITE_URL,
      embeddingSecretKey: e.METABASE_EMBEDDING_SECRET_KEY,
      jwtSharedSecret: e.METABASE_JWT_SHARED_SECRET,
      guestTokenTtlSeconds: e.GUEST_TOKEN_TTL_SECONDS,
      ssoTokenTtlSeconds: e.SSO_TOKEN_TTL_SECONDS,
      sdkSsoTokenTtlSeconds: e.SDK_SSO_TOKEN_TTL_SECONDS,
      api: e.METABASE_API_KEY ? { url: e.METABASE_API_URL ?? e.METABASE_SITE_URL, key: e.METABASE_API_KEY, timeoutMs: e.METABASE_API_TIMEOUT_MS } : undefined,
      checkIntervalMinutes: e.METABASE_CHECK_INTERVAL_MINUTES,
      userProvisioning: e.METABASE_USER_PROVISIONING,
    },
    outbox: { intervalSeconds: e.OUTBOX_INTERVAL_SECONDS },
    reclaim: { intervalMinutes: e.RECLAIM_INTERVAL_MINUTES, idleDays: e.RECLAIM_IDLE_DAYS },
    retention: { intervalMinutes: e.RETENTION_INTERVAL_MINUTES, days: e.RETENTION_DAYS },
    usage: { flushSeconds: e.USAGE_FLUSH_SECONDS, bufferLimit: e.USAGE_BUFFER_LIMIT, retentionDays: e.USAGE_RETENTION_DAYS },
    metabaseSnapshotIntervalMinutes: e.METABASE_SNAPSHOT_INTERVAL_MINUTES,
    webhooks: {
      pollIntervalMs: e.WEBHOOK_POLL_INTERVAL_MS,
      timeoutMs: e.WEBHOOK_TIMEOUT_MS,
      maxAttempts: e.WEBHOOK_MAX_ATTEMPTS,
      backoffBaseMs: e.WEBHOOK_BACKOFF_BASE_MS,
      backoffMaxMs: Math.max(e.WEBHOOK_BACKOFF_BASE_MS, e.WEBHOOK_BACKOFF_MAX_MS),
      allowHttpLocalhost: e.WEBHOOK_ALLOW_HTTP_LOCALHOST,
      allowPrivateNetworks: e.WEBHOOK_ALLOW_PRIVATE_NETWORKS,
    },
    alerts: { thresholdsPercent: e.ALERT_THRESHOLDS_PERCENT },
    groups: { internal: e.GROUPS_INTERNAL, external: e.GROUPS_EXTERNAL, byRole: e.ROLE_GROUPS, admin: e.ADMIN_GROUPS },
  };
}

/** The process environment; the one place that reads it. */
export function processEnv(): Record<string, string | undefined> {
  return process.env;
}

/** What the CLI needs: the database, and the Metabase API for the commands that talk to it. */
export interface CliConfig {
  databaseUrl: string;
  metabaseApi?: NonNullable<Config['metabase']['api']>;
  /** For `retention purge`: RETENTION_DAYS and USAGE_RETENTION_DAYS. */
  retentionDays: number;
  usageRetentionDays: number;
  /** For `metabase check|sync|sandboxes`: embedgate's side of the comparison (the secrets are required there). */
  metabaseSide: {
    secrets?: { embeddingSecretKey: string; jwtSharedSecret: string };
    groups: Config['groups'];
    metabaseTenants: boolean;
    userProvisioning: Config['metabase']['userProvisioning'];
  };
}

const cliSchema = envObject
  .pick({
    DATABASE_URL: true,
    METABASE_SITE_URL: true,
    METABASE_API_URL: true,
    METABASE_API_KEY: true,
    METABASE_API_TIMEOUT_MS: true,
    RETENTION_DAYS: true,
    USAGE_RETENTION_DAYS: true,
    METABASE_EMBEDDING_SECRET_KEY: true,
    METABASE_JWT_SHARED_SECRET: true,
    GROUPS_INTERNAL: true,
    GROUPS_EXTERNAL: true,
    ROLE_GROUPS: true,
    ADMIN_GROUPS: true,
    METABASE_TENANTS: true,
    METABASE_USER_PROVISIONING: true,
  })
  .partial({ METABASE_SITE_URL: true, METABASE_EMBEDDING_SECRET_KEY: true, METABASE_JWT_SHARED_SECRET: true });

/** The CLI's configuration: DATABASE_URL is required; the Metabase secrets are not. */
export function loadCliConfig(env: Record<string, string | undefined>): CliConfig {
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = cliSchema.safeParse(cleaned);
  if (!parsed.success) throw new ConfigError(parsed.error.issues.map((i) => `${String(i.path[0] ?? '')}: ${i.message}`));
  const e = parsed.data;
  if (!e.DATABASE_URL) throw new ConfigError(['DATABASE_URL is required: the command acts on that database']);
  const apiUrl = e.METABASE_API_URL ?? e.METABASE_SITE_URL;
  return {
    databaseUrl: e.DATABASE_URL,
    metabaseApi: e.METABASE_API_KEY && apiUrl ? { url: apiUrl, key: e.METABASE_API_KEY, timeoutMs: e.METABASE_API_TIMEOUT_MS } : undefined,
    retentionDays: e.RETENTION_DAYS,
    usageRetentionDays: e.USAGE_RETENTION_DAYS,
    metabaseSide: {
      secrets:
        e.METABASE_EMBEDDING_SECRET_KEY && e.METABASE_JWT_SHARED_SECRET
          ? { embeddingSecretKey: e.METABASE_EMBEDDING_SECRET_KEY, jwtSharedSecret: e.METABASE_JWT_SHARED_SECRET }
          : undefined,
      groups: { internal: e.GROUPS_INTERNAL, external: e.GROUPS_EXTERNAL, byRole: e.ROLE_GROUPS, admin: e.ADMIN_GROUPS },
      metabaseTenants: e.METABASE_TENANTS,
      userProvisioning: e.METABASE_USER_PROVISIONING,
    },
  };
}
