/**
 * A client for Metabase's admin API, as far as checking and provisioning embedgate's setup needs it.
 * Wire shapes: /work/shared/docs/metabase-admin-api.md (each type cites the Metabase source it follows).
 * Every call needs a superuser API key (`x-api-key`). Two settings it reads, `embedding-secret-key` and
 * `jwt-shared-secret`, come back in plaintext: this client never logs a response body, and its error
 * messages never quote one from a settings endpoint.
 */

export interface MetabaseAdminConfig {
  url: string;
  key: string;
  timeoutMs: number;
}

export class MetabaseAdminError extends Error {
  constructor(
    message: string,
    /** The HTTP status; undefined when Metabase could not be reached or did not answer in time. */
    readonly status: number | undefined,
    /** "METHOD /path" of the call, without its query string. */
    readonly call: string,
  ) {
    super(message);
    this.name = 'MetabaseAdminError';
  }
}

/** src/metabase/session/api.clj (user-readable-values-map): flat key → value, env-set values included. */
export interface SessionProperties {
  version?: { tag?: string; hash?: string; branch?: string; date?: string };
  /** src/metabase/premium-features/settings.clj `-token-features`: mostly underscore keys (sso_jwt, sandboxes, tenants). */
  'token-features'?: Record<string, boolean>;
  [key: string]: unknown;
}

/** src/metabase/settings_rest/api.clj: GET /api/setting rows. `value` is null when the value comes from the environment. */
export interface SettingEntry {
  key: string;
  value: unknown;
  is_env_setting?: boolean;
  env_name?: string;
}

/** src/metabase/permissions_rest/api.clj: GET /api/permissions/group. Special groups are told by magic_group_type. */
export interface PermissionsGroup {
  id: number;
  name: string;
  entity_id?: string;
  magic_group_type?: 'all-internal-users' | 'admin' | 'all-external-users' | 'data-analyst' | string | null;
  is_tenant_group?: boolean;
  member_count?: number;
}

/** A view-data / create-queries value: scalar for a DB, or {schema: scalar | {tableId: scalar}} (permissions_rest/schema.clj). */
export type PermissionValue = string;
export type NestedPermission = PermissionValue | Record<string, PermissionValue | Record<string, PermissionValue>>;

export interface DatabasePermissions {
  'view-data'?: NestedPermission;
  'create-queries'?: NestedPermission;
  /** The pre-v50 shape (`{native, schemas}`), still accepted by the schema. */
  data?: unknown;
  [key: string]: unknown;
}

/**
 * permissions_rest/data_permissions/graph.clj: GET /api/permissions/graph. The least-permissive value is
 * omitted, so a missing group, database, schema or table key means blocked / no.
 */
export interface PermissionsGraph {
  revision: number;
  groups: Record<string, Record<string, DatabasePermissions>>;
}

/** enterprise/backend/src/metabase_enterprise/sandbox/api/gtap.clj: GET /api/mt/gtap rows. */
export interface SandboxRow {
  id: number;
  group_id: number;
  table_id: number;
  card_id: number | null;
  attribute_remappings: Record<string, unknown> | null;
}

/** src/metabase/warehouses_rest/api.clj (older src/metabase/api/database.clj): GET /api/database. */
export interface DatabaseSummary {
  id: number;
  name: string;
  is_audit?: boolean;
  is_sample?: boolean;
}

export interface FieldMetadata {
  id: number;
  name: string;
  table_id?: number;
}

export interface TableMetadata {
  id: number;
  name: string;
  schema: string | null;
  db_id?: number;
  fields?: FieldMetadata[];
}

/** GET /api/database/:id/metadata?include_hidden=true: the database with its tables and their fields. */
export interface DatabaseMetadata extends DatabaseSummary {
  tables: TableMetadata[];
}

export type EmbeddingVisibility = 'disabled' | 'enabled' | 'locked';

/** src/metabase/dashboards_rest/api.clj and queries_rest/api/card.clj: the embedding fields of a dashboard or card. */
export interface EmbeddableItem {
  id: number;
  entity_id?: string;
  name: string;
  /** Archived items are still returned (they are in the Trash), not a 404. */
  archived: boolean;
  enable_embedding: boolean;
  embedding_params: Record<string, EmbeddingVisibility> | null;
  parameters?: { id: string; name?: string; slug: string; type?: string }[];
}

export type ItemType = 'dashboard' | 'question';

/** enterprise/backend/src/metabase_enterprise/tenants/api.clj: GET /api/ee/tenant rows. */
export interface MetabaseTenant {
  id: number;
  name: string;
  slug: string;
  is_active: boolean;
  attributes?: Record<string, string> | null;
}

/**
 * src/metabase/users_rest/api.clj: a user as POST /api/user, PUT /api/user/:id (fetch-user, with
 * user_group_memberships hydrated) and PUT /api/user/:id/reactivate answer it.
 */
export interface MetabaseAccount {
  id: number;
  email: string;
  is_active: boolean;
  is_superuser?: boolean;
  tenant_id?: number | null;
  login_attributes?: Record<string, string> | null;
  /** `id` is the group's id (not the membership's). */
  user_group_memberships?: { id: number; is_group_manager?: boolean }[];
}

/**
 * POST /api/user's body (users_rest/api.clj `invite-user`, users/models/user.clj `create-and-invite-user!`).
 * The memberships must include the magic all-users group (All Users, or All tenant users for a tenant
 * user). Metabase sends the invitation email unless `tenant_id` is set
 * (`notification/with-skip-sending-notification (boolean (:tenant_id body))`), when its email is configured.
 */
export interface NewMetabaseAccount {
  email: string;
  first_name?: string;
  last_name?: string;
  user_group_memberships: { id: number }[];
  /** Keys must not start with `@` (users/schema.clj LoginAttributes). */
  login_attributes?: Record<string, string>;
  tenant_id?: number;
}

const itemPath = (type: ItemType, id: number | string) => `/api/${type === 'dashboard' ? 'dashboard' : 'card'}/${encodeURIComponent(String(id))}`;

/** Paths whose answers may hold a secret: their bodies are never quoted in an error. */
const SECRET_BEARING = /^\/api\/(setting|session\/properties)/;

export class MetabaseAdminClient {
  constructor(private readonly config: MetabaseAdminConfig) {}

  private async call<T>(method: 'GET' | 'POST' | 'PUT', path: string, body?: unknown, accept: number[] = [200]): Promise<{ status: number; body: T }> {
    const bare = path.split('?')[0];
    const call = `${method} ${bare}`;
    let response: Response;
    try {
      response = await fetch(`${this.config.url}${path}`, {
        method,
        headers: {
          'x-api-key': this.config.key,
          accept: 'application/json',
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.config.timeoutMs),
      });
    } catch (error) {
      const timedOut = (error as Error).name === 'TimeoutError';
      throw new MetabaseAdminError(
        timedOut ? `${call}: Metabase did not answer within ${this.config.timeoutMs} ms` : `${call}: Metabase is unreachable (${(error as Error).message})`,
        undefined,
        call,
      );
    }
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      parsed = text;
    }
    if (!accept.includes(response.status)) {
      throw new MetabaseAdminError(`${call} answered ${response.status}${SECRET_BEARING.test(bare) ? '' : describe(parsed)}`, response.status, call);
    }
    return { status: response.status, body: parsed as T };
  }

  private async get<T>(path: string): Promise<T> {
    return (await this.call<T>('GET', path)).body;
  }

  // ---- reads -------------------------------------------------------------------------------

  /** Every setting the key's user may read, env-set values included (the only endpoint that shows them). */
  sessionProperties(): Promise<SessionProperties> {
    return this.get('/api/session/properties');
  }

  /** The settings list, for `is_env_setting` (an env-set setting cannot be changed through the API). */
  settings(): Promise<SettingEntry[]> {
    return this.get('/api/setting');
  }

  groups(): Promise<PermissionsGroup[]> {
    return this.get('/api/permissions/group');
  }

  permissionsGraph(): Promise<PermissionsGraph> {
    return this.get('/api/permissions/graph');
  }

  /** Every sandbox. (`?group_id=&table_id=` filters only with both, and then answers one row: never used here.) */
  sandboxes(): Promise<SandboxRow[]> {
    return this.get('/api/mt/gtap');
  }

  async databases(): Promise<DatabaseSummary[]> {
    // {data, total} since about v45; a bare array before.
    const answer = await this.get<DatabaseSummary[] | { data: DatabaseSummary[] }>('/api/database');
    return Array.isArray(answer) ? answer : answer.data;
  }

  databaseMetadata(id: number): Promise<DatabaseMetadata> {
    return this.get(`/api/database/${id}/metadata?include_hidden=true`);
  }

  /** A dashboard or card by numeric id or 21-character entity id; null when there is none (404). */
  async item(type: ItemType, id: number | string): Promise<EmbeddableItem | null> {
    const { status, body } = await this.call<EmbeddableItem>('GET', itemPath(type, id), undefined, [200, 404]);
    return status === 404 ? null : body;
  }

  async tenants(): Promise<MetabaseTenant[]> {
    const answer = await this.get<{ data: MetabaseTenant[] } | MetabaseTenant[]>('/api/ee/tenant?status=all');
    return Array.isArray(answer) ? answer : answer.data;
  }

  // ---- writes ------------------------------------------------------------------------------

  /** A new regular group copies All Users' current data permissions; a tenant group starts least-permissive. */
  async createGroup(name: string, isTenantGroup = false): Promise<PermissionsGroup> {
    const body = isTenantGroup ? { name, is_tenant_group: true } : { name };
    return (await this.call<PermissionsGroup>('POST', '/api/permissions/group', body)).body;
  }

  /** PUT /api/setting/:key → 204. Never called with a secret by embedgate. */
  async putSetting(key: string, value: unknown): Promise<void> {
    await this.call('PUT', `/api/setting/${encodeURIComponent(key)}`, { value }, [200, 204]);
  }

  /** embedding_params replaces the whole map: pass every parameter's visibility, not only the changed one. */
  async updateEmbedding(
    type: ItemType,
    id: number,
    change: { enable_embedding: boolean; embedding_params: Record<string, EmbeddingVisibility> },
  ): Promise<EmbeddableItem> {
    return (await this.call<EmbeddableItem>('PUT', itemPath(type, id), change)).body;
  }

  async createTenant(tenant: { name: string; slug: string; attributes?: Record<string, string> }): Promise<MetabaseTenant> {
    return (await this.call<MetabaseTenant>('POST', '/api/ee/tenant', tenant)).body;
  }

  /**
   * POST /api/user → the user (users_rest/api.clj `invite-user`): 400 "Email address already in use."
   * (compared case-insensitively), 400 for a tenant_id while use-tenants is off.
   */
  async createUser(user: NewMetabaseAccount): Promise<MetabaseAccount> {
    return (await this.call<MetabaseAccount>('POST', '/api/user', user)).body;
  }

  /**
   * PUT /api/user/:id/reactivate → the user, is_superuser forced to false (users_rest/api.clj
   * `reactivate-user!`). 400 "Not able to reactivate an active user", 400 "Not able to reactivate a
   * user in a deactivated tenant"; 404 for no such user. It sends no email (only an audit event).
   */
  async reactivateUser(id: number): Promise<MetabaseAccount> {
    return (await this.call<MetabaseAccount>('PUT', `/api/user/${id}/reactivate`)).body;
  }

  /**
   * PUT /api/user/:id (users_rest/api.clj): active users only (404 otherwise). `user_group_memberships`
   * replaces the set (the magic group included), `login_attributes` replaces the map.
   */
  async updateUser(id: number, change: { user_group_memberships?: { id: number }[]; login_attributes?: Record<string, string> }): Promise<MetabaseAccount> {
    return (await this.call<MetabaseAccount>('PUT', `/api/user/${id}`, change)).body;
  }

  /** PUT /api/permissions/graph: send only the changed groups and databases, with the revision read. 409 when stale. */
  async updatePermissionsGraph(change: {
    revision: number;
    groups: Record<string, Record<string, DatabasePermissions>>;
    sandboxes?: { group_id: number; table_id: number; card_id: null; attribute_remappings: Record<string, unknown> }[];
  }): Promise<PermissionsGraph> {
    return (await this.call<PermissionsGraph>('PUT', '/api/permissions/graph', change)).body;
  }
}

/** Metabase's own words for a failure, short: a plain-text message, `{message}`, or a field's `{errors: {field: message}}` (api/checkp). */
function describe(body: unknown): string {
  const errors = body && typeof body === 'object' ? (body as { errors?: unknown }).errors : undefined;
  const fieldMessage = errors && typeof errors === 'object' ? Object.values(errors).find((v): v is string => typeof v === 'string') : undefined;
  const message =
    typeof body === 'string'
      ? body
      : body && typeof body === 'object' && typeof (body as { message?: unknown }).message === 'string'
        ? (body as { message: string }).message
        : (fieldMessage ?? '');
  return message ? `: ${message.slice(0, 200)}` : '';
}
