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
  /** GET /api/user rows for admins (users_rest/api.clj hydrates :group_ids); undefined: not modelled for this user. */
  group_ids?: number[];
  /** The Metabase tenant of a tenant user; null or undefined for an internal user. */
  tenant_id?: number | null;
  login_attributes?: Record<string, string> | null;
}

/**
 * A local HTTP server that speaks the Metabase user API as Metabase does: `GET /api/user` paged
 * `{data, total, limit, offset}` with `status` and `query` filters, `DELETE /api/user/:id` →
 * `{success: true}`, `POST /api/user`, `PUT /api/user/:id` and `PUT /api/user/:id/reactivate`
 * (src/metabase/users_rest/api.clj), and 401 "Unauthenticated" for a wrong `x-api-key`. Its SSO
 * login verifies the JWT with Metabase's rules and provisions or reactivates the user, as
 * `/auth/sso` does, or refuses an unknown or deactivated user when JWT user provisioning is off.
 */
export class FakeMetabase {
  readonly users: FakeMetabaseUser[] = [];
  /**
   * The emails of users created by POST /api/user whom Metabase would have sent an invitation: created
   * without tenant_id while its email is configured (invite-user, notification/with-skip-sending-notification).
   */
  readonly invitations: string[] = [];
  /** Routes ("METHOD /path", no query) that answer this instead of doing their work: a Metabase that refuses or fails. */
  readonly refuse = new Map<string, { status: number; body: unknown }>();
  /** The admin API (settings, groups, permissions, sandboxes, items, tenants), with knobs to break it. */
  readonly admin: FakeMetabaseAdmin;
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
  ) {
    this.admin = new FakeMetabaseAdmin();
    // As a deployment would: the JWT secret from MB_JWT_SHARED_SECRET.
    this.admin.env.set('jwt-shared-secret', jwtSharedSecret);
  }

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

  /**
   * What `/auth/sso?jwt=` does: verify, then, with JWT provisioning on, create or reactivate the user.
   * With `jwt-user-provisioning-enabled?` false, an unknown or deactivated user is refused with 401
   * (sso_utils/check-user-provisioning): this throws with that status and message.
   */
  ssoLogin(jwtOrUrl: string): FakeMetabaseUser {
    const jwt = jwtOrUrl.startsWith('http') ? new URL(jwtOrUrl).searchParams.get('jwt')! : jwtOrUrl;
    const claims = verifySsoToken(jwt, this.jwtSharedSecret);
    const existing = this.byEmail(claims.email);
    if (this.admin.value('jwt-user-provisioning-enabled?') === false && !existing?.is_active) {
      throw new Error("401 Sorry, but you'll need a Metabase account to view this page. Please contact your administrator.");
    }
    if (existing) {
      existing.is_active = true;
      existing.last_login = new Date().toISOString();
      return existing;
    }
    return this.addUser(claims.email, { first_name: (claims.first_name as string) ?? null, last_login: new Date().toISOString() });
  }

  private send(res: ServerResponse, status: number, body: unknown) {
    if (status === 204) {
      res.writeHead(204);
      return res.end();
    }
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
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      if (this.delayMs) await new Promise((resolve) => setTimeout(resolve, this.delayMs));
      while (this.hung) await this.hung;
      // A client that gave up meanwhile never sees the answer; Metabase would still have acted on it.
      const text = Buffer.concat(chunks).toString('utf8');
      let body: unknown;
      try {
        body = text ? JSON.parse(text) : undefined;
      } catch {
        return this.send(res, 400, 'Invalid JSON');
      }
      this.answer(req, res, url, body);
    } finally {
      this.inFlight.set(key, this.inFlight.get(key)! - 1);
    }
  }

  private answer(req: IncomingMessage, res: ServerResponse, url: URL, body: unknown) {
    if (this.down) return this.send(res, 503, 'Service Unavailable');
    if (req.headers['x-api-key'] !== this.apiKey) return this.send(res, 401, 'Unauthenticated');
    const refused = this.refuse.get(`${req.method} ${url.pathname}`);
    if (refused) return this.send(res, refused.status, refused.body);
    const users = this.answerUsers(req.method ?? 'GET', url.pathname, (body ?? {}) as Record<string, unknown>);
    if (users) return this.send(res, users.status, users.body);
    const admin = this.admin.answer(req.method ?? 'GET', url, body);
    if (admin) return this.send(res, admin.status, admin.body);
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

  /** A user as fetch-user answers it, with user_group_memberships hydrated (`id` is the group's). */
  private shown(user: FakeMetabaseUser) {
    return { ...user, user_group_memberships: (user.group_ids ?? []).map((id) => ({ id })) };
  }

  /**
   * The memberships a superuser may give (users_rest/api.clj maybe-set-user-group-memberships!,
   * permissions set-permissions-groups!): the magic all-users group must stay (All tenant users for a
   * tenant user), and tenant users join only tenant groups. A 400 answer, or the group ids.
   */
  private memberships(given: unknown, tenantId: number | null): { status: number; body: unknown } | number[] {
    const magic = this.admin.groups.find((g) => g.magic_group_type === (tenantId === null ? 'all-internal-users' : 'all-external-users'))!;
    if (given === undefined || given === null) return [magic.id];
    const ids = (given as { id: number }[]).map((m) => Number(m.id));
    if (!ids.includes(magic.id)) return { status: 400, body: { message: `You cannot add or remove users to/from the '${magic.name}' group.` } };
    for (const id of ids) {
      const group = this.admin.groups.find((g) => g.id === id);
      if (!group) return { status: 404, body: 'Not found.' };
      if (group.is_tenant_group !== (tenantId !== null) && group.magic_group_type !== 'admin') {
        return { status: 400, body: { message: 'Cannot add non-tenant user to tenant-group or vice versa.' } };
      }
    }
    return [...new Set(ids)];
  }

  /** users/schema.clj LoginAttributes: keys must not start with `@`. A 400 answer, or null. */
  private badAttributes(attributes: unknown): { status: number; body: unknown } | null {
    if (attributes === undefined || attributes === null) return null;
    if (Object.keys(attributes as object).some((key) => key.startsWith('@'))) {
      return { status: 400, body: { errors: { login_attributes: 'login attribute keys must not start with `@`' } } };
    }
    return null;
  }

  /** POST /api/user, PUT /api/user/:id, PUT /api/user/:id/reactivate (src/metabase/users_rest/api.clj). */
  private answerUsers(method: string, path: string, b: Record<string, unknown>): { status: number; body: unknown } | undefined {
    if (method === 'POST' && path === '/api/user') {
      const email = String(b.email ?? '');
      // invite-user: api/checkp on the email, compared in lower case.
      if (this.byEmail(email)) return { status: 400, body: { errors: { email: 'Email address already in use.' } } };
      const tenantId = typeof b.tenant_id === 'number' ? b.tenant_id : null;
      if (tenantId !== null && this.admin.value('use-tenants') !== true) {
        return { status: 400, body: { errors: { tenant_id: 'Cannot create a Tenant User as Tenants are not enabled for this instance.' } } };
      }
      const bad = this.badAttributes(b.login_attributes);
      if (bad) return bad;
      const groups = this.memberships(b.user_group_memberships, tenantId);
      if (!Array.isArray(groups)) return groups;
      const admin = this.admin.groups.find((g) => g.magic_group_type === 'admin')!;
      const user = this.addUser(email, {
        first_name: (b.first_name as string) ?? null,
        last_name: (b.last_name as string) ?? null,
        group_ids: groups,
        tenant_id: tenantId,
        login_attributes: (b.login_attributes as Record<string, string>) ?? {},
        is_superuser: groups.includes(admin.id),
      });
      // notification/with-skip-sending-notification (boolean (:tenant_id body)); the invite needs email configured.
      if (tenantId === null && this.admin.value('email-configured?') === true) this.invitations.push(email);
      return { status: 200, body: this.shown(user) };
    }
    const reactivate = /^\/api\/user\/(\d+)\/reactivate$/.exec(path);
    if (method === 'PUT' && reactivate) {
      const user = this.users.find((u) => u.id === Number(reactivate[1]));
      if (!user) return { status: 404, body: 'Not found.' };
      if (user.is_active) return { status: 400, body: { message: 'Not able to reactivate an active user' } };
      const tenant = this.admin.tenants.find((t) => t.id === user.tenant_id);
      if (tenant && !tenant.is_active) return { status: 400, body: { message: 'Not able to reactivate a user in a deactivated tenant' } };
      user.is_active = true;
      user.is_superuser = false; // reactivate-user! forces it
      return { status: 200, body: user };
    }
    const update = /^\/api\/user\/(\d+)$/.exec(path);
    if (method === 'PUT' && update) {
      // Only active users (api/let-404 fetch-user … :is_active true).
      const user = this.users.find((u) => u.id === Number(update[1]) && u.is_active);
      if (!user) return { status: 404, body: 'Not found.' };
      const bad = this.badAttributes(b.login_attributes);
      if (bad) return bad;
      if ('user_group_memberships' in b && b.user_group_memberships !== null) {
        const groups = this.memberships(b.user_group_memberships, user.tenant_id ?? null);
        if (!Array.isArray(groups)) return groups;
        user.group_ids = groups;
        user.is_superuser = groups.includes(this.admin.groups.find((g) => g.magic_group_type === 'admin')!.id);
      }
      if ('login_attributes' in b) user.login_attributes = (b.login_attributes as Record<string, string>) ?? null; // replaces the map
      return { status: 200, body: this.shown(user) };
    }
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// The admin API, after the shapes in /work/shared/docs/metabase-admin-api.md (Metabase source paths
// cited per endpoint). Tests reach into the public fields to put Metabase in any state.

export interface FakeGroup {
  id: number;
  name: string;
  entity_id: string;
  magic_group_type: 'all-internal-users' | 'admin' | 'all-external-users' | null;
  is_tenant_group: boolean;
}

type Nested = string | Record<string, string | Record<string, string>>;
interface FakeDbPermissions {
  'view-data'?: Nested;
  'create-queries'?: Nested;
  [key: string]: unknown;
}

export interface FakeSandbox {
  id: number;
  group_id: number;
  table_id: number;
  card_id: number | null;
  attribute_remappings: Record<string, unknown> | null;
}

export interface FakeTable {
  id: number;
  name: string;
  schema: string | null;
  db_id: number;
  fields: { id: number; name: string; table_id: number }[];
}

export interface FakeDatabase {
  id: number;
  name: string;
  is_sample: boolean;
  tables: FakeTable[];
}

export interface FakeItem {
  id: number;
  entity_id: string;
  name: string;
  archived: boolean;
  enable_embedding: boolean;
  embedding_params: Record<string, string> | null;
  embedding_type: string | null;
  parameters: { id: string; name: string; slug: string; type: string }[];
}

export interface FakeTenant {
  id: number;
  name: string;
  slug: string;
  is_active: boolean;
  member_count: number;
  attributes: Record<string, string>;
  tenant_collection_id: number;
}

type Answer = { status: number; body: unknown } | undefined;

/** Defaults of the settings the fake knows (src/metabase/embedding/settings.clj, enterprise/.../sso/settings.clj, permissions/settings.clj). */
const SETTING_DEFAULTS: Record<string, unknown> = {
  'site-url': null,
  'enable-embedding': false,
  'enable-embedding-static': false,
  'embedding-secret-key': null,
  'jwt-enabled': false,
  'jwt-shared-secret': null,
  'jwt-identity-provider-uri': null,
  'jwt-attribute-email': 'email',
  'jwt-attribute-firstname': 'first_name',
  'jwt-attribute-lastname': 'last_name',
  'jwt-attribute-groups': 'groups',
  'jwt-attribute-tenant': '@tenant',
  'jwt-group-sync': false,
  'jwt-group-mappings': {},
  'jwt-user-provisioning-enabled?': true,
  'use-tenants': false,
  // src/metabase/channel/settings.clj: email-configured? is (boolean (email-smtp-host)).
  'email-smtp-host': null,
};

const envName = (key: string) => `MB_${key.replace(/\?$/, '').replace(/-/g, '_').toUpperCase()}`;
const paidFeature = (feature: string) => ({
  status: 402,
  // premium-features/ee-feature-error (enterprise/backend/src/metabase_enterprise/api/routes/common.clj)
  body: `${feature} is a paid feature not currently available to your instance. Please upgrade to use it. Learn more at metabase.com/upgrade/`,
});

export class FakeMetabaseAdmin {
  /** `version.tag` in /api/session/properties (config/mb-version-info). */
  version = 'v1.58.3';
  /** src/metabase/premium-features/settings.clj `-token-features`. */
  tokenFeatures: Record<string, boolean> = { sso_jwt: true, sandboxes: true, tenants: true, advanced_permissions: true, embedding: true };
  /** Settings stored in Metabase's database (what PUT /api/setting/:key writes). */
  readonly stored = new Map<string, unknown>();
  /** Settings set by environment variables: read only through /api/session/properties, not changeable. */
  readonly env = new Map<string, unknown>();
  readonly groups: FakeGroup[] = [
    { id: 1, name: 'All Users', entity_id: 'allusers0000000000001', magic_group_type: 'all-internal-users', is_tenant_group: false },
    { id: 2, name: 'Administrators', entity_id: 'administrators0000002', magic_group_type: 'admin', is_tenant_group: false },
    { id: 3, name: 'All tenant users', entity_id: 'alltenantusers0000003', magic_group_type: 'all-external-users', is_tenant_group: true },
  ];
  /** Stored data permissions by group id then database id, in the API's nesting; absent = blocked / no. */
  readonly permissions = new Map<number, Map<number, FakeDbPermissions>>();
  revision = 1;
  readonly sandboxes: FakeSandbox[] = [];
  readonly databases: FakeDatabase[] = [];
  readonly dashboards: FakeItem[] = [];
  readonly cards: FakeItem[] = [];
  readonly tenants: FakeTenant[] = [];
  private nextId = 100;

  id(): number {
    return this.nextId++;
  }

  /** The effective value of a setting: environment, then database, then default. */
  value(key: string): unknown {
    if (key === 'jwt-configured') return Boolean(this.value('jwt-shared-secret'));
    if (key === 'email-configured?') return Boolean(this.value('email-smtp-host'));
    // The getter of jwt-enabled is false unless jwt-configured (enterprise/.../sso/settings.clj).
    if (key === 'jwt-enabled') return Boolean(this.value('jwt-configured')) && this.raw(key) === true;
    return this.raw(key);
  }

  private raw(key: string): unknown {
    if (this.env.has(key)) return this.env.get(key);
    if (this.stored.has(key)) return this.stored.get(key);
    return SETTING_DEFAULTS[key] ?? null;
  }

  addGroup(name: string, options: Partial<FakeGroup> = {}): FakeGroup {
    const group: FakeGroup = {
      id: this.id(),
      name,
      entity_id: `group${String(this.nextId).padStart(16, '0')}`,
      magic_group_type: null,
      is_tenant_group: false,
      ...options,
    };
    this.groups.push(group);
    return group;
  }

  groupNamed(name: string): FakeGroup {
    return this.groups.find((g) => g.name.toLowerCase() === name.toLowerCase())!;
  }

  /** A database with tables, each table `{name, schema?, fields}`; ids are assigned. */
  addDatabase(name: string, tables: { name: string; schema?: string | null; fields: string[] }[]): FakeDatabase {
    const database: FakeDatabase = { id: this.id(), name, is_sample: false, tables: [] };
    for (const table of tables) {
      const id = this.id();
      database.tables.push({
        id,
        name: table.name,
        schema: table.schema === undefined ? 'PUBLIC' : table.schema,
        db_id: database.id,
        fields: table.fields.map((field) => ({ id: this.id(), name: field, table_id: id })),
      });
    }
    this.databases.push(database);
    return database;
  }

  table(name: string): FakeTable {
    return this.databases.flatMap((d) => d.tables).find((t) => t.name === name)!;
  }

  /** Sets a group's stored permission on a database, or on one table of it. */
  setPermission(groupId: number, databaseId: number, perm: 'view-data' | 'create-queries', value: string, table?: FakeTable): void {
    const byDb = this.permissions.get(groupId) ?? new Map<number, FakeDbPermissions>();
    this.permissions.set(groupId, byDb);
    const entry = byDb.get(databaseId) ?? {};
    byDb.set(databaseId, entry);
    if (!table) {
      entry[perm] = value;
      return;
    }
    const database = this.databases.find((d) => d.id === databaseId)!;
    entry[perm] = this.spell(entry[perm], database, perm === 'view-data' ? 'blocked' : 'no');
    (entry[perm] as Record<string, Record<string, string>>)[table.schema ?? ''][String(table.id)] = value;
  }

  addSandbox(groupId: number, table: FakeTable, remappings: Record<string, unknown> | null, cardId: number | null = null): FakeSandbox {
    const sandbox = { id: this.id(), group_id: groupId, table_id: table.id, card_id: cardId, attribute_remappings: remappings };
    this.sandboxes.push(sandbox);
    return sandbox;
  }

  addItem(type: 'dashboard' | 'question', name: string, options: Partial<FakeItem> = {}): FakeItem {
    const id = this.id();
    const item: FakeItem = {
      id,
      entity_id: `${type === 'dashboard' ? 'dash' : 'card'}${String(id).padStart(17, '0')}`,
      name,
      archived: false,
      enable_embedding: false,
      embedding_params: null,
      embedding_type: null,
      parameters: [],
      ...options,
    };
    (type === 'dashboard' ? this.dashboards : this.cards).push(item);
    return item;
  }

  private spell(nested: Nested | undefined, database: FakeDatabase, least: string): Record<string, Record<string, string>> {
    const out: Record<string, Record<string, string>> = {};
    for (const table of database.tables) {
      const schema = table.schema ?? '';
      let value = least;
      if (typeof nested === 'string') value = nested;
      else if (nested && typeof nested[schema] === 'string') value = nested[schema] as string;
      else if (nested && nested[schema]) value = (nested[schema] as Record<string, string>)[String(table.id)] ?? least;
      (out[schema] ??= {})[String(table.id)] = value;
    }
    return out;
  }

  /**
   * The graph as GET /api/permissions/graph shows it (permissions_rest/data_permissions/graph.clj):
   * the least-permissive values dropped (an absent key means blocked / no), Administrators injected,
   * and "sandboxed" written over every table with a sandbox row, whatever is stored
   * (sandbox/models/sandbox.clj add-sandboxes-to-permissions-graph).
   */
  graph(): { revision: number; groups: Record<string, Record<string, FakeDbPermissions>> } {
    const groups: Record<string, Record<string, FakeDbPermissions>> = {};
    const admin = this.groups.find((g) => g.magic_group_type === 'admin')!;
    for (const group of this.groups) {
      const byDb: Record<string, FakeDbPermissions> = {};
      for (const database of this.databases) {
        if (group.id === admin.id) {
          byDb[database.id] = {
            'view-data': 'unrestricted',
            'create-queries': 'query-builder-and-native',
            download: { schemas: 'full' },
            'data-model': { schemas: 'all' },
            details: 'yes',
          };
          continue;
        }
        const entry: FakeDbPermissions = structuredClone(this.permissions.get(group.id)?.get(database.id) ?? {});
        // Spelled out table by table first, so that a uniform schema collapses only when all its tables agree.
        if (typeof entry['view-data'] === 'object') entry['view-data'] = this.spell(entry['view-data'], database, 'blocked');
        if (typeof entry['create-queries'] === 'object') entry['create-queries'] = this.spell(entry['create-queries'], database, 'no');
        const rows = this.sandboxes.filter((s) => s.group_id === group.id && database.tables.some((t) => t.id === s.table_id));
        if (rows.length > 0) {
          entry['view-data'] = this.spell(entry['view-data'], database, 'blocked');
          for (const row of rows) {
            const table = database.tables.find((t) => t.id === row.table_id)!;
            (entry['view-data'] as Record<string, Record<string, string>>)[table.schema ?? ''][String(table.id)] = 'sandboxed';
          }
        }
        const viewData = omit(entry['view-data'], 'blocked');
        const createQueries = omit(entry['create-queries'], 'no');
        if (viewData === undefined) delete entry['view-data'];
        else entry['view-data'] = viewData;
        if (createQueries === undefined) delete entry['create-queries'];
        else entry['create-queries'] = createQueries;
        if (Object.keys(entry).length > 0) byDb[database.id] = entry;
      }
      if (Object.keys(byDb).length > 0) groups[group.id] = byDb;
    }
    return { revision: this.revision, groups };
  }

  private visibleGroups() {
    const tenantsOn = this.value('use-tenants') === true;
    return this.groups
      .filter((g) => tenantsOn || (!g.is_tenant_group && g.magic_group_type !== 'all-external-users'))
      .map((g) => ({ ...g, name: tenantsOn && g.magic_group_type === 'all-internal-users' ? 'All internal users' : g.name, member_count: 0 }))
      .sort((a, b) => a.name.toLowerCase().localeCompare(b.name.toLowerCase()));
  }

  private item(kind: 'dashboard' | 'card', ref: string): FakeItem | undefined {
    const items = kind === 'dashboard' ? this.dashboards : this.cards;
    return items.find((i) => String(i.id) === ref || i.entity_id === ref);
  }

  answer(method: string, url: URL, body: unknown): Answer {
    const path = url.pathname;
    const b = (body ?? {}) as Record<string, unknown>;
    const route = `${method} ${path}`;

    // src/metabase/session/api.clj: every readable setting, env-set values included; version, token features.
    if (route === 'GET /api/session/properties') {
      const properties: Record<string, unknown> = {
        version: { tag: this.version, hash: 'fake', branch: 'fake', date: '2026-01-01' },
        'token-features': this.tokenFeatures,
      };
      for (const key of [...Object.keys(SETTING_DEFAULTS), 'jwt-configured', 'email-configured?']) properties[key] = this.value(key);
      return { status: 200, body: properties };
    }
    // src/metabase/settings_rest/api.clj: a value set by env reads as null, with is_env_setting.
    if (route === 'GET /api/setting') {
      return {
        status: 200,
        body: Object.keys(SETTING_DEFAULTS).map((key) => ({
          key,
          value: this.env.has(key) ? null : (this.stored.get(key) ?? null),
          is_env_setting: this.env.has(key),
          env_name: envName(key),
          default: SETTING_DEFAULTS[key],
        })),
      };
    }
    const setting = /^\/api\/setting\/(.+)$/.exec(path);
    if (setting && method === 'GET') {
      const key = decodeURIComponent(setting[1]);
      return { status: 200, body: this.env.has(key) ? null : (this.stored.get(key) ?? null) };
    }
    if (setting && method === 'PUT') {
      const key = decodeURIComponent(setting[1]);
      // The status Metabase gives for an env-set setting is UNCONFIRMED; its message says why.
      if (this.env.has(key)) return { status: 500, body: { message: `You cannot set ${key}; it is a read-only setting.` } };
      if (key === 'use-tenants' && !this.tokenFeatures.tenants) return paidFeature('Tenants');
      if (key === 'jwt-group-sync' || key === 'jwt-enabled') {
        if (!this.tokenFeatures.sso_jwt) return paidFeature('JWT authentication');
      }
      // make-embedding-toggle-setter (src/metabase/embedding/settings.clj): a blank secret key is generated.
      if (key === 'enable-embedding-static' && b.value === true && !this.value('embedding-secret-key')) {
        this.stored.set('embedding-secret-key', [...Array(64)].map(() => '0123456789abcdef'[Math.floor(Math.random() * 16)]).join(''));
      }
      if (b.value === null) this.stored.delete(key);
      else this.stored.set(key, b.value);
      return { status: 204, body: null };
    }

    // src/metabase/permissions_rest/api.clj
    if (route === 'GET /api/permissions/group') return { status: 200, body: this.visibleGroups() };
    if (route === 'POST /api/permissions/group') {
      const name = String(b.name ?? '');
      if (this.groups.some((g) => g.name.toLowerCase() === name.toLowerCase()))
        return { status: 400, body: { errors: { name: 'A group with that name already exists.' } } };
      if (b.is_tenant_group === true && !this.tokenFeatures.tenants) return paidFeature('Tenants');
      const group = this.addGroup(name, { is_tenant_group: b.is_tenant_group === true });
      // A new regular group copies All Users' data permissions; a tenant group starts least-permissive.
      if (!group.is_tenant_group) {
        const allUsers = this.groups.find((g) => g.magic_group_type === 'all-internal-users')!;
        const copy = structuredClone(this.permissions.get(allUsers.id) ?? new Map());
        this.permissions.set(group.id, copy);
      }
      return {
        status: 200,
        body: { id: group.id, name: group.name, entity_id: group.entity_id, magic_group_type: null, is_tenant_group: group.is_tenant_group },
      };
    }
    if (route === 'GET /api/permissions/graph') return { status: 200, body: this.graph() };
    if (route === 'PUT /api/permissions/graph') return this.putGraph(b);

    // enterprise/backend/src/metabase_enterprise/sandbox/api/gtap.clj: still under /api/mt/gtap.
    if (path.startsWith('/api/mt/gtap')) {
      if (!this.tokenFeatures.sandboxes) return paidFeature('Sandboxes');
      if (route === 'GET /api/mt/gtap') {
        const groupId = url.searchParams.get('group_id');
        const tableId = url.searchParams.get('table_id');
        // The filter applies only with both parameters, and then answers one row or null.
        if (groupId && tableId)
          return { status: 200, body: this.sandboxes.find((s) => s.group_id === Number(groupId) && s.table_id === Number(tableId)) ?? null };
        return { status: 200, body: [...this.sandboxes].sort((x, y) => x.id - y.id) };
      }
      if (route === 'POST /api/mt/gtap') {
        // Trap 3: no view-data change here (only the group's native access drops).
        const row = {
          id: this.id(),
          group_id: Number(b.group_id),
          table_id: Number(b.table_id),
          card_id: (b.card_id as number) ?? null,
          attribute_remappings: (b.attribute_remappings as Record<string, unknown>) ?? null,
        };
        this.sandboxes.push(row);
        return { status: 200, body: row };
      }
    }

    // src/metabase/warehouses_rest/api.clj (older src/metabase/api/database.clj)
    if (route === 'GET /api/database') return { status: 200, body: { data: this.databases.map(({ tables: _, ...d }) => d), total: this.databases.length } };
    const metadata = /^\/api\/database\/(\d+)\/metadata$/.exec(path);
    if (metadata && method === 'GET') {
      const database = this.databases.find((d) => d.id === Number(metadata[1]));
      return database ? { status: 200, body: database } : { status: 404, body: 'Not found.' };
    }

    // src/metabase/dashboards_rest/api.clj, src/metabase/queries_rest/api/card.clj: archived items are returned, not 404.
    const item = /^\/api\/(dashboard|card)\/([A-Za-z0-9_-]+)$/.exec(path);
    if (item && (method === 'GET' || method === 'PUT')) {
      const found = this.item(item[1] as 'dashboard' | 'card', item[2]);
      if (!found) return { status: 404, body: 'Not found.' };
      if (method === 'GET') return { status: 200, body: found };
      const touchesEmbedding = ['enable_embedding', 'embedding_params', 'embedding_type'].some((k) => k in b);
      // src/metabase/embedding/validation.clj: embedding fields change only while static embedding is on.
      if (touchesEmbedding && this.value('enable-embedding-static') !== true) return { status: 400, body: 'Embedding is not enabled.' };
      if ('embedding_params' in b && b.embedding_params !== null) {
        const params = b.embedding_params as Record<string, unknown>;
        if (typeof params !== 'object' || Object.values(params).some((v) => !['disabled', 'enabled', 'locked'].includes(String(v)))) {
          return { status: 400, body: { errors: { embedding_params: 'value must be a valid embedding params map.' } } };
        }
        found.embedding_params = params as Record<string, string>; // replaces the whole map
      }
      if (typeof b.enable_embedding === 'boolean') found.enable_embedding = b.enable_embedding;
      return { status: 200, body: found };
    }

    // enterprise/backend/src/metabase_enterprise/tenants/api.clj
    if (path === '/api/ee/tenant') {
      if (!this.tokenFeatures.tenants) return paidFeature('Tenants');
      if (method === 'GET') return { status: 200, body: { data: this.tenants } };
      if (method === 'POST') {
        const slug = String(b.slug ?? '');
        if (!/^[-_a-z0-9]{1,255}$/.test(slug)) return { status: 400, body: { message: 'Invalid Tenant', errors: { slug: 'invalid slug' } } };
        if (this.tenants.some((t) => t.slug === slug || t.name === b.name))
          return { status: 400, body: { message: 'This tenant name or slug is already taken.' } };
        const tenant: FakeTenant = {
          id: this.id(),
          name: String(b.name),
          slug,
          is_active: true,
          member_count: 0,
          attributes: (b.attributes as Record<string, string>) ?? {},
          tenant_collection_id: this.id(),
        };
        this.tenants.push(tenant);
        return { status: 200, body: tenant };
      }
    }
    return undefined;
  }

  /**
   * PUT /api/permissions/graph (permissions_rest/api.clj): 409 on a stale revision; "sandboxed" is stored
   * as unrestricted (api-val->db-val), so without a sandbox in the body or already there the table is
   * fully readable; a sandboxed table set to another value loses its sandbox.
   */
  private putGraph(b: Record<string, unknown>): Answer {
    if (b.revision !== this.revision) {
      return { status: 409, body: 'Looks like someone else edited the permissions and your data is out of date. Please fetch new data and try again.' };
    }
    if (Array.isArray(b.sandboxes) && b.sandboxes.length > 0 && !this.tokenFeatures.sandboxes) return paidFeature('Sandboxes');
    for (const [groupId, byDb] of Object.entries((b.groups ?? {}) as Record<string, Record<string, FakeDbPermissions>>)) {
      for (const [databaseId, entry] of Object.entries(byDb)) {
        const database = this.databases.find((d) => d.id === Number(databaseId));
        if (!database) continue;
        const stored = structuredClone(entry);
        const viewData = this.spell(entry['view-data'], database, 'blocked');
        for (const table of database.tables) {
          const value = viewData[table.schema ?? ''][String(table.id)];
          if (value !== 'sandboxed') {
            const index = this.sandboxes.findIndex((s) => s.group_id === Number(groupId) && s.table_id === table.id);
            if (index >= 0) this.sandboxes.splice(index, 1);
          }
        }
        stored['view-data'] = replaceValue(entry['view-data'], 'sandboxed', 'unrestricted');
        const byGroup = this.permissions.get(Number(groupId)) ?? new Map<number, FakeDbPermissions>();
        byGroup.set(database.id, stored);
        this.permissions.set(Number(groupId), byGroup);
      }
    }
    for (const sandbox of (b.sandboxes ?? []) as FakeSandbox[]) {
      if (!this.sandboxes.some((s) => s.group_id === sandbox.group_id && s.table_id === sandbox.table_id)) {
        this.sandboxes.push({
          id: this.id(),
          group_id: sandbox.group_id,
          table_id: sandbox.table_id,
          card_id: sandbox.card_id ?? null,
          attribute_remappings: sandbox.attribute_remappings ?? null,
        });
      }
    }
    this.revision++;
    return { status: 200, body: this.graph() };
  }
}

/** Drops a least-permissive value at every level, and a level left empty (collapse-uniform-view-data). */
function omit(nested: Nested | undefined, least: string): Nested | undefined {
  if (nested === undefined || nested === least) return undefined;
  if (typeof nested === 'string') return nested;
  const out: Record<string, string | Record<string, string>> = {};
  for (const [schema, value] of Object.entries(nested)) {
    if (typeof value === 'string') {
      if (value !== least) out[schema] = value;
      continue;
    }
    const tables = Object.fromEntries(Object.entries(value).filter(([, v]) => v !== least));
    const values = new Set(Object.values(value));
    if (values.size === 1 && !values.has(least) && !values.has('sandboxed') && Object.keys(tables).length === Object.keys(value).length)
      out[schema] = [...values][0];
    else if (Object.keys(tables).length > 0) out[schema] = tables;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

function replaceValue(nested: Nested | undefined, from: string, to: string): Nested | undefined {
  if (nested === undefined || typeof nested === 'string') return nested === from ? to : nested;
  const out: Record<string, string | Record<string, string>> = {};
  for (const [schema, value] of Object.entries(nested)) {
    out[schema] =
      typeof value === 'string' ? (value === from ? to : value) : Object.fromEntries(Object.entries(value).map(([t, v]) => [t, v === from ? to : v]));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// The same clean instance as plain data, for unit tests of the check and the sync plan: one database
// (Warehouse #1: ORDERS #101, INVOICES #102, both with customer_id), Customers sandboxed on both on
// customer_id, All Users and Analysts blocked (absent from the graph), Internal analysts unrestricted.

export const FIXTURE_SECRETS = { embeddingSecretKey: 'e'.repeat(64), jwtSharedSecret: 'jwt-shared-secret-0123456789-abcdefghij' };

export function cleanSnapshotFixture(fingerprint: (secret: string) => string | null) {
  return {
    reachable: true,
    version: 'v1.58.3',
    tokenFeatures: { sso_jwt: true, sandboxes: true, tenants: true, advanced_permissions: true } as Record<string, boolean>,
    settings: {
      'enable-embedding-static': true,
      'jwt-enabled': true,
      'jwt-configured': true,
      'jwt-attribute-email': 'email',
      'jwt-attribute-firstname': 'first_name',
      'jwt-attribute-lastname': 'last_name',
      'jwt-attribute-groups': 'groups',
      'jwt-attribute-tenant': '@tenant',
      'jwt-group-sync': true,
      'jwt-group-mappings': { Customers: [10], Analysts: [11], 'Internal analysts': [12] },
      'jwt-user-provisioning-enabled?': true,
      'use-tenants': false,
    } as Record<string, unknown>,
    envSettings: [] as string[],
    secrets: {
      embeddingSecretKey: { fingerprint: fingerprint(FIXTURE_SECRETS.embeddingSecretKey)! } as { fingerprint: string } | 'unset' | 'unreadable',
      jwtSharedSecret: { fingerprint: fingerprint(FIXTURE_SECRETS.jwtSharedSecret)! } as { fingerprint: string } | 'unset' | 'unreadable',
    },
    groups: [
      { id: 2, name: 'Administrators', magic_group_type: 'admin', is_tenant_group: false },
      { id: 1, name: 'All Users', magic_group_type: 'all-internal-users', is_tenant_group: false },
      { id: 11, name: 'Analysts', magic_group_type: null, is_tenant_group: false },
      { id: 10, name: 'Customers', magic_group_type: null, is_tenant_group: false },
      { id: 12, name: 'Internal analysts', magic_group_type: null, is_tenant_group: false },
    ] as { id: number; name: string; magic_group_type: string | null; is_tenant_group: boolean }[],
    graph: {
      revision: 7,
      groups: {
        '2': { '1': { 'view-data': 'unrestricted', 'create-queries': 'query-builder-and-native' } },
        '10': {
          '1': {
            'view-data': { PUBLIC: { '101': 'sandboxed', '102': 'sandboxed' } },
            'create-queries': { PUBLIC: { '101': 'query-builder', '102': 'query-builder' } },
          },
        },
        '12': { '1': { 'view-data': 'unrestricted', 'create-queries': 'query-builder-and-native' } },
      } as Record<string, Record<string, Record<string, unknown>>>,
    },
    sandboxes: [
      { id: 7, group_id: 10, table_id: 101, card_id: null, attribute_remappings: { customer_id: ['dimension', ['field', 1001, null]] } },
      { id: 8, group_id: 10, table_id: 102, card_id: null, attribute_remappings: { customer_id: ['dimension', ['field', 1011, null]] } },
    ] as { id: number; group_id: number; table_id: number; card_id: number | null; attribute_remappings: Record<string, unknown> | null }[],
    databases: [
      {
        id: 1,
        name: 'Warehouse',
        tables: [
          {
            id: 101,
            name: 'ORDERS',
            schema: 'PUBLIC',
            fields: [
              { id: 1001, name: 'customer_id' },
              { id: 1002, name: 'total' },
            ],
          },
          {
            id: 102,
            name: 'INVOICES',
            schema: 'PUBLIC',
            fields: [
              { id: 1011, name: 'customer_id' },
              { id: 1012, name: 'amount' },
            ],
          },
        ] as { id: number; name: string; schema: string | null; fields: { id: number; name: string }[] }[],
      },
    ],
    items: [
      {
        type: 'dashboard' as const,
        ref: '1',
        item: {
          id: 1,
          name: 'Sales overview',
          archived: false,
          enable_embedding: true,
          embedding_params: { customer_id: 'locked', region: 'enabled' } as Record<string, 'disabled' | 'enabled' | 'locked'> | null,
          parameters: [
            { id: 'p1', slug: 'customer_id' },
            { id: 'p2', slug: 'region' },
          ] as { id: string; slug: string }[] | undefined,
        } as {
          id: number;
          name: string;
          archived: boolean;
          enable_embedding: boolean;
          embedding_params: Record<string, 'disabled' | 'enabled' | 'locked'> | null;
          parameters?: { id: string; slug: string }[];
        } | null,
      },
    ],
    tenants: null as { id: number; name: string; slug: string; is_active: boolean }[] | null,
    unread: [] as { part: 'settings' | 'groups' | 'graph' | 'sandboxes' | 'databases' | 'items' | 'tenants'; status?: number; message: string }[],
  };
}

/** The embedgate side of the fixture: acme (external drill), globex (external view), staff (internal drill). */
export const FIXTURE_EXPECTATION_INPUTS = {
  secrets: FIXTURE_SECRETS,
  resources: [{ key: 'sales-overview', type: 'dashboard' as const, metabaseId: '1', tenantParam: 'customer_id' }],
  tenants: [
    { slug: 'acme', name: 'Acme', kind: 'external' as const, tier: 'drill' as const, groups: null },
    { slug: 'globex', name: 'Globex', kind: 'external' as const, tier: 'view' as const, groups: null },
    { slug: 'staff', name: 'Staff', kind: 'internal' as const, tier: 'drill' as const, groups: null },
  ],
  groups: { internal: ['Internal analysts'], external: ['Customers'], byRole: { analyst: ['Analysts'] } as Partial<Record<'viewer' | 'analyst', string[]>> },
  metabaseTenants: false,
  userProvisioning: 'metabase' as 'metabase' | 'embedgate',
};

/**
 * A Metabase as an operator leaves it before embedgate's sync: the embedding secret from the
 * environment, JWT sign-in on, everything else at its defaults, All Users reading a whole warehouse,
 * and a dashboard whose customer filter is not locked.
 */
export function presetBeforeSync(admin: FakeMetabaseAdmin, embeddingSecretKey: string): { warehouse: FakeDatabase; dashboard: FakeItem } {
  admin.env.set('embedding-secret-key', embeddingSecretKey);
  admin.stored.set('jwt-enabled', true);
  const warehouse = admin.addDatabase('Warehouse', [
    { name: 'ORDERS', fields: ['id', 'customer_id', 'total'] },
    { name: 'INVOICES', fields: ['id', 'customer_id', 'amount'] },
  ]);
  admin.setPermission(1, warehouse.id, 'view-data', 'unrestricted');
  admin.setPermission(1, warehouse.id, 'create-queries', 'query-builder');
  const dashboard = admin.addItem('dashboard', 'Sales overview', {
    id: 1,
    parameters: [
      { id: 'p1', name: 'Customer', slug: 'customer_id', type: 'id' },
      { id: 'p2', name: 'Region', slug: 'region', type: 'category' },
    ],
    embedding_params: { region: 'enabled' },
  });
  return { warehouse, dashboard };
}
