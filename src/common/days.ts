/** A UTC day, in milliseconds: the reports, the usage roll-up and retention count in UTC days. */
export const DAY_MS = 86_400_000;

/** The UTC calendar day of a time, `YYYY-MM-DD`. */
export const isoDay = (date: Date): string => date.toISOString().slice(0, 10);

/** A money amount or a ratio rounded to two decimals, as the reports show them. */
export const round2 = (n: number): number => Math.round(n * 100) / 100;
