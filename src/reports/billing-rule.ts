/**
 * Metabase's billing rule applied to the seat history: pure, no clock, no I/O (the billing report
 * feeds it from seat_events; test/unit/billing-rule.spec.ts feeds it constructed histories).
 *
 * Metabase (docs, "how billing works"): every account that is not deactivated counts, signed in or
 * not; billing is prorated per day, the day of deactivation included; each day it takes the highest
 * count over the previous 36 hours for each instance, and adds the instances that share a license
 * token. embedgate's seats are one instance's SSO accounts, so:
 *
 *   billable(D) = max { held(t) : t in [end(D) - 36 h, end(D)) },   end(D) = the UTC midnight after D
 *
 * that is, from noon (UTC) of the day before to the end of D. The window ends with the day because the
 * day's count is taken when the day is over ("the previous 36 hours" of that moment), so it covers the
 * whole day (a seat released on D, at any hour, counts on D: the deactivation day is billed) and the
 * last 12 hours of the day before (a seat released after noon counts on the next day too).
 *
 * held(t) is every state of the ledger present at t. The history is a sequence of states in the
 * ledger's order (events by time, then id): the state before the first event, then the state right
 * after each event, entered at the event's time and held until the next event. A state counts for a
 * window when it is held at some instant of it, including a state that lasted no time (two events in
 * the same millisecond), as the ledger really was in it. held is the sum of the tenants' own counters
 * (tenant_held_after), which is the license's seats held; summing the tenants makes the attribution
 * below add up exactly.
 *
 * Attribution to tenants: each tenant's seats in the state that reached the maximum (the latest such
 * state in the window). They sum to billable(D) exactly, and name the seats Metabase counted that day.
 *
 * The ledger's own peak of a day (the seat-usage report's peak seats) is the same maximum over the
 * calendar day alone, [start(D), end(D)).
 */

import { DAY_MS } from '../common/days.js';

export const HOUR_MS = 3_600_000;
/** How far back from the end of a day Metabase looks for that day's count. */
export const BILLING_WINDOW_MS = 36 * HOUR_MS;

/** One seat event: a tenant's seats held right after it. */
export interface SeatHistoryEvent {
  /** Epoch milliseconds. */
  at: number;
  tenant: string;
  tenantHeldAfter: number;
}

export interface BillingRuleInput {
  /** UTC days, YYYY-MM-DD, ascending. */
  days: string[];
  /** Each tenant's seats held before the first event of `events` (tenants absent hold none). */
  heldBefore: ReadonlyMap<string, number>;
  /**
   * The seat events from the start of the first day's window, first day - 12 h (inclusive), to the end
   * of the last day (exclusive), in the ledger's order.
   */
  events: readonly SeatHistoryEvent[];
  /** The seat budget's changes, oldest first (license_budget_changes), and the budget now. */
  budget: { changes: readonly BudgetChangeAt[]; current: number };
}

/** One change of the seat budget; the initial budget has no previous one. */
export interface BudgetChangeAt {
  at: number;
  seatBudget: number;
  previousBudget: number | null;
}

export interface BillingDay {
  date: string;
  /** The highest seats held in [end of the day - 36 h, end of the day). */
  billable: number;
  /** When the state that reached it began (epoch ms); null when it began before the events given. */
  maxAt: number | null;
  /** Each tenant's seats in that state (tenants with none left out); they sum to billable. */
  byTenant: Map<string, number>;
  /** The ledger's own peak: the highest seats held within the calendar day. */
  ledgerPeak: number;
  /** The seat budget in force at the end of the day. */
  budget: number;
}

/**
 * The budget in force at `end`: the last change before it; before the first change, the budget that
 * change replaced (or, for the initial budget, that budget itself); with no history, the budget now.
 */
export function budgetAt(budget: BillingRuleInput['budget'], end: number): number {
  let inForce: number | undefined;
  for (const change of budget.changes) {
    if (change.at < end) inForce = change.seatBudget;
    else return inForce ?? change.previousBudget ?? change.seatBudget;
  }
  return inForce ?? budget.current;
}

const dayStart = (date: string) => Date.parse(`${date}T00:00:00Z`);

/** The billable count of each day, its attribution to tenants, and the ledger's own peak. */
export function billableDays(input: BillingRuleInput): BillingDay[] {
  const { days, events } = input;
  for (let i = 1; i < events.length; i++) {
    if (events[i].at < events[i - 1].at) throw new Error('seat events must be in the ledger order (by time)');
  }
  // totals[k]: seats held in state k (0: before the events; k >= 1: right after events[k - 1]).
  const totals = new Array<number>(events.length + 1);
  const running = new Map(input.heldBefore);
  let total = 0;
  for (const held of running.values()) total += held;
  totals[0] = total;
  events.forEach((event, i) => {
    total += event.tenantHeldAfter - (running.get(event.tenant) ?? 0);
    running.set(event.tenant, event.tenantHeldAfter);
    totals[i + 1] = total;
  });
  /** State k's start (epoch ms), -Infinity for the state before the events. */
  const startOf = (k: number) => (k === 0 ? -Infinity : events[k - 1].at);
  /** How many events happened before t. */
  const eventsBefore = (t: number) => {
    let lo = 0;
    let hi = events.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (events[mid].at < t) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };

  /** The state with the most seats held at some instant of [from, to): the latest of equals. */
  const maxState = (from: number, to: number): number => {
    // State j, the last to start before `from`, is held at `from` unless an event happens exactly then.
    const j = eventsBefore(from);
    let best = -1;
    if (j === events.length || events[j].at > from) best = j;
    for (let k = j + 1; k <= events.length && startOf(k) < to; k++) {
      if (best === -1 || totals[k] >= totals[best]) best = k;
    }
    // A window with no state (impossible: some state is always held) would keep the one before it.
    return best === -1 ? j : best;
  };

  const chosen = days.map((date) => {
    const end = dayStart(date) + DAY_MS;
    return { date, billing: maxState(end - BILLING_WINDOW_MS, end), peak: maxState(end - DAY_MS, end) };
  });

  // Each tenant's seats in the chosen states: one more walk, keeping a copy where one is needed.
  const wanted = new Set(chosen.map((c) => c.billing));
  const holdings = new Map<number, Map<string, number>>();
  const walk = new Map(input.heldBefore);
  const keep = (k: number) => {
    if (wanted.has(k)) holdings.set(k, new Map([...walk].filter(([, held]) => held > 0).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))));
  };
  keep(0);
  events.forEach((event, i) => {
    walk.set(event.tenant, event.tenantHeldAfter);
    keep(i + 1);
  });

  return chosen.map(({ date, billing, peak }) => ({
    date,
    billable: totals[billing],
    maxAt: billing === 0 ? null : startOf(billing),
    byTenant: holdings.get(billing)!,
    ledgerPeak: totals[peak],
    budget: budgetAt(input.budget, dayStart(date) + DAY_MS),
  }));
}
