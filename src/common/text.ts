import { z } from 'zod';

/**
 * The one rule for text that comes from outside (bodies, queries, path parameters, decoded cursors):
 * valid Unicode (no lone surrogates, which UTF-8 would turn into U+FFFD, so that two different ids
 * would be stored as one), no NUL (Postgres refuses it in text) and no other C0 or C1 control
 * character (newline and tab only in free text), and a bounded length. Every schema's strings are
 * built from `text()`, so a violation is a 400 validation_error naming the field, before anything
 * is written.
 */

/** C0 and C1 control characters and DEL, tab and newline included. */
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
/** The same, less tab and newline (free text, such as a reason). */
const CONTROL_EXCEPT_TAB_NEWLINE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/;

/** What is wrong with a piece of text under the rule, or null when nothing is. */
export function textProblem(value: string, options: { multiline?: boolean } = {}): string | null {
  if (!value.isWellFormed()) return 'must be valid Unicode text (it holds a lone surrogate)';
  if ((options.multiline ? CONTROL_EXCEPT_TAB_NEWLINE : CONTROL).test(value)) {
    return options.multiline ? 'must not contain control characters (other than tab and newline)' : 'must not contain control characters';
  }
  return null;
}

export interface TextOptions {
  /** At most this many characters (UTF-16 code units, as JavaScript counts). */
  max: number;
  min?: number;
  /** Free text: tab and newline allowed. */
  multiline?: boolean;
  /** Trim white space at both ends (after the check: a control character is refused, not trimmed away). */
  trim?: boolean;
  /** The message when the value is not a string. */
  error?: string;
}

/** A string field under the text rule. */
export function text(options: TextOptions) {
  const { max, min = 0, multiline = false, trim = false } = options;
  let schema = z
    .string(options.error ? { error: options.error } : undefined)
    .check((ctx) => {
      const problem = textProblem(ctx.value, { multiline });
      if (problem) ctx.issues.push({ code: 'custom', message: problem, input: ctx.value });
    })
    .max(max, `must be at most ${max} characters`);
  if (trim) schema = schema.trim();
  return min > 0 ? schema.min(min, min === 1 ? 'must not be empty' : `must be at least ${min} characters`) : schema;
}

/** A text field that must also match a pattern (slugs, keys, ids). */
export const patternText = (max: number, pattern: RegExp, message: string) => text({ max }).regex(pattern, message);

const DATE_PATTERN = /^(\d{4})-(\d{2})-(\d{2})$/;
const MIN_YEAR = 2000;
const MAX_YEAR = 9999;

/** Whether y-m-d is a day of the calendar (2024-02-30 is not) within years 2000 to 9999. */
function isCalendarDay(year: number, month: number, day: number): boolean {
  if (year < MIN_YEAR || year > MAX_YEAR || month < 1 || month > 12 || day < 1) return false;
  return day <= new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/** `YYYY-MM-DD`: a real calendar day, years 2000 to 9999; becomes that day's UTC midnight. */
export function calendarDate(name: string) {
  return text({ max: 10 })
    .check((ctx) => {
      const match = DATE_PATTERN.exec(ctx.value);
      if (!match) ctx.issues.push({ code: 'custom', message: `${name} is a date, YYYY-MM-DD`, input: ctx.value });
      else if (!isCalendarDay(Number(match[1]), Number(match[2]), Number(match[3]))) {
        ctx.issues.push({ code: 'custom', message: `${name} is not a calendar date between ${MIN_YEAR} and ${MAX_YEAR}`, input: ctx.value });
      }
    })
    .transform((value) => new Date(`${value}T00:00:00Z`));
}

/** An ISO 8601 date-time with an offset (`2026-01-31T12:00:00Z`): a real instant, years 2000 to 9999. */
export function dateTime(name: string) {
  return text({ max: 40 })
    .pipe(z.iso.datetime({ offset: true, error: `${name} must be an ISO 8601 date-time, e.g. 2026-01-31T12:00:00Z` }))
    .check((ctx) => {
      const match = /^(\d{4})-(\d{2})-(\d{2})T/.exec(ctx.value);
      if (match && !isCalendarDay(Number(match[1]), Number(match[2]), Number(match[3]))) {
        ctx.issues.push({ code: 'custom', message: `${name} is not a calendar date between ${MIN_YEAR} and ${MAX_YEAR}`, input: ctx.value });
      }
    })
    .transform((value) => new Date(value));
}
