import { Api, embedBody, seed, startService, type RunningService } from '../support/service.js';
import { writeSeatHistory, type SeatHistoryEvent } from '../support/seat-history.js';

let service: RunningService;
let app: Api;
let finance: Api;
const history = (events: SeatHistoryEvent[]) => writeSeatHistory(service.db, events);

beforeAll(async () => {
  service = await startService({ SEAT_BUDGET: '10', SEAT_PRICE_PER_DAY: '1.50', SEAT_PRICE_CURRENCY: 'EUR' });
  const apps = await seed(service.admin, {
    tenants: [
      { slug: 'acme', name: 'Acme', kind: 'external', tier: 'drill', customerId: 'a' },
      { slug: 'globex', name: 'Globex', kind: 'external', tier: 'drill', customerId: 'g' },
    ],
    resources: [{ key: 'sales-overview', type: 'dashboard', metabaseId: 1, tenantParam: 'customer_id' }],
    apps: { host: { tenants: '*' } },
  });
  app = apps.host;
  finance = app.as(await service.createKey('finance'));
  await history([
    ['2026-03-01T09:00:00Z', 'acme', 'allocated', 1, 1],
    ['2026-03-01T10:00:00Z', 'acme', 'allocated', 2, 2],
    ['2026-03-01T11:00:00Z', 'globex', 'allocated', 1, 3],
    ['2026-03-02T08:00:00Z', 'acme', 'released', 1, 2],
    ['2026-03-02T09:00:00Z', 'acme', 'allocated', 2, 3],
    ['2026-03-02T10:00:00Z', 'acme', 'released', 1, 2],
    ['2026-03-04T12:00:00Z', 'globex', 'released', 0, 1],
  ]);
});
afterAll(() => service.stop());

describe('GET /v1/reports/seat-usage', () => {
  it('gives per day and tenant the peak seats held and the seat-days, carried across quiet days', async () => {
    const answer = await finance.get('/v1/reports/seat-usage?from=2026-03-01&to=2026-03-05');
    expect(answer.status).toBe(200);
    const rows = Object.fromEntries(answer.body.rows.map((r: any) => [`${r.date} ${r.tenant}`, [r.peakSeats, r.seatDays]]));
    expect(rows).toEqual({
      '2026-03-01 acme': [2, 2],
      '2026-03-01 globex': [1, 1],
      '2026-03-02 acme': [2, 3], // started with 2, released one, took one, released one: 3 seats held that day
      '2026-03-02 globex': [1, 1],
      '2026-03-03 acme': [1, 1],
      '2026-03-03 globex': [1, 1],
      '2026-03-04 acme': [1, 1],
      '2026-03-04 globex': [1, 1], // released that day: still billed for it
      '2026-03-05 acme': [1, 1],
    });
    expect(answer.body.daily.map((d: any) => d.peakSeats)).toEqual([3, 3, 2, 2, 1]);
    expect(answer.body.totals).toMatchObject({ peakSeats: 3, seatDays: 12, budget: 10, peakOverBudgetDays: 0, cost: 18 });
    expect(answer.body.currency).toBe('EUR');
    expect(answer.body.tenants).toEqual([
      { tenant: 'acme', peakSeats: 2, seatDays: 8, cost: 12 },
      { tenant: 'globex', peakSeats: 1, seatDays: 4, cost: 6 },
    ]);
  });

  it('counts what the ledger really does today', async () => {
    await app.post('/v1/embeds', embedBody('globex', 'live-1'));
    const today = new Date().toISOString().slice(0, 10);
    const answer = await finance.get(`/v1/reports/seat-usage?from=${today}&to=${today}`);
    expect(answer.body.rows.find((r: any) => r.tenant === 'globex')).toMatchObject({ peakSeats: 1, seatDays: 1 });
  });

  it('answers CSV with Accept: text/csv or ?format=csv, with a header row', async () => {
    for (const answer of [
      await finance.request('GET', '/v1/reports/seat-usage?from=2026-03-01&to=2026-03-02', undefined, { accept: 'text/csv' }),
      await finance.get('/v1/reports/seat-usage?from=2026-03-01&to=2026-03-02&format=csv'),
    ]) {
      expect(answer.status).toBe(200);
      expect(answer.headers.get('content-type')).toMatch(/^text\/csv/);
      expect(answer.headers.get('content-disposition')).toMatch(/attachment; filename="seat-usage-2026-03-01-to-2026-03-02.csv"/);
      expect(answer.body.split('\r\n').slice(0, 2)).toEqual(['date,tenant,peak_seats,seat_days,cost_EUR', '2026-03-01,acme,2,2,3']);
    }
  });

  it.each([
    ['from after to', 'from=2026-03-05&to=2026-03-01', 'validation_error'],
    ['a range over 366 days', 'from=2025-01-01&to=2026-03-01', 'range_too_large'],
    ['a bad date', 'from=2026-02-30x', 'validation_error'],
    ['a bad format', 'format=xml', 'validation_error'],
    ['an unknown parameter', 'tenant=acme', 'validation_error'],
  ])('refuses %s with 400', async (_what, query, code) => {
    const answer = await finance.get(`/v1/reports/seat-usage?${query}`);
    expect(answer.status).toBe(400);
    expect(answer.body.error.code).toBe(code);
  });

  it('is for finance and admins, not apps', async () => {
    expect((await app.get('/v1/reports/seat-usage')).status).toBe(403);
    expect((await service.admin.get('/v1/reports/seat-usage')).status).toBe(200);
  });
});

describe('CSV formula injection', () => {
  it('escapes cells that begin with =, +, - or @', async () => {
    const { spreadsheetSafe, toCsv } = await import('../../src/reports/csv.js');
    expect(['=1+1', '+A1', '-2', '@SUM(A1)', 'acme', 3].map(spreadsheetSafe)).toEqual(["'=1+1", "'+A1", "'-2", "'@SUM(A1)", 'acme', 3]);
    expect(toCsv(['a'], [['=HYPERLINK("http://evil")']])).toBe('a\r\n"\'=HYPERLINK(""http://evil"")"\r\n');
  });
});
