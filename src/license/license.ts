/** The license (one row): the seat budget, and the seats held against it right now. */
export interface License {
  seatBudget: number;
  seatsHeld: number;
}

/** A tenant's seats against the license. */
export interface TenantSeatUsage {
  slug: string;
  seatsHeld: number;
  seatCap: number | null;
}

/** One change of the seat budget; the initial budget (SEAT_BUDGET at the first boot) has no previous budget. */
export interface BudgetChange {
  seatBudget: number;
  previousBudget: number | null;
  actor: string;
  changedAt: Date;
}
