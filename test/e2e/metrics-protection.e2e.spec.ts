import { randomBytes } from 'node:crypto';
import { ConfigError, loadConfig } from '../../src/config/config.js';
import { metricsExposureWarning } from '../../src/metrics/metrics-server.js';
import { MetricsService } from '../../src/metrics/metrics.service.js';
import { startServiceProcess, type ServiceProcess } from '../support/process.js';
import { rememberSecret } from '../support/secrets-hygiene.js';
import { freePort, startService, TEST_SECRETS, TEST_SITE_URL, type RunningService } from '../support/service.js';

// GET /metrics is protected by METRICS_TOKEN (a bearer token) or moved to METRICS_PORT (a port of its
// own, the API's port answering 404), or both; with neither it stays open on the API's port, and the
// boot warns unless that port is bound to loopback.

let seeding: RunningService;
const token = randomBytes(32).toString('hex');
rememberSecret(token);

beforeAll(async () => {
  seeding = await startService();
}, 60_000);
afterAll(() => seeding?.stop());

const startOnTestDatabase = (env: Record<string, string>) => startServiceProcess({ DATABASE_URL: seeding.db.url, MIGRATE_ON_START: 'false', ...env });
const scrape = (url: string, authorization?: string) => fetch(url, { headers: authorization ? { authorization } : {} });

describe('METRICS_TOKEN', () => {
  let service: ServiceProcess;
  beforeAll(async () => {
    service = await startOnTestDatabase({ METRICS_TOKEN: token });
  }, 60_000);
  afterAll(async () => expect(await service.stop()).toBe(0));

  it('refuses a scrape without the token, 401 in the API’s error shape', async () => {
    const answer = await scrape(`${service.baseUrl}/metrics`);
    expect(answer.status).toBe(401);
    expect(answer.headers.get('www-authenticate')).toBe('Bearer realm="metrics"');
    expect(await answer.json()).toEqual({ error: { code: 'unauthorized', message: expect.stringContaining('METRICS_TOKEN') } });
  });

  it.each([
    ['another token', `Bearer ${randomBytes(32).toString('hex')}`],
    ['the token with a byte more', `Bearer ${token}0`],
    ['the token in another scheme', `Basic ${token}`],
    ['the token alone', token],
  ])('refuses %s', async (_what, authorization) => {
    expect((await scrape(`${service.baseUrl}/metrics`, authorization)).status).toBe(401);
  });

  it('serves the metrics with Authorization: Bearer <METRICS_TOKEN>', async () => {
    const answer = await scrape(`${service.baseUrl}/metrics`, `Bearer ${token}`);
    expect(answer.status).toBe(200);
    const text = await answer.text();
    expect(text).toContain('embedgate_database_up 1');
    expect(text).toMatch(/^embedgate_outbox_jobs\{status="pending"\} \d+$/m);
    expect(text).toMatch(/^embedgate_outbox_oldest_pending_seconds \d/m);
  });
});

describe('METRICS_PORT (with METRICS_TOKEN too)', () => {
  let service: ServiceProcess;
  let metricsUrl: string;
  beforeAll(async () => {
    const port = await freePort();
    metricsUrl = `http://127.0.0.1:${port}`;
    service = await startOnTestDatabase({ METRICS_PORT: String(port), METRICS_TOKEN: token });
  }, 60_000);
  afterAll(async () => expect(await service.stop()).toBe(0));

  it('answers /metrics on the API’s port as it answers a route that does not exist', async () => {
    const metrics = await scrape(`${service.baseUrl}/metrics`, `Bearer ${token}`);
    const unknown = await scrape(`${service.baseUrl}/no-such-route`);
    expect(metrics.status).toBe(404);
    expect(await metrics.json()).toEqual(await unknown.json());
  });

  it('serves GET /metrics on its own port, to a scrape with the token only', async () => {
    expect((await scrape(`${metricsUrl}/metrics`)).status).toBe(401);
    const answer = await scrape(`${metricsUrl}/metrics`, `Bearer ${token}`);
    expect(answer.status).toBe(200);
    expect(answer.headers.get('content-type')).toContain('text/plain');
    expect(await answer.text()).toContain('embedgate_license_seats{kind="budget"}');
  });

  it('serves nothing else there', async () => {
    expect((await scrape(`${metricsUrl}/health/ready`, `Bearer ${token}`)).status).toBe(404);
    expect((await fetch(`${metricsUrl}/metrics`, { method: 'POST', headers: { authorization: `Bearer ${token}` } })).status).toBe(404);
  });

  it('says so at boot', () => {
    const line = service.output.find((text) => text.includes('its own port'));
    expect(JSON.parse(line!)).toMatchObject({ level: 30, metricsPort: Number(new URL(metricsUrl).port) });
  });

  it('closes the metrics port at shutdown', async () => {
    const other = await startOnTestDatabase({ METRICS_PORT: String(await freePort()) });
    const port = JSON.parse(other.output.find((text) => text.includes('its own port'))!).metricsPort;
    expect((await scrape(`http://127.0.0.1:${port}/metrics`)).status).toBe(200);
    expect(await other.stop()).toBe(0);
    await expect(scrape(`http://127.0.0.1:${port}/metrics`)).rejects.toThrow();
  }, 60_000);
});

describe('neither set', () => {
  const base = { ...TEST_SECRETS, METABASE_SITE_URL: TEST_SITE_URL, DATABASE_URL: 'postgresql://localhost/x' };

  it('leaves /metrics open on the API’s port, with a warning at boot unless that port is bound to loopback', () => {
    expect(metricsExposureWarning(loadConfig({ ...base, HOST: '0.0.0.0' }))).toContain('METRICS_PORT');
    expect(metricsExposureWarning(loadConfig({ ...base, HOST: '127.0.0.1' }))).toBeUndefined();
    expect(metricsExposureWarning(loadConfig({ ...base, HOST: '0.0.0.0', METRICS_TOKEN: token }))).toBeUndefined();
    expect(metricsExposureWarning(loadConfig({ ...base, HOST: '0.0.0.0', METRICS_PORT: '9464' }))).toBeUndefined();
  });

  it('serves the scrape on the API’s port (as the tests and the bench use it)', async () => {
    expect((await fetch(`${seeding.baseUrl}/metrics`)).status).toBe(200);
  });
});

describe('the settings, validated at boot', () => {
  const base = { ...TEST_SECRETS, METABASE_SITE_URL: TEST_SITE_URL };
  it.each([
    [{ METRICS_PORT: '8080' }, 'METRICS_PORT must differ from PORT'],
    [{ METRICS_PORT: '70000' }, 'METRICS_PORT must be at most 65535'],
    [{ METRICS_TOKEN: 'short' }, 'METRICS_TOKEN must be at least 32 bytes'],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' }, 'OTEL_EXPORTER_OTLP_ENDPOINT must be the http(s) base URL'],
    [{ OTEL_TRACES_SAMPLER_ARG: '1.5' }, 'OTEL_TRACES_SAMPLER_ARG is the share of traces kept'],
  ])('%o is refused: %s', (env, message) => {
    expect(() => loadConfig({ ...base, ...env })).toThrow(ConfigError);
    expect(() => loadConfig({ ...base, ...env })).toThrow(message);
  });

  it('reads them into the configuration', () => {
    const config = loadConfig({
      ...base,
      METRICS_PORT: '9464',
      METRICS_TOKEN: token,
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/',
      OTEL_TRACES_SAMPLER_ARG: '0.25',
    });
    expect(config.metrics).toEqual({ port: 9464, token });
    expect(config.tracing).toEqual({ endpoint: 'http://collector:4318', serviceName: 'embedgate', sampleRatio: 0.25 });
    expect(loadConfig(base).tracing).toBeUndefined();
  });
});

describe('a scrape while Postgres does not answer', () => {
  it('still succeeds: embedgate_database_up says 0 and the gauges read from Postgres are left out', async () => {
    const down = () => Promise.reject(new Error('connect ECONNREFUSED'));
    const service = new MetricsService({
      seatsHeldByTenant: down,
      seatCapsByTenant: down,
      licenseSeats: down,
      outboxCounts: down,
      ping: down,
      poolCounts: () => ({ total: 0, idle: 0, waiting: 3 }),
    } as never);
    const text = await service.registry.metrics();
    expect(text).toContain('embedgate_database_up 0');
    expect(text).not.toMatch(/^embedgate_license_seats\{/m);
    expect(text).not.toMatch(/^embedgate_outbox_jobs\{/m);
    expect(text).toContain('embedgate_db_pool_connections{state="waiting"} 3');
  });
});
