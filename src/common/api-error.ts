/** An error that is part of the API: an HTTP status, a stable snake_case code and a human message. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** Extra top-level fields of the error response, e.g. the policy decision of a denied embed. */
    readonly extra: Record<string, unknown> = {},
    /** Response headers, e.g. Retry-After on a 429. */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }
}
