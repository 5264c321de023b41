/** A seat as its holder sees it. */
export interface HeldSeat {
  id: string;
  heldSince: Date;
  lastUsedAt: Date;
}

/** A seat held right now, with its tenant's slug. */
export interface Seat extends HeldSeat {
  tenantId: string;
  tenantSlug: string;
  userId: string;
  email: string;
}

/** A seat just deleted by a release (its tenant is the release's). */
export interface ReleasedSeat extends HeldSeat {
  userId: string;
  email: string;
}

/** What seat_ledger_acquire answered: a seat for 'held' and 'allocated', none otherwise. */
export type AcquireOutcome =
  | { outcome: 'held' | 'allocated'; seat: HeldSeat }
  | { outcome: 'cap-exhausted' | 'budget-exhausted' | 'tenant-changed' | 'identity-conflict' | 'identity-retry' };

/** What an allocation would find: does the user hold a seat, and the tenant's and the license's counters. */
export interface SeatCounts {
  held: boolean;
  tenantSeatsHeld: number;
  seatCap: number | null;
  licenseSeatsHeld: number;
  seatBudget: number;
}

/** The counters right after a release moved them. */
export interface CountersAfterRelease {
  tenantSeatsHeld: number;
  licenseSeatsHeld: number;
  seatBudget: number;
}

/** One immutable entry of the seat history (seat_events). */
export interface NewSeatEvent {
  seatId: string;
  tenantId: string;
  userId: string;
  kind: 'allocated' | 'released';
  reason: string;
  actor: string;
  /** Seats held by the whole license right after this event. */
  seatsHeldAfter: number;
  /** Seats held by the tenant right after this event. */
  tenantHeldAfter: number;
  seatBudget: number;
}

/** Which seats of a tenant a release deletes. */
export type SeatSelection = { seatId: string } | { idleSince: Date } | 'all';
