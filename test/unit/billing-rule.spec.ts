import fc from 'fast-check';
import { billableDays, type BillingRuleInput, type SeatHistoryEvent } from '../../src/reports/billing-rule.js';

/**
 * Metabase's 36-hour rule on constructed seat histories. For day D the billable count is the most
 * seats held at any instant of [end of D - 36 h, end of D): noon (UTC) of the day before to the end
 * of D. Every expected number below is worked out by hand in the comment beside it.
 */

const at = (iso: string) => Date.parse(iso);
const ev = (iso: string, tenant: string, tenantHeldAfter: number): SeatHistoryEvent => ({ at: at(iso), tenant, tenantHeldAfter });
const NO_BUDGET_CHANGES = { changes: [], current: 10 };

function run(input: Partial<BillingRuleInput> & Pick<BillingRuleInput, 'days'>) {
  const days = billableDays({ heldBefore: new Map(), events: [], budget: NO_BUDGET_CHANGES, ...input });
  return Object.fromEntries(
    days.map((d) => [d.date, { billable: d.billable, peak: d.ledgerPeak, byTenant: Object.fromEntries(d.byTenant), budget: d.budget }]),
  );
}

describe('billable(D) = the most seats held in [end of D - 36 h, end of D)', () => {
  it('a seat released late in a day is billed that day and the next (released after noon)', () => {
    const result = run({
      days: ['2026-03-01', '2026-03-02', '2026-03-03'],
      heldBefore: new Map([['acme', 3]]),
      // acme holds 3 seats; one is released on 1 March at 22:00.
      events: [ev('2026-03-01T22:00:00Z', 'acme', 2)],
    });
    // 1 March: 3 held until 22:00 → 3 (the ledger's peak that day: 3).
    expect(result['2026-03-01']).toMatchObject({ billable: 3, peak: 3, byTenant: { acme: 3 } });
    // 2 March: the window opens on 1 March at 12:00, when 3 were held (until 22:00) → 3; the ledger held 2 all day.
    expect(result['2026-03-02']).toMatchObject({ billable: 3, peak: 2, byTenant: { acme: 3 } });
    // 3 March: the window opens on 2 March at 12:00: 2 held throughout → 2.
    expect(result['2026-03-03']).toMatchObject({ billable: 2, peak: 2, byTenant: { acme: 2 } });
  });

  it('a seat released before noon is billed on its release day only', () => {
    const result = run({
      days: ['2026-03-01', '2026-03-02'],
      heldBefore: new Map([['acme', 3]]),
      events: [ev('2026-03-01T11:59:59Z', 'acme', 2)],
    });
    // 1 March: 3 until 11:59:59 → 3.
    expect(result['2026-03-01'].billable).toBe(3);
    // 2 March: the window opens on 1 March at 12:00:00, one second after the release → 2.
    expect(result['2026-03-02'].billable).toBe(2);
  });

  it('a release at exactly noon is not billed the next day: the window holds only what is held at or after its start', () => {
    const result = run({
      days: ['2026-03-02'],
      heldBefore: new Map([['acme', 3]]),
      events: [ev('2026-03-01T12:00:00Z', 'acme', 2)],
    });
    // At 12:00:00 (the window's first instant) the seat is already released → 2.
    expect(result['2026-03-02'].billable).toBe(2);
  });

  it('a seat held across midnight is billed on both days, and not on the third (released before noon)', () => {
    const result = run({
      days: ['2026-03-01', '2026-03-02', '2026-03-03', '2026-03-04'],
      heldBefore: new Map([['acme', 1]]),
      // globex takes a seat at 23:30 on 1 March and releases it at 00:30 on 2 March.
      events: [ev('2026-03-01T23:30:00Z', 'globex', 1), ev('2026-03-02T00:30:00Z', 'globex', 0)],
    });
    // 1 March: acme 1 + globex 1 from 23:30 → 2, attributed one each.
    expect(result['2026-03-01']).toMatchObject({ billable: 2, peak: 2, byTenant: { acme: 1, globex: 1 } });
    // 2 March: held 2 from 00:00 to 00:30 (the ledger's own peak is 2 too) → 2.
    expect(result['2026-03-02']).toMatchObject({ billable: 2, peak: 2, byTenant: { acme: 1, globex: 1 } });
    // 3 March: the window opens on 2 March at 12:00, after the release → 1.
    expect(result['2026-03-03']).toMatchObject({ billable: 1, peak: 1, byTenant: { acme: 1 } });
    expect(result['2026-03-04']).toMatchObject({ billable: 1, peak: 1 });
  });

  it('several tenants: the attribution is the tenants’ seats in the state that reached the maximum (the latest), and sums to it', () => {
    const result = run({
      days: ['2026-03-01', '2026-03-02', '2026-03-03'],
      heldBefore: new Map([['acme', 2]]),
      events: [
        ev('2026-03-01T10:00:00Z', 'globex', 1), // acme 2, globex 1 → 3
        ev('2026-03-01T14:00:00Z', 'acme', 1), //   acme 1, globex 1 → 2
        ev('2026-03-01T16:00:00Z', 'globex', 2), // acme 1, globex 2 → 3 (the latest state with 3)
        ev('2026-03-01T20:00:00Z', 'globex', 0), // acme 1 → 1
        ev('2026-03-02T09:00:00Z', 'initech', 1), // acme 1, initech 1 → 2
        ev('2026-03-02T09:00:00Z', 'initech', 2), // the same millisecond: acme 1, initech 2 → 3 (the ledger held it, for no time)
        ev('2026-03-02T13:00:00Z', 'initech', 0), // acme 1 → 1
      ],
    });
    // 1 March: the states 2, 3, 2, 3, 1 → 3, the latest 3 is the 16:00 state: acme 1 + globex 2.
    expect(result['2026-03-01']).toMatchObject({ billable: 3, peak: 3, byTenant: { acme: 1, globex: 2 } });
    // 2 March: from 1 March 12:00 the states are 3 (held at 12:00), 2, 3, 1, 2, 3, 1 → 3, latest at 09:00 on 2 March.
    expect(result['2026-03-02']).toMatchObject({ billable: 3, peak: 3, byTenant: { acme: 1, initech: 2 } });
    // 3 March: from 2 March 12:00: 3 (still held at 12:00), then 1 → 3, acme 1 + initech 2; the ledger held 1 all day.
    expect(result['2026-03-03']).toMatchObject({ billable: 3, peak: 1, byTenant: { acme: 1, initech: 2 } });
  });

  it('a budget cut: the seats released to meet it are billed for 36 hours more; the budget shown is the one in force at the end of each day', () => {
    const result = run({
      days: ['2026-03-01', '2026-03-02', '2026-03-03', '2026-03-04'],
      heldBefore: new Map([
        ['acme', 3],
        ['globex', 2],
      ]),
      // On 2 March at 18:00 the budget goes from 5 to 3 (forced: 5 are held); acme releases two seats at 20:00.
      budget: { changes: [{ at: at('2026-03-02T18:00:00Z'), seatBudget: 3, previousBudget: 5 }], current: 3 },
      events: [ev('2026-03-02T20:00:00Z', 'acme', 2), ev('2026-03-02T20:00:01Z', 'acme', 1)],
    });
    // 1 March: 5 held, budget 5 (the cut's previous budget).
    expect(result['2026-03-01']).toMatchObject({ billable: 5, peak: 5, budget: 5 });
    // 2 March: 5 held until 20:00 → 5, against the new budget of 3.
    expect(result['2026-03-02']).toMatchObject({ billable: 5, peak: 5, budget: 3, byTenant: { acme: 3, globex: 2 } });
    // 3 March: the window opens on 2 March at 12:00, when 5 were still held → 5, though the ledger held 3 all day.
    expect(result['2026-03-03']).toMatchObject({ billable: 5, peak: 3, budget: 3 });
    // 4 March: from 3 March 12:00 → 3.
    expect(result['2026-03-04']).toMatchObject({ billable: 3, peak: 3, budget: 3, byTenant: { acme: 1, globex: 2 } });
  });

  it('a quiet history bills what is held, and nothing when nothing is', () => {
    expect(run({ days: ['2026-03-01'] })['2026-03-01']).toEqual({ billable: 0, peak: 0, byTenant: {}, budget: 10 });
    expect(run({ days: ['2026-03-01'], heldBefore: new Map([['acme', 4]]) })['2026-03-01']).toMatchObject({ billable: 4, byTenant: { acme: 4 } });
  });
});

describe('properties of the rule on random histories', () => {
  const history = fc
    .array(fc.record({ minute: fc.integer({ min: 0, max: 5 * 24 * 60 }), tenant: fc.constantFrom('a', 'b', 'c'), held: fc.integer({ min: 0, max: 6 }) }), {
      maxLength: 60,
    })
    .map((raw) =>
      raw.sort((x, y) => x.minute - y.minute).map((e) => ({ at: at('2026-02-28T12:00:00Z') + e.minute * 60_000, tenant: e.tenant, tenantHeldAfter: e.held })),
    );

  it('the attribution sums to the billable count, which is never below the ledger’s own peak', () => {
    fc.assert(
      fc.property(history, fc.integer({ min: 0, max: 4 }), (events, startA) => {
        const days = ['2026-03-01', '2026-03-02', '2026-03-03', '2026-03-04'];
        const result = billableDays({ days, heldBefore: new Map([['a', startA]]), events, budget: NO_BUDGET_CHANGES });
        for (const day of result) {
          expect([...day.byTenant.values()].reduce((sum, n) => sum + n, 0)).toBe(day.billable);
          expect(day.billable).toBeGreaterThanOrEqual(day.ledgerPeak);
        }
      }),
    );
  });
});
