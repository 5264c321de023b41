/**
 * A client for the parts of Metabase's REST API that keep it in step with the seat ledger:
 * listing users (`GET /api/user`, paged `{data, total, limit, offset}`) and deactivating one
 * (`DELETE /api/user/:id` → `{success: true}`). Authenticates with the `x-api-key` header.
 */

export interface MetabaseUser {
  id: number;
  email: string;
  first_name?: string | null;
  last_name?: string | null;
  is_active: boolean;
  is_superuser?: boolean;
  last_login?: string | null;
  /** The groups the user is in (rows of GET /api/user, for admins). */
  group_ids?: number[];
  /** The Metabase tenant of a tenant user; null for an internal user. */
  tenant_id?: number | null;
  /** The attributes set through the API (they win over the JWT's, which Metabase keeps in jwt_attributes). */
  login_attributes?: Record<string, string> | null;
}

export interface MetabaseApiConfig {
  url: string;
  key: string;
  timeoutMs: number;
}

export class MetabaseApiError extends Error {
  constructor(
    message: string,
    /** The HTTP status, or undefined when Metabase could not be reached. */
    readonly status?: number,
  ) {
    super(message);
    this.name = 'MetabaseApiError';
  }

  /** Worth trying again later: Metabase unreachable, overloaded or failing. */
  get transient(): boolean {
    return this.status === undefined || this.status === 429 || this.status >= 500;
  }
}

const PAGE_SIZE = 100;
const RETRY_DELAYS_MS = [250, 1_000];

/** The longest one read of one page can take: every try timing out, with the pauses between them. */
export const longestReadMs = (timeoutMs: number) => (RETRY_DELAYS_MS.length + 1) * timeoutMs + RETRY_DELAYS_MS.reduce((sum, delay) => sum + delay, 0);

/** What a caller may bound a call with: an abort signal (e.g. the end of its lease on the work). */
export interface CallOptions {
  signal?: AbortSignal;
}

export class MetabaseApiClient {
  constructor(private readonly config: MetabaseApiConfig) {}

  private async request<T>(method: 'GET' | 'DELETE', path: string, options: CallOptions = {}): Promise<{ status: number; body: T }> {
    if (options.signal?.aborted) throw new MetabaseApiError(`${method} ${path.split('?')[0]} not sent: its caller's deadline has passed`);
    const timeout = AbortSignal.timeout(this.config.timeoutMs);
    let response: Response;
    try {
      response = await fetch(`${this.config.url}${path}`, {
        method,
        headers: { 'x-api-key': this.config.key, accept: 'application/json' },
        signal: options.signal ? AbortSignal.any([timeout, options.signal]) : timeout,
      });
    } catch (error) {
      if (options.signal?.aborted && !timeout.aborted) throw new MetabaseApiError(`Metabase did not answer before its caller's deadline`);
      throw new MetabaseApiError(`Metabase is unreachable: ${(error as Error).message}`);
    }
    const text = await response.text();
    if (response.status === 401 || response.status === 403) {
      throw new MetabaseApiError(`Metabase refused the API key (${response.status})`, response.status);
    }
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = text;
    }
    return { status: response.status, body: body as T };
  }

  /** A read, retried on transient failures. */
  private async read<T>(path: string, options: CallOptions = {}): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        const { status, body } = await this.request<T>('GET', path, options);
        if (status !== 200) throw new MetabaseApiError(`GET ${path.split('?')[0]} answered ${status}`, status);
        return body;
      } catch (error) {
        if (!(error instanceof MetabaseApiError) || !error.transient || attempt >= RETRY_DELAYS_MS.length || options.signal?.aborted) throw error;
        await new Promise((resolve) => setTimeout(resolve, RETRY_DELAYS_MS[attempt]));
      }
    }
  }

  /** Every user with the given status, page by page. */
  async listUsers(options: { status: 'active' | 'deactivated' | 'all'; query?: string; tenancy?: 'all' } & CallOptions): Promise<MetabaseUser[]> {
    const users: MetabaseUser[] = [];
    for (let offset = 0; ; offset += PAGE_SIZE) {
      const params = new URLSearchParams({ status: options.status, limit: String(PAGE_SIZE), offset: String(offset) });
      if (options.query) params.set('query', options.query);
      // Without it, a superuser's listing leaves tenant users out (users_rest/api.clj).
      if (options.tenancy) params.set('tenancy', options.tenancy);
      const page = await this.read<{ data?: MetabaseUser[]; total?: number }>(`/api/user?${params}`, options);
      if (!page || !Array.isArray(page.data)) throw new MetabaseApiError('GET /api/user answered without a data list', 200);
      users.push(...page.data);
      if (page.data.length < PAGE_SIZE || users.length >= (page.total ?? Infinity)) return users;
    }
  }

  /** The active user with exactly this email (Metabase compares emails case-insensitively). */
  async findActiveUserByEmail(email: string, options: CallOptions = {}): Promise<MetabaseUser | null> {
    const wanted = email.toLowerCase();
    const candidates = await this.listUsers({ status: 'active', query: email, signal: options.signal });
    return candidates.find((user) => user.email.toLowerCase() === wanted && user.is_active) ?? null;
  }

  /**
   * Every user, active or not, with exactly this email (case-insensitively): tenant users included
   * when `tenancy` is 'all' (only valid where Metabase's tenants are on).
   */
  async usersByEmail(email: string, options: { tenancy?: 'all' } & CallOptions = {}): Promise<MetabaseUser[]> {
    const wanted = email.toLowerCase();
    const candidates = await this.listUsers({ status: 'all', query: email, tenancy: options.tenancy, signal: options.signal });
    return candidates.filter((user) => user.email.toLowerCase() === wanted);
  }

  /** Deactivates a user (Metabase keeps the row; billing stops). A user already gone counts as done. */
  async deactivateUser(id: number, options: CallOptions = {}): Promise<'deactivated' | 'not-found'> {
    const { status, body } = await this.request<{ success?: boolean }>('DELETE', `/api/user/${id}`, options);
    if (status === 404) return 'not-found';
    if (status === 200 && body?.success === true) return 'deactivated';
    throw new MetabaseApiError(`DELETE /api/user/${id} answered ${status}`, status);
  }
}
