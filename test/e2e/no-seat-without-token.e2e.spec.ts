import { embedBody, seed, startService, type Api, type RunningService } from '../support/service.js';

/**
 * No user holds a seat without having been given a token: whatever can fail after the policy chose
 * SSO fails before the seat is taken, or takes the seat back with it (one transaction). Failures are
 * made real by a Postgres trigger that refuses a write the embed needs.
 */
let service: RunningService;
let app: Api;

beforeAll(async () => {
  service = await startService({ SEAT_BUDGET: '10' });
  ({ globex: app } = await seed(service.admin, {
    tenants: [{ slug: 'globex', name: 'Globex', kind: 'external', tier: 'drill', customerId: 'globex-1' }],
    resources: [{ key: 'sales-overview', type: 'dashboard', metabaseId: 1, tenantParam: 'customer_id' }],
    apps: { globex: { tenants: ['globex'] } },
  }));
});
afterAll(() => service.stop());

const seatState = async () => ({
  seats: Number((await service.db.query<{ n: string }>('SELECT count(*) AS n FROM seats'))[0].n),
  events: Number((await service.db.query<{ n: string }>('SELECT count(*) AS n FROM seat_events'))[0].n),
  licenseHeld: (await service.db.query<{ seats_held: number }>('SELECT seats_held FROM license'))[0].seats_held,
  tenantHeld: (await service.db.query<{ seats_held: number }>(`SELECT seats_held FROM tenants WHERE slug = 'globex'`))[0].seats_held,
});

/** Makes Postgres refuse inserts into a table (matching a condition) until the returned function is called. */
async function refuseInserts(table: string, when = 'true'): Promise<() => Promise<void>> {
  await service.db.query(`CREATE OR REPLACE FUNCTION test_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN IF ${when} THEN RAISE EXCEPTION 'refused by the test'; END IF; RETURN NEW; END $$`);
  await service.db.query(`CREATE TRIGGER test_refuse BEFORE INSERT ON ${table} FOR EACH ROW EXECUTE FUNCTION test_refuse()`);
  return async () => {
    await service.db.query(`DROP TRIGGER test_refuse ON ${table}`);
  };
}

describe('an SSO embed that fails after the policy chose SSO', () => {
  it.each([
    ['the launch link cannot be written', 'sso_launches', 'true', {}],
    ['the allocation’s audit entry cannot be written (launch: link)', 'audit_events', `NEW.type = 'seat.allocated'`, {}],
    ['the allocation’s audit entry cannot be written (launch: direct)', 'audit_events', `NEW.type = 'seat.allocated'`, { options: { launch: 'direct' } }],
  ])('leaves no seat and no seat event when %s', async (_what, table, when, extra) => {
    const before = await seatState();
    const restore = await refuseInserts(table, when);
    try {
      const answer = await app.post('/v1/embeds', embedBody('globex', `u-${table}-${Object.keys(extra).length}`, extra));
      expect(answer.status).toBeGreaterThanOrEqual(500);
      expect(answer.body.jwt).toBeUndefined();
      expect(answer.body.url).toBeUndefined();
    } finally {
      await restore();
    }
    expect(await seatState()).toEqual(before);
  });

  it('the same user then gets a seat and a token normally', async () => {
    const answer = await app.post('/v1/embeds', embedBody('globex', 'u-after'));
    expect(answer.status).toBe(201);
    expect(answer.body.mode).toBe('sso');
    expect(answer.body.seat.new).toBe(true);
    const state = await seatState();
    expect(state.seats).toBe(1);
    expect(state.licenseHeld).toBe(1);
  });

  it('two different user ids never share a seat: ids are stored exactly as sent', async () => {
    const ids = ['Ａdam', 'Adam', 'adam', 'Adam ', 'e\u0301', '\u00e9'];
    for (const id of ids)
      expect((await app.post('/v1/embeds', embedBody('globex', id, { user: { id, email: `x${ids.indexOf(id)}@globex.example` } }))).status).toBe(201);
    const stored = (await service.db.query<{ user_id: string }>('SELECT user_id FROM seats')).map((row) => row.user_id);
    for (const id of ids) expect(stored).toContain(id);
    expect(new Set(stored).size).toBe(stored.length);
  });
});
