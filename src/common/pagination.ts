import { z } from 'zod';
import { text, textProblem } from './text.js';
import { ApiError } from './api-error.js';

export const MAX_PAGE_SIZE = 200;
export const DEFAULT_PAGE_SIZE = 50;

/** `?limit=&cursor=`: limit 1..200 (default 50); cursor is opaque, from the previous page's nextCursor. */
export const pageQuery = {
  limit: z.coerce
    .number({ error: 'limit must be a number' })
    .int('limit must be a whole number')
    .min(1, 'limit must be at least 1')
    .max(MAX_PAGE_SIZE, `limit must be at most ${MAX_PAGE_SIZE}`)
    .default(DEFAULT_PAGE_SIZE),
  cursor: text({ max: 500 }).optional(),
};

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export const encodeCursor = (value: string) => Buffer.from(value, 'utf8').toString('base64url');

/**
 * Decodes a cursor from a previous page: undefined when none was given, 400 when it is not one of
 * ours (`isValid` checks the decoded value's shape).
 */
export function decodeCursor(cursor: string | undefined, isValid: (value: string) => boolean = () => true): string | undefined {
  if (cursor === undefined) return undefined;
  const value = /^[A-Za-z0-9_-]+$/.test(cursor) ? Buffer.from(cursor, 'base64url').toString('utf8') : '';
  // Decoded bytes that are not UTF-8 come out with U+FFFD; any control character or NUL is not ours either.
  if (!value || value.includes('\ufffd') || textProblem(value) !== null || !isValid(value))
    throw new ApiError(400, 'validation_error', 'cursor: not a cursor from this list');
  return value;
}

/** Builds a page from limit+1 fetched rows. */
export function toPage<R, T>(rows: R[], limit: number, cursorOf: (row: R) => string, map: (row: R) => T): Page<T> {
  const hasMore = rows.length > limit;
  const pageRows = hasMore ? rows.slice(0, limit) : rows;
  return {
    items: pageRows.map(map),
    nextCursor: hasMore ? encodeCursor(cursorOf(pageRows[pageRows.length - 1])) : null,
  };
}
