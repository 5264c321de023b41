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
