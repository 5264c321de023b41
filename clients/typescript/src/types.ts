import type { paths } from './schema.js';

type Method = 'get' | 'put' | 'post' | 'delete' | 'patch';
type Operation<P extends keyof paths, M extends Method> = NonNullable<paths[P][M]>;

/** The JSON body an operation takes, as the OpenAPI document describes it. */
export type RequestBody<P extends keyof paths, M extends Method> =
  Operation<P, M> extends { requestBody?: { content: { 'application/json': infer Body } } } ? Body : never;

/** The query an operation takes, as the OpenAPI document describes it. */
export type RequestQuery<P extends keyof paths, M extends Method> =
  Operation<P, M> extends { parameters: { query?: infer Query } } ? NonNullable<Query> : never;

type JsonContent<R> = R extends { content: { 'application/json': infer Body } } ? Body : never;

/**
 * The body of an answer: the OpenAPI document's schema for it when the document has one, otherwise the shape
 * written here by hand from docs/api-v1.md (embedgate's document describes requests, and its answers only in
 * words). Once the service documents an answer's schema, the generated type takes over by itself, and code
 * that relied on a different shape stops type-checking.
 */
export type Answer<P extends keyof paths, M extends Method, Status extends number, Documented> =
  Operation<P, M> extends { responses: infer Responses }
    ? Status extends keyof Responses
      ? [JsonContent<Responses[Status]>] extends [never]
        ? Documented
        : JsonContent<Responses[Status]>
      : Documented
    : Documented;

/** A user of a tenant, as the host app knows them (never from the browser). */
export type ViewerUser = RequestBody<'/v1/viewer-sessions', 'post'>['user'];
/** POST /v1/viewer-sessions. */
export type ViewerSessionRequest = RequestBody<'/v1/viewer-sessions', 'post'>;
/** POST /v1/embeds and POST /v1/embeds/explain. */
export type EmbedRequest = RequestBody<'/v1/embeds', 'post'>;
/** POST /v1/sso/jwt: the embed body without resource and options. */
export type SsoJwtRequest = RequestBody<'/v1/sso/jwt', 'post'>;
/** POST /v1/sdk/guest, as embed.js sends it. */
export type GuestProviderRequest = RequestBody<'/v1/sdk/guest', 'post'>;

/** Which rule routed a request, and why (docs/api-v1.md, "Rule names"). */
export interface Decision {
  mode: 'guest' | 'sso' | 'deny';
  rule: string;
  reasons: string[];
}

/** 201 of POST /v1/viewer-sessions: `url` is the one-time exchange URL (60 s) the browser must open. */
export type ViewerSession = Answer<
  '/v1/viewer-sessions',
  'post',
  201,
  {
    id: string;
    /** The host page origin the session is bound to: only that page's calls may use it. */
    origin: string;
    url: string;
    /** When the exchange URL stops working. */
    expiresAt: string;
    /** When the session ends whatever its activity. */
    sessionExpiresAt: string;
  }
>;

export interface GuestEmbed {
  mode: 'guest';
  /** Metabase's /embed/… URL, for an iframe. */
  url: string;
  token: string;
  expiresAt: string;
  decision: Decision;
}

export interface SsoEmbed {
  mode: 'sso';
  /** A one-time launch link on embedgate (or Metabase's /auth/sso URL with options.launch = "direct"). */
  url: string;
  jwt: string;
  expiresAt: string;
  seat: { id: string; heldSince: string; new: boolean };
  decision: Decision;
}

/** 201 of POST /v1/embeds. */
export type Embed = Answer<'/v1/embeds', 'post', 201, GuestEmbed | SsoEmbed>;

/** 200 of POST /v1/embeds/explain. */
export type Explanation = Answer<'/v1/embeds/explain', 'post', 200, { decision: Decision }>;

/** 200 of POST /v1/sso/jwt, and of the provider endpoints. */
export type JwtAnswer = Answer<'/v1/sso/jwt', 'post', 200, { jwt: string }>;

/** 200 of DELETE /v1/viewer-sessions?tenant=&user=. */
export type Revoked = Answer<'/v1/viewer-sessions', 'delete', 200, { revoked: number }>;

/** One registered resource, as GET /v1/resources lists them. */
export interface ResourceView {
  key: string;
  type: 'dashboard' | 'question';
  /** A positive integer or a 21-character entity id, as text. */
  metabaseId: string;
  tenantParam: string | null;
  guest: boolean;
  createdAt: string;
}

/** 200 of GET /v1/resources. */
export type ResourcePage = Answer<'/v1/resources', 'get', 200, { items: ResourceView[]; nextCursor: string | null }>;

/** Every error answer: `{error: {code, message}}`, plus the decision when the policy refused. */
export interface ErrorBody {
  error: { code: string; message: string };
  decision?: Decision;
}
