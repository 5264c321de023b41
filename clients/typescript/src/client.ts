import createClient, { type Client } from 'openapi-fetch';
import type { paths } from './schema.js';
import type {
  Decision,
  Embed,
  EmbedRequest,
  ErrorBody,
  Explanation,
  JwtAnswer,
  ResourcePage,
  ResourceView,
  Revoked,
  SsoJwtRequest,
  ViewerSession,
  ViewerSessionRequest,
} from './types.js';

/** The typed client itself: every path, method, parameter and body of embedgate's OpenAPI document. */
export type EmbedgateApi = Client<paths>;

export interface EmbedgateOptions {
  /** Where the host's backend reaches embedgate, e.g. `https://embedgate.internal:8080`. */
  baseUrl: string;
  /** The host app's key (role `app`), as `POST /v1/apps` answered it once. Keep it on the server. */
  apiKey: string;
  /** Another fetch (tests, proxies); the global one by default. */
  fetch?: (request: Request) => Promise<Response>;
}

/** An answer of embedgate that is not a success: its status, `{error: {code, message}}`, and the decision when the policy refused. */
export class EmbedgateError extends Error {
  override readonly name = 'EmbedgateError';

  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly decision?: Decision,
  ) {
    super(message);
  }

  /** The error body to hand on (a provider route forwards it to the browser). */
  get body(): ErrorBody {
    return { error: { code: this.code, message: this.message }, ...(this.decision ? { decision: this.decision } : {}) };
  }

  static of(status: number, body: unknown): EmbedgateError {
    const error = (body as Partial<ErrorBody> | undefined)?.error;
    if (error && typeof error.code === 'string' && typeof error.message === 'string') {
      return new EmbedgateError(status, error.code, error.message, (body as ErrorBody).decision);
    }
    return new EmbedgateError(status, 'unexpected_answer', `embedgate answered ${status}`);
  }
}

/** The typed client and the calls a host app's backend makes. */
export interface EmbedgateClient {
  /** The generated client, for any other route: `api.GET('/v1/resources', {params: {query: {limit: 50}}})`. */
  readonly api: EmbedgateApi;
  /** Opens a viewer session for a user; send the browser to the answer's `url` (once, within 60 s). */
  createViewerSession(request: ViewerSessionRequest): Promise<ViewerSession>;
  /** Ends one viewer session this app opened (sign-out). */
  revokeViewerSession(id: string): Promise<void>;
  /** Ends every viewer session this app opened for one user of a tenant. */
  revokeViewerSessions(tenant: string, userId: string): Promise<Revoked>;
  /** POST /v1/embeds: a guest or SSO embed for one user and resource; a denial throws an EmbedgateError with its decision. */
  getEmbed(request: EmbedRequest): Promise<Embed>;
  /** POST /v1/embeds/explain: the decision the same request would get (guest, sso or deny), with no token and no seat. */
  explainEmbed(request: EmbedRequest): Promise<Decision>;
  /** POST /v1/sso/jwt: an SSO token for Metabase's SDK, for a user routed to SSO (else a 403 EmbedgateError with the decision). */
  ssoJwt(request: SsoJwtRequest): Promise<string>;
  /** Every registered resource (GET /v1/resources, all pages). */
  listResources(): Promise<ResourceView[]>;
}

/** What openapi-fetch answers: the body, or the error body, and the response. */
interface Outcome {
  data?: unknown;
  error?: unknown;
  response: Response;
}

/** The body of a successful answer; anything else throws an EmbedgateError. */
async function bodyOf<T>(call: Promise<Outcome>): Promise<T> {
  const { data, error, response } = await call;
  if (!response.ok) throw EmbedgateError.of(response.status, error);
  return data as T;
}

export function createEmbedgateClient(options: EmbedgateOptions): EmbedgateClient {
  const api = createClient<paths>({
    baseUrl: options.baseUrl.replace(/\/+$/, ''),
    headers: { authorization: `Bearer ${options.apiKey}` },
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });
  return {
    api,
    createViewerSession: (body) => bodyOf<ViewerSession>(api.POST('/v1/viewer-sessions', { body })),
    revokeViewerSession: async (id) => {
      await bodyOf<undefined>(api.DELETE('/v1/viewer-sessions/{id}', { params: { path: { id } } }));
    },
    revokeViewerSessions: (tenant, user) => bodyOf<Revoked>(api.DELETE('/v1/viewer-sessions', { params: { query: { tenant, user } } })),
    getEmbed: (body) => bodyOf<Embed>(api.POST('/v1/embeds', { body })),
    explainEmbed: async (body) => (await bodyOf<Explanation>(api.POST('/v1/embeds/explain', { body }))).decision,
    ssoJwt: async (body) => (await bodyOf<JwtAnswer>(api.POST('/v1/sso/jwt', { body }))).jwt,
    listResources: async () => {
      const resources: ResourceView[] = [];
      let cursor: string | undefined;
      do {
        const page = await bodyOf<ResourcePage>(api.GET('/v1/resources', { params: { query: { limit: 200, ...(cursor ? { cursor } : {}) } } }));
        resources.push(...page.items);
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
      return resources;
    },
  };
}
