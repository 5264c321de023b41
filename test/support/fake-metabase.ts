import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { verifySsoToken } from './metabase-verifier.js';

export interface FakeMetabaseUser {
  id: number;
  email: string;
  first_name: string | null;
  last_name: string | null;
  common_name: string;
  is_active: boolean;
  is_superuser: boolean;
  last_login: string | null;
  date_joined: string;
}

/**
 * A local HTTP server that speaks the Metabase user API as Metabase does: `GET /api/user` paged
 * `{data, total, limit, offset}` with `status` and `query` filters, `DELETE /api/user/:id` →
 * `{success: true}`, and 401 "Unauthenticated" for a wrong `x-api-key`. Its SSO login verifies
 * the JWT with Metabase's rules and provisions or reactivates the user, as `/auth/sso` does.
 */
export class FakeMetabase {
  readonly users: FakeMetabaseUser[] = [];
  /** While true, every API call answers 503, as a Metabase restarting behind a proxy would. */
  down = false;
  /** Milliseconds every API request waits before it is answered (and its change made): a slow Metabase. */
  delayMs = 0;
  readonly requests: string[] = [];
  /** API requests being answered right now, and the most there ever were at once, by "METHOD /path". */
  readonly inFlight = new Map<string, number>();
  readonly mostInFlight = new Map<string, number>();
  private hung?: Promise<void>;
  private server?: Server;
  private nextId = 1;
  url = '';

  constructor(
    readonly apiKey: string,
    private readonly jwtSharedSecret: string,
  ) {}

  async start(): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    const address = this.server.address();
    this.url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    return this;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }

  addUser(email: string, options: Partial<FakeMetabaseUser> = {}): FakeMetabaseUser {
    const user: FakeMetabaseUser = {
      id: this.nextId++,
      email,
      first_name: null,
      last_name: null,
      common_name: email,
      is_active: true,
      is_superuser: false,
      last_login: null,
      date_joined: new Date().toISOString(),
      ...options,
    };
    this.users.push(user);
    return user;
  }

  /**
   * Metabase hangs: API requests wait unanswered, their changes not made, until the returned function
   * is called (a Metabase that recovers); then they are answered.
   */
  hang(): () => void {
    let recover!: () => void;
    this.hung = new Promise((resolve) => (recover = resolve));
    return () => {
      this.hung = undefined;
      recover();
    };
  }

  /** The requests received so far, e.g. requestsFor('DELETE', `/api/user/${id}`). */
  requestsFor(method: string, path: string): string[] {
    return this.requests.filter((request) => request === `${method} ${path}` || request.startsWith(`${method} ${path}?`));
  }

  byEmail(email: string): FakeMetabaseUser | undefined {
    return this.users.find((u) => u.email.toLowerCase() === email.toLowerCase());
  }

  /** What `/auth/sso?jwt=` does with JWT provisioning on: verify, then create or reactivate the user. */
  ssoLogin(jwtOrUrl: string): FakeMetabaseUser {
    const jwt = jwtOrUrl.startsWith('http') ? new URL(jwtOrUrl).searchParams.get('jwt')! : jwtOrUrl;
    const claims = verifySsoToken(jwt, this.jwtSharedSecret);
    const existing = this.byEmail(claims.email);
    if (existing) {
      existing.is_active = true;
      existing.last_login = new Date().toISOString();
      return existing;
    }
    return this.addUser(claims.email, { first_name: (claims.first_name as string) ?? null, last_login: new Date().toISOString() });
  }

  private send(res: ServerResponse, status: number, body: unknown) {
    res.writeHead(status, { 'content-type': typeof body === 'string' ? 'text/plain' : 'application/json' });
    res.end(typeof body === 'string' ? body : JSON.stringify(body));
  }

  private async handle(req: IncomingMessage, res: ServerResponse) {
    const url = new URL(req.url ?? '/', 'http://metabase');
    this.requests.push(`${req.method} ${url.pathname}${url.search}`);
    const key = `${req.method} ${url.pathname}`;
    const now = (this.inFlight.get(key) ?? 0) + 1;
    this.inFlight.set(key, now);
    this.mostInFlight.set(key, Math.max(now, this.mostInFlight.get(key) ?? 0));
    try {
      if (this.delayMs) await new Promise((resolve) => setTimeout(resolve, this.delayMs));
      while (this.hung) await this.hung;
      // A client that gave up meanwhile never sees the answer; Metabase would still have acted on it.
      this.answer(req, res, url);
    } finally {
      this.inFlight.set(key, this.inFlight.get(key)! - 1);
    }
  }

  private answer(req: IncomingMessage, res: ServerResponse, url: URL) {
    if (this.down) return this.send(res, 503, 'Service Unavailable');
    if (req.headers['x-api-key'] !== this.apiKey) return this.send(res, 401, 'Unauthenticated');
    if (req.method === 'GET' && url.pathname === '/api/user') {
      const status = url.searchParams.get('status') ?? 'active';
      const query = url.searchParams.get('query')?.toLowerCase();
      const limit = Number(url.searchParams.get('limit') ?? 50);
      const offset = Number(url.searchParams.get('offset') ?? 0);
      const matching = this.users.filter(
        (u) =>
          (status === 'all' || (status === 'active') === u.is_active) &&
          (!query || u.email.toLowerCase().includes(query) || u.common_name.toLowerCase().includes(query)),
      );
      return this.send(res, 200, { data: matching.slice(offset, offset + limit), total: matching.length, limit, offset });
    }
    const match = /^\/api\/user\/(\d+)$/.exec(url.pathname);
    if (req.method === 'DELETE' && match) {
      const user = this.users.find((u) => u.id === Number(match[1]));
      if (!user) return this.send(res, 404, 'Not found.');
      user.is_active = false;
      return this.send(res, 200, { success: true });
    }
    return this.send(res, 404, 'Not found.');
  }
}
