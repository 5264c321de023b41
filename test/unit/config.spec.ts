import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import Fastify from 'fastify';
import { ConfigError, loadConfig } from '../../src/config/config.js';
import { fastifyTrustProxy, trustProxyWarning } from '../../src/config/trust-proxy.js';

const valid = {
  DATABASE_URL: 'postgresql://postgres@127.0.0.1:5432/x',
  METABASE_SITE_URL: 'https://metabase.example.com/',
  METABASE_EMBEDDING_SECRET_KEY: 'a'.repeat(64),
  METABASE_JWT_SHARED_SECRET: 'b'.repeat(32),
};

const problemsOf = (env: Record<string, string | undefined>) => {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.message;
    throw error;
  }
  return '';
};

describe('loadConfig', () => {
  it('reads a valid environment into a typed config', () => {
    const config = loadConfig({ ...valid, PORT: '9000', SEAT_BUDGET: '25', ROLE_GROUPS: '{"analyst":["Power users"]}' });
    expect(config).toMatchObject({ port: 9000, initialSeatBudget: 25, groups: { byRole: { analyst: ['Power users'] } } });
    expect(config.metabase.siteUrl).toBe('https://metabase.example.com');
  });

  it.each([
    ['METABASE_EMBEDDING_SECRET_KEY', { METABASE_EMBEDDING_SECRET_KEY: undefined }, /METABASE_EMBEDDING_SECRET_KEY is required/],
    ['METABASE_JWT_SHARED_SECRET', { METABASE_JWT_SHARED_SECRET: '' }, /METABASE_JWT_SHARED_SECRET is required/],
    ['METABASE_EMBEDDING_SECRET_KEY', { METABASE_EMBEDDING_SECRET_KEY: 'short' }, /METABASE_EMBEDDING_SECRET_KEY must be at least 32 bytes/],
    ['METABASE_JWT_SHARED_SECRET', { METABASE_JWT_SHARED_SECRET: 'x'.repeat(31) }, /METABASE_JWT_SHARED_SECRET must be at least 32 bytes/],
    ['METABASE_JWT_SHARED_SECRET', { METABASE_JWT_SHARED_SECRET: 'a'.repeat(64) }, /METABASE_JWT_SHARED_SECRET must differ from METABASE_EMBEDDING_SECRET_KEY/],
    ['METABASE_SITE_URL', { METABASE_SITE_URL: 'metabase.example.com' }, /METABASE_SITE_URL/],
    ['DATABASE_URL', { DATABASE_URL: 'mysql://x' }, /DATABASE_URL/],
    ['PORT', { PORT: 'eighty' }, /PORT/],
    ['SEAT_BUDGET', { SEAT_BUDGET: '-3' }, /SEAT_BUDGET/],
    ['SSO_TOKEN_TTL_SECONDS', { SSO_TOKEN_TTL_SECONDS: '600' }, /SSO_TOKEN_TTL_SECONDS must be at most 180/],
    ['ROLE_GROUPS', { ROLE_GROUPS: '{not json' }, /ROLE_GROUPS must be valid JSON/],
  ])('stops on a bad %s with a message naming it', (_name, change, message) => {
    expect(problemsOf({ ...valid, ...change })).toMatch(message);
  });

  it('lists every problem at once', () => {
    const message = problemsOf({ DATABASE_URL: valid.DATABASE_URL });
    expect(message).toMatch(/METABASE_SITE_URL/);
    expect(message).toMatch(/METABASE_EMBEDDING_SECRET_KEY/);
    expect(message).toMatch(/METABASE_JWT_SHARED_SECRET/);
  });

  it('purges rows past their use hourly, finished outbox jobs after 7 days; RETENTION_INTERVAL_MINUTES=0 turns it off', () => {
    expect(loadConfig(valid).retention).toEqual({ intervalMinutes: 60, days: 7 });
    expect(loadConfig({ ...valid, RETENTION_INTERVAL_MINUTES: '0', RETENTION_DAYS: '30' }).retention).toEqual({ intervalMinutes: 0, days: 30 });
    expect(problemsOf({ ...valid, RETENTION_DAYS: '0' })).toMatch(/RETENTION_DAYS must be at least 1/);
    expect(problemsOf({ ...valid, RETENTION_INTERVAL_MINUTES: 'hourly' })).toMatch(/RETENTION_INTERVAL_MINUTES must be a whole number/);
  });

  it('METABASE_USER_PROVISIONING: metabase by default; embedgate needs METABASE_API_KEY, and boot says so', () => {
    expect(loadConfig(valid).metabase.userProvisioning).toBe('metabase');
    expect(problemsOf({ ...valid, METABASE_USER_PROVISIONING: 'embedgate' })).toMatch(/METABASE_USER_PROVISIONING=embedgate needs METABASE_API_KEY/);
    expect(problemsOf({ ...valid, METABASE_USER_PROVISIONING: 'both' })).toMatch(/METABASE_USER_PROVISIONING is metabase or embedgate/);
    const config = loadConfig({ ...valid, METABASE_USER_PROVISIONING: 'embedgate', METABASE_API_KEY: 'mb_key_0123456789' });
    expect(config.metabase.userProvisioning).toBe('embedgate');
  });

  it('never repeats a secret in its message', () => {
    const secret = 'q'.repeat(20);
    expect(problemsOf({ ...valid, METABASE_JWT_SHARED_SECRET: secret })).not.toContain(secret);
  });
});

describe('TRUST_PROXY', () => {
  const trustOf = (value: string | undefined) => loadConfig({ ...valid, TRUST_PROXY: value }).trustProxy;

  it.each([
    [undefined, false],
    ['false', false],
    ['true', true],
    ['1', 1],
    [' 2 ', 2],
    ['0', false],
    ['127.0.0.1/32', ['127.0.0.1/32']],
    ['10.0.0.0/8, 192.168.1.7 ,', ['10.0.0.0/8', '192.168.1.7']],
    ['::1,fd00::/8,::ffff:10.0.0.1', ['::1', 'fd00::/8', '::ffff:10.0.0.1']],
    ['loopback,uniquelocal', ['loopback', 'uniquelocal']],
    ['fe80::1%eth0,::ffff:10.0.0.0/104', ['fe80::1%eth0', '::ffff:10.0.0.0/104']],
  ])('reads %p as %p, which Fastify accepts', (text, trust) => {
    expect(trustOf(text)).toEqual(trust);
    // Fastify compiles the list when it is built: a value that passed here must not fail there.
    expect(() => Fastify({ trustProxy: fastifyTrustProxy(trustOf(text)) })).not.toThrow();
  });

  it.each([
    ['yes', /TRUST_PROXY: "yes" is not an IP address or CIDR range; TRUST_PROXY is false, true, a hop count/],
    ['TRUE', /TRUST_PROXY: "TRUE" is not an IP address or CIDR range/],
    ['10.0.0.1,10.0.0.256', /TRUST_PROXY: "10.0.0.256" is not an IP address or CIDR range/],
    ['proxy.internal', /TRUST_PROXY: "proxy.internal" is not an IP address/],
    ['-1', /TRUST_PROXY: "-1" is not an IP address/],
    ['1.5', /TRUST_PROXY: "1.5" is not an IP address/],
    ['10.0.0.0/33', /TRUST_PROXY: "10.0.0.0\/33" has no valid prefix length \(1 to 32\)/],
    ['fd00::/129', /TRUST_PROXY: "fd00::\/129" has no valid prefix length \(1 to 128\)/],
    ['10.0.0.0/255.0.0.0', /TRUST_PROXY: "10.0.0.0\/255.0.0.0" has no valid prefix length/],
    ['10.0.0.0/', /TRUST_PROXY: "10.0.0.0\/" has no valid prefix length/],
    ['0.0.0.0/0', /TRUST_PROXY: "0.0.0.0\/0" would trust every address; write TRUST_PROXY=true if that is meant/],
    ['::/0', /TRUST_PROXY: "::\/0" would trust every address/],
    ['21', /TRUST_PROXY: a hop count is at most 20 \(got 21\)/],
    [',', /TRUST_PROXY lists no proxy/],
  ])('stops boot on %p with a message naming TRUST_PROXY and the bad entry', (text, message) => {
    expect(problemsOf({ ...valid, TRUST_PROXY: text })).toMatch(message);
  });

  it('names every bad entry of a list at once', () => {
    const message = problemsOf({ ...valid, TRUST_PROXY: '10.0.0.1,bad-one,10.0.0.2,bad-two' });
    expect(message).toMatch(/"bad-one"/);
    expect(message).toMatch(/"bad-two"/);
    expect(message).not.toMatch(/"10\.0\.0\.[12]"/);
  });
});

describe('TRUST_PROXY as Fastify applies it (requests from 127.0.0.1)', () => {
  /** What Fastify resolves for a request over loopback carrying these headers, under a TRUST_PROXY text. */
  async function resolved(text: string, headers: Record<string, string>): Promise<{ ip: string; protocol: string; host: string }> {
    const server = Fastify({ trustProxy: fastifyTrustProxy(loadConfig({ ...valid, TRUST_PROXY: text }).trustProxy) });
    server.get('/', (request) => ({ ip: request.ip, protocol: request.protocol, host: request.host }));
    try {
      await server.listen({ host: '127.0.0.1', port: 0 });
      const { port } = server.server.address() as AddressInfo;
      // node:http, not fetch: fetch will not send a Host header of our choosing.
      return await new Promise((resolve, reject) => {
        const sent = httpRequest({ host: '127.0.0.1', port, path: '/', headers: { host: 'embedgate.internal', ...headers } }, (response) => {
          let body = '';
          response.on('data', (chunk) => (body += String(chunk)));
          response.on('end', () => resolve(JSON.parse(body)));
        });
        sent.on('error', reject);
        sent.end();
      });
    } finally {
      await server.close();
    }
  }
  const forged = { 'x-forwarded-for': '198.51.100.9, 203.0.113.7', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'embedgate.example' };

  it('false: the TCP peer, and X-Forwarded-* ignored', async () => {
    expect(await resolved('false', forged)).toEqual({ ip: '127.0.0.1', protocol: 'http', host: 'embedgate.internal' });
  });

  it('true: the left-most X-Forwarded-For entry, which the client wrote', async () => {
    expect(await resolved('true', forged)).toEqual({ ip: '198.51.100.9', protocol: 'https', host: 'embedgate.example' });
  });

  it('a hop count: the X-Forwarded-For entry that many hops from the right, whoever the peer is', async () => {
    expect(await resolved('1', forged)).toEqual({ ip: '203.0.113.7', protocol: 'https', host: 'embedgate.example' });
    expect((await resolved('2', forged)).ip).toBe('198.51.100.9');
    expect((await resolved('1', {})).ip).toBe('127.0.0.1');
  });

  it('a list: the right-most address not of a listed proxy; X-Forwarded-Proto/-Host only from a listed peer', async () => {
    const chained = { ...forged, 'x-forwarded-for': '198.51.100.9, 203.0.113.7, 127.0.0.2' };
    expect(await resolved('127.0.0.0/8', chained)).toEqual({ ip: '203.0.113.7', protocol: 'https', host: 'embedgate.example' });
    expect((await resolved('loopback', chained)).ip).toBe('203.0.113.7');
    expect((await resolved('127.0.0.1', chained)).ip).toBe('127.0.0.2');
    // The peer is not listed: nothing it forwards is believed.
    expect(await resolved('10.0.0.0/8,::1', chained)).toEqual({ ip: '127.0.0.1', protocol: 'http', host: 'embedgate.internal' });
  });
});

describe('the TRUST_PROXY boot warning', () => {
  it('says what `true` and a hop count allow; nothing for false or a list', () => {
    expect(trustProxyWarning(true)).toMatch(/TRUST_PROXY=true trusts every X-Forwarded-For hop: .*the client itself writes/);
    expect(trustProxyWarning(1)).toMatch(/TRUST_PROXY=1 .*from any peer/);
    expect(trustProxyWarning(false)).toBeUndefined();
    expect(trustProxyWarning(['10.0.0.0/8'])).toBeUndefined();
  });
});
