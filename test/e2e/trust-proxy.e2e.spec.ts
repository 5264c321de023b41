import { randomBytes, randomInt } from 'node:crypto';
import { startService, type RunningService } from '../support/service.js';

// The tests' client is on 127.0.0.1: it plays the proxy, and writes X-Forwarded-For as a proxy would
// pass it on (the client's forged entries, then the address the proxy appended, right-most).
const FAILURES_ALLOWED = 4;
const BAD_KEY = `egk_${'a'.repeat(16)}_${'B'.repeat(43)}`;
/** The address the trusted proxy saw (and appended) for the attacking client. */
const ATTACKER = '203.0.113.7';

const randomAddress = () => `198.51.${randomInt(256)}.${randomInt(1, 255)}`;

async function start(trustProxy: string): Promise<RunningService> {
  return startService({ TRUST_PROXY: trustProxy, RATE_LIMIT_AUTH_FAILURES_PER_MINUTE: String(FAILURES_ALLOWED) });
}

/** GET /v1/license with `key`, sending this X-Forwarded-For; the status, and the address the access log recorded. */
async function call(service: RunningService, key: string, forwardedFor?: string): Promise<{ status: number; address: unknown }> {
  const requestId = `trust-proxy-${randomBytes(6).toString('hex')}`;
  const headers: Record<string, string> = { authorization: `Bearer ${key}`, 'x-request-id': requestId };
  if (forwardedFor !== undefined) headers['x-forwarded-for'] = forwardedFor;
  const { status } = await fetch(`${service.baseUrl}/v1/license`, { headers });
  const logged = service.logs.map((line) => JSON.parse(line)).find((entry) => entry.reqId === requestId && entry.req);
  return { status, address: logged?.req.remoteAddress };
}

/** Bad keys, each with a fresh forged prefix before `appended`: the statuses. */
async function bruteForce(service: RunningService, appended: string, attempts = FAILURES_ALLOWED + 1): Promise<number[]> {
  const statuses: number[] = [];
  for (let i = 0; i < attempts; i++) statuses.push((await call(service, BAD_KEY, `${randomAddress()}, ${randomAddress()}, ${appended}`)).status);
  return statuses;
}

const throttled = [...Array<number>(FAILURES_ALLOWED).fill(401), 429];

describe.each([
  ['a hop count (TRUST_PROXY=1)', '1'],
  ['the proxy’s address (TRUST_PROXY=127.0.0.1/32)', '127.0.0.1/32'],
])('trusting %s', (_name, trustProxy) => {
  let service: RunningService;
  beforeAll(async () => {
    service = await start(trustProxy);
  });
  afterAll(() => service.stop());

  it('keys failed authentications on the address the proxy appended, the right-most', async () => {
    expect((await call(service, service.admin.key!, `${randomAddress()}, ${ATTACKER}`)).address).toBe(ATTACKER);
  });

  it('still throttles a client that forges a fresh X-Forwarded-For prefix on every attempt: 429 past the limit', async () => {
    expect(await bruteForce(service, ATTACKER)).toEqual(throttled);
    // Blocked as an address: a valid key from it is refused too, whatever it forges.
    expect((await call(service, service.admin.key!, `${randomAddress()}, ${ATTACKER}`)).status).toBe(429);
  });

  it('does not block the other clients behind the same proxy', async () => {
    expect((await call(service, service.admin.key!, `${ATTACKER}, 203.0.113.8`)).status).toBe(200);
    expect((await call(service, service.admin.key!)).status).toBe(200);
  });
});

describe('trusting no proxy (TRUST_PROXY=false, the default)', () => {
  let service: RunningService;
  beforeAll(async () => {
    service = await start('false');
  });
  afterAll(() => service.stop());

  it('ignores X-Forwarded-For entirely: the address is the TCP peer’s', async () => {
    expect((await call(service, service.admin.key!, `${randomAddress()}, ${ATTACKER}`)).address).toBe('127.0.0.1');
    expect(service.logs.some((line) => line.includes('TRUST_PROXY'))).toBe(false);
  });

  it('throttles the peer whatever X-Forwarded-For it sends', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < FAILURES_ALLOWED + 1; i++) statuses.push((await call(service, BAD_KEY, randomAddress())).status);
    expect(statuses).toEqual(throttled);
    expect((await call(service, service.admin.key!)).status).toBe(429);
  });
});

describe('a CIDR list that does not hold the peer (TRUST_PROXY=10.0.0.0/8)', () => {
  let service: RunningService;
  beforeAll(async () => {
    service = await start('10.0.0.0/8');
  });
  afterAll(() => service.stop());

  it('believes nothing the peer forwards', async () => {
    expect((await call(service, service.admin.key!, `${randomAddress()}, 10.1.2.3`)).address).toBe('127.0.0.1');
    expect(await bruteForce(service, ATTACKER)).toEqual(throttled);
  });
});

describe('trusting every hop (TRUST_PROXY=true)', () => {
  let service: RunningService;
  beforeAll(async () => {
    service = await start('true');
  });
  afterAll(() => service.stop());

  it('warns at boot what it allows', () => {
    const warning = service.logs.map((line) => JSON.parse(line)).find((entry) => String(entry.msg).startsWith('TRUST_PROXY=true'));
    expect(warning).toMatchObject({ level: 40 });
    expect(warning.msg).toMatch(/left-most entry, which the client itself writes, so failed authentications are no longer limited per client/);
  });

  it('takes the left-most X-Forwarded-For entry, so forged addresses are not throttled (what the warning is about)', async () => {
    expect((await call(service, service.admin.key!, `198.51.100.9, ${ATTACKER}`)).address).toBe('198.51.100.9');
    expect(await bruteForce(service, ATTACKER)).toEqual(Array<number>(FAILURES_ALLOWED + 1).fill(401));
  });
});
