import { Injectable, type PipeTransform } from '@nestjs/common';
import { z } from 'zod';
import { ApiError } from './api-error.js';

/** Formats zod issues as one readable line: `user.email: Invalid email; tenant: Required`. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 10)
    .map((issue) => {
      const path = issue.path.map(String).join('.');
      return path ? `${path}: ${issue.message}` : issue.message;
    })
    .join('; ');
}

/**
 * Validates a body or query against a zod schema; the parsed value replaces the raw one.
 * (nestjs-zod does this too, but its peer range stops at Nest 11.)
 */
@Injectable()
export class ZodValidationPipe<T extends z.ZodType> implements PipeTransform<unknown, z.output<T>> {
  constructor(
    private readonly schema: T,
    private readonly what: 'body' | 'query' = 'body',
  ) {}

  transform(value: unknown): z.output<T> {
    if (this.what === 'body' && (value === undefined || value === null)) {
      throw new ApiError(400, 'validation_error', 'a JSON request body is required');
    }
    const result = this.schema.safeParse(value);
    if (!result.success) throw new ApiError(400, 'validation_error', describeIssues(result.error));
    return result.data;
  }
}

export const validBody = <T extends z.ZodType>(schema: T) => new ZodValidationPipe(schema, 'body');
export const validQuery = <T extends z.ZodType>(schema: T) => new ZodValidationPipe(schema, 'query');
