import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { createApp } from '../../src/app.factory.js';
import { ApiKeysService } from '../../src/auth/api-keys.service.js';
import { loadConfig, type Config } from '../../src/config/config.js';
export { freePort } from '../../src/database/embedded-postgres.js';
import { createLogger } from '../../src/logging/logger.js';
import { createTestDatabase, type TestDatabase } from './database.js';
import { assertLogsHoldNoSecrets, rememberSecret, rememberSecretsIn } from './secrets-hygiene.js';

/** Fresh for every test file: a 64-hex-character guest key (as Metabase generates) and an SSO secret. */
export const TEST_SECRETS = {
  METABASE_EMBEDDING_SECRET_KEY: randomBytes(32).toString('hex'),
  METABASE_JWT_SHARED_SECRET: `sso-${randomBytes(24).toString('base64url')}`,
};
rememberSecret(TEST_SECRETS.METABASE_EMBEDDING_SECRET_KEY);
rememberSecret(TEST_SECRETS.METABASE_JWT_SHARED_SECRET);

export const TEST_SITE_URL = 'https://metabase.test.example';
/** What the service is told its public URL is; tests map it onto the real loopback address. */
export const TEST_PUBLIC_URL = 'https://embedgate.test.example';
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

export interface HttpAnswer<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

/** A client for the running service: real HTTP over loopback. */
export class Api {
  constructor(
    readonly baseUrl: string,
    readonly key?: string,
    /** Sent with every request (a viewer's cookie, an Origin). */
    readonly defaultHeaders: Record<string, string> = {},
  ) {}

  as(key: string): Api {
    return new Api(this.baseUrl, key, this.defaultHeaders);
  }

  /** The same client, without an API key, sending these headers too. */
  withHeaders(headers: Record<string, string>): Api {
    return new Api(this.baseUrl, undefined, { ...this.defaultHeaders, ...headers });
  }

  /**
   * A browser-like viewer: the app opens a viewer session for the user (bound to `origin`, by default
   * the service's only CORS origin or its own), the exchange URL is spent here, and the client sends
   * the cookie it set and the page's Origin. Returns the client, the session's id and the cookie.
   */
  async viewer(tenant: string, user: Record<string, unknown>, origin?: string): Promise<{ api: Api; sessionId: string; cookie: string }> {
    const opened = await this.post('/v1/viewer-sessions', { tenant, user, ...(origin && { origin }) });
    if (opened.status !== 201) throw new Error(`viewer session not opened: ${opened.status} ${JSON.stringify(opened.body)}`);
    const path = new URL(opened.body.url).pathname;
    rememberSecret(path.split('/').pop()!); // the code and the cookie are credentials: never in a log line
    const exchanged = await fetch(`${this.baseUrl}${path}`, { redirect: 'manual' });
    const cookie = exchanged.headers.get('set-cookie');
    if (exchanged.status !== 204 || !cookie) throw new Error(`exchange failed: ${exchanged.status}`);
    rememberSecret(cookie.split(';')[0].split('=')[1]);
    // A browser on the session's host page: its Origin comes with every provider call.
    return {
      api: new Api(this.baseUrl, undefined, { cookie: cookie.split(';')[0], origin: opened.body.origin }),
      sessionId: opened.body.id,
      cookie: cookie.split(';')[0],
    };
  }

  async request<T = any>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<HttpAnswer<T>> {
    const init: RequestInit = { method, headers: { ...this.defaultHeaders, ...headers } };
    if (this.key) (init.headers as Record<string, string>).authorization = `Bearer ${this.key}`;
    if (body !== undefined) {
      (init.headers as Record<string, string>)['content-type'] ??= 'application/json';
      init.body = typeof body === 'string' ? body : JSON.stringify(body);
    }
    const response = await fetch(`${this.baseUrl}${path}`, init);
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      /* not JSON: keep the text */
    }
    rememberSecretsIn(parsed);
    return { status: response.status, body: parsed as T, headers: response.headers };
  }

  get = <T = any>(path: string) => this.request<T>('GET', path);

  /** Opens a one-time launch link (made for TEST_PUBLIC_URL) on this service, without following the redirect. */
  async openLaunch(url: string): Promise<{ status: number; location: string | null; body: any }> {
    const response = await fetch(`${this.baseUrl}${new URL(url).pathname}`, { redirect: 'manual' });
    const text = await response.text();
    let body: unknown = text;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      /* keep text */
    }
    rememberSecretsIn(response.headers.get('location') ?? undefined);
    return { status: response.status, location: response.headers.get('location'), body };
  }
  post = <T = any>(path: string, body?: unknown) => this.request<T>('POST', path, body);
  put = <T = any>(path: string, body?: unknown) => this.request<T>('PUT', path, body);
  patch = <T = any>(path: string, body?: unknown) => this.request<T>('PATCH', path, body);
  delete = <T = any>(path: string) => this.request<T>('DELETE', path);
}

export interface RunningService {
  app: NestFastifyApplication;
  config: Config;
  db: TestDatabase;
  baseUrl: string;
  /** Authenticated as an admin key made for the test. */
  admin: Api;
  anonymous: Api;
  /** Every log line the service wrote. */
  logs: string[];
  /** Creates an admin or finance key directly in the database (as the CLI does). */
  createKey(role: 'admin' | 'finance', name?: string): Promise<string>;
  stop(): Promise<void>;
}

/** Starts the real HTTP service on a fresh database, listening on a loopback port. */
export async function startService(env: Record<string, string> = {}, db?: TestDatabase): Promise<RunningService> {
  const database = db ?? (await createTestDatabase());
  const config = loadConfig({
    DATABASE_URL: database.url,
    METABASE_SITE_URL: TEST_SITE_URL,
    SEAT_BUDGET: '10',
    DATABASE_POOL_SIZE: '10',
    LOG_LEVEL: 'info',
    PUBLIC_URL: TEST_PUBLIC_URL,
    REDIS_URL: TEST_REDIS_URL,
    REDIS_KEY_PREFIX: `test-${randomBytes(6).toString('hex')}`,
    ...TEST_SECRETS,
    ...env,
  });
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      logs.push(...String(chunk).split('\n').filter(Boolean));
      done();
    },
  });
  const logger = createLogger(config.logLevel, sink);
  const app = await createApp(config, logger, { docsUi: false });
  await app.listen({ port: env.PORT ? Number(env.PORT) : 0, host: '127.0.0.1' });
  const address = app.getHttpServer().address();
  const baseUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  const createKey = async (role: 'admin' | 'finance', name = `${role}-key`) => {
    const { apiKey } = await app.get(ApiKeysService).create({ role, name });
    rememberSecret(apiKey);
    return apiKey;
  };
  const adminKey = await createKey('admin', 'test admin');
  return {
    app,
    config,
    db: database,
    baseUrl,
    admin: new Api(baseUrl, adminKey),
    anonymous: new Api(baseUrl),
    logs,
    createKey,
    async stop() {
      await app.close();
      if (!db) await database.drop();
      assertLogsHoldNoSecrets(logs, 'service logs');
    },
  };
}

/** Creates a tenant, a resource and an app scoped to the given tenants, through the API. */
export async function seed(
  admin: Api,
  spec: {
    tenants: Record<string, unknown>[];
    resources?: Record<string, unknown>[];
    apps?: Record<string, { tenants: string[] | '*' }>;
  },
) {
  for (const tenant of spec.tenants) {
    // embedBody's emails are `${userId}@${slug}.example`: that is the tenant's email domain unless the test says otherwise.
    const answer = await admin.post('/v1/tenants', { emailDomains: [`${String(tenant.slug)}.example`], ...tenant });
    if (answer.status !== 201) throw new Error(`seed tenant: ${answer.status} ${JSON.stringify(answer.body)}`);
  }
  for (const resource of spec.resources ?? []) {
    const answer = await admin.post('/v1/resources', resource);
    if (answer.status !== 201) throw new Error(`seed resource: ${answer.status} ${JSON.stringify(answer.body)}`);
  }
  const apps: Record<string, Api> = {};
  for (const [name, app] of Object.entries(spec.apps ?? {})) {
    const answer = await admin.post('/v1/apps', { name, tenants: app.tenants });
    if (answer.status !== 201) throw new Error(`seed app: ${answer.status} ${JSON.stringify(answer.body)}`);
    apps[name] = admin.as(answer.body.apiKey);
  }
  return apps;
}

export const embedBody = (tenant: string, userId: string, extra: Record<string, unknown> = {}) => ({
  tenant,
  user: { id: userId, email: `${userId}@${tenant}.example`, firstName: 'Test', lastName: 'User' },
  resource: 'sales-overview',
  ...extra,
});
