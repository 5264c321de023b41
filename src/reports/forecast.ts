/**
 * The what-if forecast, pure (no clock, no I/O): given each tenant's settings and distinct viewers over
 * a window, a set of changes and a seat budget, the seats each tenant would need and get, who would fall
 * back, and the billable count.
 *
 * - A tenant on the view tier needs no seat: its viewers get guest embeds.
 * - A tenant on the drill tier (internal or external) needs one seat per distinct viewer; its seatCap
 *   bounds what it may hold.
 * - The budget is shared in this order: first the tenants on the drill tier today that stay on it (their
 *   users hold seats, and the ledger never takes a held seat away for a newcomer), then the tenants moved
 *   to drill; within each group the smaller need first (the most tenants served in full), then by slug.
 *   Each gets the seats it needs within its cap, as far as the budget goes.
 * - Viewers left without a seat (over the cap, or past the budget) fall back as the tenant's
 *   onSeatsExhausted says: guest embeds, or denials.
 * - Suspended tenants get no embeds: they are left out.
 */

export type ForecastTier = 'view' | 'drill';
export type SeatsExhausted = 'guest' | 'deny';

export interface ForecastTenant {
  slug: string;
  kind: 'internal' | 'external';
  tier: ForecastTier;
  seatCap: number | null;
  onSeatsExhausted: SeatsExhausted;
  status: 'active' | 'suspended';
  seatsHeld: number;
  /** Distinct viewers (user ids) over the window. */
  viewers: number;
}

export interface ForecastChange {
  tenant: string;
  tier?: ForecastTier;
  /** null: no cap. */
  seatCap?: number | null;
  onSeatsExhausted?: SeatsExhausted;
}

export interface TenantForecast {
  tenant: string;
  kind: 'internal' | 'external';
  tierNow: ForecastTier;
  tier: ForecastTier;
  seatCap: number | null;
  onSeatsExhausted: SeatsExhausted;
  changed: boolean;
  viewers: number;
  seatsHeldNow: number;
  /** One per distinct viewer on the drill tier; none on view. */
  seatsNeeded: number;
  /** The seats it would hold: its need within its cap, as far as the budget goes. */
  seats: number;
  /** Viewers left without a seat, and what they would get instead; null when none. */
  fallback: { mode: SeatsExhausted; viewers: number; reasons: ('seat-cap' | 'seat-budget')[] } | null;
}

export interface SeatForecast {
  seatBudget: number;
  tenants: TenantForecast[];
  /** The seats held in all: what Metabase would bill each day. */
  billable: number;
  unusedSeats: number;
  /** Tenants some of whose viewers would fall back to guest embeds, and those whose viewers would be denied. */
  fallsBackToGuest: string[];
  denied: string[];
}

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** The forecast for these tenants with these changes (a change naming no tenant here is ignored). */
export function forecastSeats(input: { tenants: readonly ForecastTenant[]; changes: readonly ForecastChange[]; seatBudget: number }): SeatForecast {
  const changes = new Map(input.changes.map((c) => [c.tenant, c]));
  const planned = input.tenants
    .filter((t) => t.status === 'active')
    .map((t) => {
      const change = changes.get(t.slug);
      const tier = change?.tier ?? t.tier;
      const seatCap = change?.seatCap !== undefined ? change.seatCap : t.seatCap;
      const onSeatsExhausted = change?.onSeatsExhausted ?? t.onSeatsExhausted;
      const changed = !!change && (tier !== t.tier || seatCap !== t.seatCap || onSeatsExhausted !== t.onSeatsExhausted);
      const seatsNeeded = tier === 'drill' ? t.viewers : 0;
      return { t, tier, seatCap, onSeatsExhausted, changed, seatsNeeded, withinCap: Math.min(seatsNeeded, seatCap ?? Infinity) };
    });

  const order = [...planned]
    .filter((p) => p.tier === 'drill')
    .sort((a, b) => {
      const groupA = a.t.tier === 'drill' ? 0 : 1;
      const groupB = b.t.tier === 'drill' ? 0 : 1;
      return groupA - groupB || a.seatsNeeded - b.seatsNeeded || compare(a.t.slug, b.t.slug);
    });
  let left = input.seatBudget;
  const granted = new Map<string, number>();
  for (const p of order) {
    const seats = Math.max(0, Math.min(p.withinCap, left));
    granted.set(p.t.slug, seats);
    left -= seats;
  }

  const tenants: TenantForecast[] = planned
    .map((p) => {
      const seats = granted.get(p.t.slug) ?? 0;
      const reasons: ('seat-cap' | 'seat-budget')[] = [];
      if (p.withinCap < p.seatsNeeded) reasons.push('seat-cap');
      if (seats < p.withinCap) reasons.push('seat-budget');
      const without = p.seatsNeeded - seats;
      return {
        tenant: p.t.slug,
        kind: p.t.kind,
        tierNow: p.t.tier,
        tier: p.tier,
        seatCap: p.seatCap,
        onSeatsExhausted: p.onSeatsExhausted,
        changed: p.changed,
        viewers: p.t.viewers,
        seatsHeldNow: p.t.seatsHeld,
        seatsNeeded: p.seatsNeeded,
        seats,
        fallback: without > 0 ? { mode: p.onSeatsExhausted, viewers: without, reasons } : null,
      };
    })
    .sort((a, b) => compare(a.tenant, b.tenant));
  const billable = tenants.reduce((sum, t) => sum + t.seats, 0);
  return {
    seatBudget: input.seatBudget,
    tenants,
    billable,
    unusedSeats: Math.max(0, input.seatBudget - billable),
    fallsBackToGuest: tenants.filter((t) => t.fallback?.mode === 'guest').map((t) => t.tenant),
    denied: tenants.filter((t) => t.fallback?.mode === 'deny').map((t) => t.tenant),
  };
}
