import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiError } from './api-error.js';
import { MALFORMED_QUERY } from './query-string.js';
import { textProblem } from './text.js';

/** Longer than any id, slug or launch link embedgate issues. */
export const MAX_PATH_PARAM_LENGTH = 200;

/**
 * The text rule for every path parameter of every route, and a strictly decoded query string, as a
 * Fastify hook: a new route is covered without anyone remembering to, before any guard, pipe or
 * lookup. A violation is a 400 naming the parameter. Routes still check a parameter's own shape
 * (a slug, a uuid) after this, and each query value goes through its route's schema (text()).
 */
export function checkUrlText(request: FastifyRequest, _reply: FastifyReply, done: (error?: Error) => void): void {
  const malformed = (request.query as Record<symbol, string | undefined> | null)?.[MALFORMED_QUERY];
  if (malformed !== undefined) {
    const name = textProblem(malformed) === null ? malformed : 'query';
    return done(new ApiError(400, 'validation_error', `${name}: not valid percent-encoding (UTF-8)`));
  }
  const params = request.params as Record<string, unknown> | null;
  if (params) {
    for (const [name, value] of Object.entries(params)) {
      if (typeof value !== 'string') continue;
      const problem = value.length > MAX_PATH_PARAM_LENGTH ? `must be at most ${MAX_PATH_PARAM_LENGTH} characters` : textProblem(value);
      if (problem) return done(new ApiError(400, 'validation_error', `${name}: ${problem}`));
    }
  }
  done();
}
