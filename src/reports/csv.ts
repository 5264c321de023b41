import { stringify } from 'csv-stringify/sync';

/**
 * A cell a spreadsheet would run as a formula (=, +, -, @, and tab or CR that some apps also treat
 * so) is prefixed with a single quote: a tenant named "=HYPERLINK(...)" stays text.
 */
export function spreadsheetSafe(value: unknown): unknown {
  return typeof value === 'string' && /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
}

/** RFC 4180 CSV with a header row, formula-injection safe. */
export function toCsv(columns: string[], rows: unknown[][]): string {
  return stringify([columns, ...rows.map((row) => row.map(spreadsheetSafe))], { record_delimiter: 'windows' });
}

/** The seat-usage report as CSV: one row per day and tenant (and the cost column when priced). */
export function seatUsageCsv(report: {
  currency?: string;
  rows: { date: string; tenant: string; peakSeats: number; seatDays: number; cost?: number }[];
}): string {
  const priced = report.currency !== undefined;
  return toCsv(
    ['date', 'tenant', 'peak_seats', 'seat_days', ...(priced ? [`cost_${report.currency}`] : [])],
    report.rows.map((r) => [r.date, r.tenant, r.peakSeats, r.seatDays, ...(priced ? [r.cost] : [])]),
  );
}

/**
 * The billing report as CSV: one row per day and tenant (the tenant's billable seats that day), with
 * the day's billable count, the ledger's peak, the budget and Metabase's count repeated on each of its
 * rows; a day nobody was billed for has one row with no tenant.
 */
export function billingCsv(report: {
  currency?: string;
  daily: {
    date: string;
    billable: number;
    ledgerPeak: number;
    budget: number;
    metabaseActiveUsers: number | null;
    byTenant: { tenant: string; seats: number; cost?: number }[];
  }[];
}): string {
  const priced = report.currency !== undefined;
  const rows: unknown[][] = [];
  for (const day of report.daily) {
    const shared = [day.billable, day.ledgerPeak, day.budget, day.metabaseActiveUsers ?? ''];
    if (!day.byTenant.length) rows.push([day.date, '', 0, ...shared, ...(priced ? [0] : [])]);
    for (const t of day.byTenant) rows.push([day.date, t.tenant, t.seats, ...shared, ...(priced ? [t.cost] : [])]);
  }
  return toCsv(
    [
      'date',
      'tenant',
      'billable_seats',
      'day_billable',
      'day_ledger_peak',
      'day_budget',
      'day_metabase_active_users',
      ...(priced ? [`cost_${report.currency}`] : []),
    ],
    rows,
  );
}

/** The usage report as CSV: one row per day, tenant and resource. */
export function usageCsv(report: {
  rows: { date: string; tenant: string; resource: string; guest: number; sso: number; denied: number; viewers: number }[];
}): string {
  return toCsv(
    ['date', 'tenant', 'resource', 'guest', 'sso', 'denied', 'viewers'],
    report.rows.map((r) => [r.date, r.tenant, r.resource, r.guest, r.sso, r.denied, r.viewers]),
  );
}
