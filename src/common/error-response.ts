import { HttpException } from '@nestjs/common';
import { isDatabaseUnavailable, isUniqueViolation } from '../database/database-errors.js';
import { ApiError } from './api-error.js';

export interface ErrorResponse {
  status: number;
  body: { error: { code: string; message: string } } & Record<string, unknown>;
  /** Unexpected: log it with its stack. */
  unexpected: boolean;
  headers?: Record<string, string>;
}

const FASTIFY_ERRORS: Record<string, [number, string, string]> = {
  FST_ERR_CTP_BODY_TOO_LARGE: [413, 'payload_too_large', 'the request body is larger than 64 KiB'],
  FST_ERR_CTP_INVALID_MEDIA_TYPE: [415, 'unsupported_media_type', 'send the body as application/json'],
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: [400, 'invalid_content_length', 'the Content-Length header does not match the body'],
  FST_ERR_CTP_EMPTY_JSON_BODY: [400, 'validation_error', 'the JSON body is empty'],
  FST_ERR_CTP_INVALID_JSON_BODY: [400, 'invalid_json', 'the body is not valid JSON'],
  FST_ERR_CTP_INVALID_TYPE: [400, 'invalid_content_type', 'the Content-Type header is not valid'],
  FST_ERR_CTP_INVALID_CONTENT_TYPE: [415, 'unsupported_media_type', 'send the body as application/json (UTF-8)'],
  FST_ERR_BAD_URL: [400, 'invalid_url', 'the URL is not valid: check its percent-encoding'],
  FST_ERR_MAX_PARAM_LENGTH: [414, 'uri_too_long', 'a path segment of the URL is too long'],
  FST_ERR_ASYNC_CONSTRAINT: [400, 'bad_request', 'the request does not match a route'],
};

const STATUS_CODES: Record<number, string> = {
  400: 'bad_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  406: 'not_acceptable',
  408: 'request_timeout',
  409: 'conflict',
  413: 'payload_too_large',
  414: 'uri_too_long',
  415: 'unsupported_media_type',
  429: 'too_many_requests',
};

/** Maps any error to the documented `{error: {code, message}}` shape; nothing internal leaks. */
export function toErrorResponse(error: unknown): ErrorResponse {
  const make = (status: number, code: string, message: string, extra: Record<string, unknown> = {}, unexpected = false) => ({
    status,
    body: { error: { code, message }, ...extra },
    unexpected,
  });
  if (error instanceof ApiError) return { ...make(error.status, error.code, error.message, error.extra), headers: error.headers };
  // Nest wraps Fastify's own 4xx errors (body parsing, size) in an HttpException: map the original.
  if (error instanceof HttpException && error.cause) {
    const mapped = toErrorResponse(error.cause);
    if (!mapped.unexpected) return mapped;
  }
  const e = (error ?? undefined) as { code?: unknown; statusCode?: unknown; message?: unknown } | undefined;
  if (e && typeof e.code === 'string' && FASTIFY_ERRORS[e.code]) {
    const [status, code, message] = FASTIFY_ERRORS[e.code];
    return make(status, code, message);
  }
  if (error instanceof SyntaxError && /prototype/i.test(error.message)) {
    return make(400, 'forbidden_key', 'the body contains a forbidden key (__proto__ or constructor.prototype)');
  }
  if (error instanceof SyntaxError && e?.statusCode === 400) {
    return make(400, 'invalid_json', 'the body is not valid JSON');
  }
  if (error instanceof HttpException) {
    const status = error.getStatus();
    const code = STATUS_CODES[status] ?? (status >= 500 ? 'internal_error' : 'bad_request');
    const message = status === 404 ? 'no such route' : status >= 500 ? 'internal error' : error.message;
    return make(status, code, message, {}, status >= 500);
  }
  if (isDatabaseUnavailable(error)) {
    return make(503, 'database_unavailable', 'the database is unavailable; retry shortly');
  }
  if (isUniqueViolation(error)) return make(409, 'conflict', 'a concurrent request changed the same record; retry');
  // Fastify's own 4xx (bad headers, proto poisoning, ...): keep the status, use a generic code.
  if (e && typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    return make(e.statusCode, STATUS_CODES[e.statusCode] ?? 'bad_request', typeof e.message === 'string' ? e.message : 'bad request');
  }
  return make(500, 'internal_error', 'internal error', {}, true);
}
