/**
 * Everything the check and the sync plan need from Metabase, read once into plain data. The two
 * secrets Metabase returns in plaintext are kept only as keyed fingerprints (HMAC-SHA256 under a key
 * that lives in this process alone), so a printed or stored snapshot cannot leak them or be brute-forced.
 */
import { createHmac, randomBytes } from 'node:crypto';
import type { ExpectedResource } from './expectations.js';
import {
  MetabaseAdminError,
  type DatabaseMetadata,
  type EmbeddableItem,
  type ItemType,
  type MetabaseAdminClient,
  type MetabaseTenant,
  type PermissionsGraph,
  type PermissionsGroup,
  type SandboxRow,
} from './metabase-admin.client.js';

const FINGERPRINT_KEY = randomBytes(32);

/** A secret's fingerprint, comparable only within this process; null for an unset secret. */
export function fingerprintSecret(value: string | null | undefined): string | null {
  if (value === null || value === undefined || value === '') return null;
  return createHmac('sha256', FINGERPRINT_KEY).update(value, 'utf8').digest('hex');
}

/** A secret as read: its fingerprint, unset, or absent from what the key may read. */
export type SecretReading = { fingerprint: string } | 'unset' | 'unreadable';

export interface SnapshotItem {
  type: ItemType;
  /** The id it was asked for by (numeric or entity id), as registered in embedgate. */
  ref: string;
  /** null: Metabase has no such item. */
  item: EmbeddableItem | null;
}

/** A part Metabase did not give: the check treats what depends on it as unproven. */
export interface UnreadPart {
  part: 'settings' | 'groups' | 'graph' | 'sandboxes' | 'databases' | 'items' | 'tenants';
  status?: number;
  message: string;
}

export interface MetabaseSnapshot {
  reachable: boolean;
  /** Why Metabase was not reachable (status 401/403: the key was refused). */
  failure?: { status?: number; message: string };
  /** `version.tag`, e.g. "v1.58.3". */
  version: string | null;
  tokenFeatures: Record<string, boolean>;
  /** Non-secret settings as /api/session/properties shows them (env-set values included). */
  settings: Record<string, unknown>;
  /** Settings set by environment variables (is_env_setting): the API cannot change them. */
  envSettings: string[];
  secrets: { embeddingSecretKey: SecretReading; jwtSharedSecret: SecretReading };
  groups: PermissionsGroup[] | null;
  graph: PermissionsGraph | null;
  sandboxes: SandboxRow[] | null;
  databases: DatabaseMetadata[] | null;
  items: SnapshotItem[];
  tenants: MetabaseTenant[] | null;
  unread: UnreadPart[];
}

/** What collectSnapshot reads beyond the instance-wide facts. */
export interface SnapshotWanted {
  resources: Pick<ExpectedResource, 'type' | 'metabaseId'>[];
  /** Read sandboxes (needs the `sandboxes` feature: 402 without it). Default: when the feature is on. */
  sandboxes?: boolean;
  /** Read Metabase tenants. Default: when use-tenants is on. */
  tenants?: boolean;
}

/** Settings read for the check and plan; the two secrets are taken out and fingerprinted. */
export const SNAPSHOT_SETTINGS = [
  'site-url',
  'enable-embedding',
  'enable-embedding-static',
  'jwt-enabled',
  'jwt-configured',
  'jwt-attribute-email',
  'jwt-attribute-firstname',
  'jwt-attribute-lastname',
  'jwt-attribute-groups',
  'jwt-attribute-tenant',
  'jwt-group-sync',
  'jwt-group-mappings',
  'jwt-user-provisioning-enabled?',
  'use-tenants',
  // :public, getter (boolean (email-smtp-host)) (src/metabase/channel/settings.clj): an account created without tenant_id is sent an invitation.
  'email-configured?',
] as const;

const emptySnapshot = (): MetabaseSnapshot => ({
  reachable: false,
  version: null,
  tokenFeatures: {},
  settings: {},
  envSettings: [],
  secrets: { embeddingSecretKey: 'unreadable', jwtSharedSecret: 'unreadable' },
  groups: null,
  graph: null,
  sandboxes: null,
  databases: null,
  items: [],
  tenants: null,
  unread: [],
});

function readSecret(properties: Record<string, unknown>, key: string): SecretReading {
  if (!(key in properties)) return 'unreadable';
  const value = properties[key];
  const fingerprint = typeof value === 'string' ? fingerprintSecret(value) : null;
  return fingerprint ? { fingerprint } : 'unset';
}

/** Reads Metabase once. Never throws for Metabase's answers: an unreachable instance or an unread part is recorded. */
export async function collectSnapshot(client: MetabaseAdminClient, wanted: SnapshotWanted): Promise<MetabaseSnapshot> {
  const snapshot = emptySnapshot();
  let properties: Record<string, unknown>;
  try {
    properties = await client.sessionProperties();
  } catch (error) {
    snapshot.failure = failureOf(error);
    return snapshot;
  }
  snapshot.reachable = true;
  snapshot.version = (properties.version as { tag?: string } | undefined)?.tag ?? null;
  snapshot.tokenFeatures = { ...((properties['token-features'] as Record<string, boolean> | undefined) ?? {}) };
  for (const key of SNAPSHOT_SETTINGS) if (key in properties) snapshot.settings[key] = properties[key];
  snapshot.secrets = {
    embeddingSecretKey: readSecret(properties, 'embedding-secret-key'),
    jwtSharedSecret: readSecret(properties, 'jwt-shared-secret'),
  };

  const part = async <T>(name: UnreadPart['part'], read: () => Promise<T>): Promise<T | null> => {
    try {
      return await read();
    } catch (error) {
      snapshot.unread.push({ part: name, ...failureOf(error) });
      return null;
    }
  };

  // /api/setting holds the secrets too: keep only which keys come from the environment.
  const settings = await part('settings', () => client.settings());
  snapshot.envSettings = (settings ?? []).filter((s) => s.is_env_setting).map((s) => s.key);
  snapshot.groups = await part('groups', () => client.groups());
  snapshot.graph = await part('graph', () => client.permissionsGraph());
  if (wanted.sandboxes ?? snapshot.tokenFeatures.sandboxes === true) snapshot.sandboxes = await part('sandboxes', () => client.sandboxes());
  else snapshot.sandboxes = [];
  snapshot.databases = await part('databases', async () => {
    const databases = await client.databases();
    const metadata: DatabaseMetadata[] = [];
    for (const database of databases) metadata.push(await client.databaseMetadata(database.id));
    return metadata;
  });
  for (const resource of wanted.resources) {
    // A failed read leaves the resource out of items (and in unread): the check says it is unproven, not missing.
    const failures = snapshot.unread.length;
    const item = await part('items', () => client.item(resource.type, resource.metabaseId));
    if (snapshot.unread.length === failures) snapshot.items.push({ type: resource.type, ref: resource.metabaseId, item });
  }
  if (wanted.tenants ?? snapshot.settings['use-tenants'] === true) snapshot.tenants = await part('tenants', () => client.tenants());
  return snapshot;
}

function failureOf(error: unknown): { status?: number; message: string } {
  if (error instanceof MetabaseAdminError) return error.status === undefined ? { message: error.message } : { status: error.status, message: error.message };
  return { message: (error as Error).message };
}
