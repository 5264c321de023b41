import { createHash } from 'node:crypto';
import { AppsModule } from '../../src/apps/apps.module.js';
import { AppsService } from '../../src/apps/apps.service.js';
import { ApiKeysService } from '../../src/auth/api-keys.service.js';
import { AuthModule } from '../../src/auth/auth.module.js';
import { ApiError } from '../../src/common/api-error.js';
import { createIntegrationContext, type IntegrationContext } from './integration-context.js';

let ctx: IntegrationContext;
let keys: ApiKeysService;
let apps: AppsService;

beforeAll(async () => {
  ctx = await createIntegrationContext([AuthModule, AppsModule]);
  keys = ctx.app.get(ApiKeysService);
  apps = ctx.app.get(AppsService);
});

afterAll(async () => {
  await ctx?.close();
});

const idOf = (apiKey: string) => apiKey.split('_')[1];
type AuditRow = { type: string; actor: string; data: Record<string, unknown> };
const auditOfKey = (id: string) => ctx.db.query<AuditRow>("SELECT type, actor, data FROM audit_events WHERE data->>'id' = $1 ORDER BY id", [id]);

async function expectApiError(promise: Promise<unknown>, status: number, code: string): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ApiError);
  expect(error).toMatchObject({ status, code });
}

describe('ApiKeysService.issue', () => {
  it('creates a key shown once, stores only the SHA-256 of its secret, audits it, and the key authenticates', async () => {
    const created = await keys.issue({ role: 'finance', name: 'books' }, 'cli');
    expect(created.apiKey).toMatch(/^egk_[a-z2-7]{16}_[A-Za-z0-9_-]{43}$/);
    expect(idOf(created.apiKey)).toBe(created.id);
    const secret = created.apiKey.slice(`egk_${created.id}_`.length);
    const [row] = await ctx.db.query<{ role: string; name: string; app_id: string | null; secret_hash: Buffer }>(
      'SELECT role::text, name, app_id, secret_hash FROM api_keys WHERE id = $1',
      [created.id],
    );
    expect(row).toMatchObject({ role: 'finance', name: 'books', app_id: null });
    expect(row.secret_hash.equals(createHash('sha256').update(secret, 'utf8').digest())).toBe(true);
    expect(await auditOfKey(created.id)).toEqual([{ type: 'key.created', actor: 'cli', data: { id: created.id, role: 'finance', name: 'books' } }]);
    expect(await keys.authenticate(created.apiKey)).toEqual({ keyId: created.id, role: 'finance', name: 'books', appId: null, allTenants: false });
  });
});

describe('ApiKeysService.authenticate', () => {
  it('refuses a malformed key, an unknown id and a wrong secret', async () => {
    const { apiKey, id } = await keys.issue({ role: 'admin', name: 'auth' }, 'cli');
    expect(await keys.authenticate('not-a-key')).toBeNull();
    expect(await keys.authenticate(apiKey.replace(id, 'a'.repeat(16)))).toBeNull();
    const last = apiKey.at(-1) === 'A' ? 'B' : 'A';
    expect(await keys.authenticate(apiKey.slice(0, -1) + last)).toBeNull();
    expect(await keys.authenticate(apiKey)).toMatchObject({ keyId: id, role: 'admin' });
  });
});

describe('ApiKeysService.rotateKey', () => {
  it('issues a new key with the same role and name; the old one keeps working for the overlap', async () => {
    const old = await keys.issue({ role: 'admin', name: 'rotated' }, 'cli');
    await keys.authenticate(old.apiKey); // cached now: the rotation must not be hidden behind it
    const before = Date.now();
    const rotated = await keys.rotateKey(old.id, 600, 'key:rotator');
    expect(rotated.id).not.toBe(old.id);
    const expiresAt = Date.parse(rotated.previousKeyExpiresAt);
    expect(expiresAt).toBeGreaterThanOrEqual(before + 600_000);
    expect(expiresAt).toBeLessThanOrEqual(Date.now() + 600_000);
    expect(await keys.authenticate(rotated.apiKey)).toMatchObject({ keyId: rotated.id, role: 'admin', name: 'rotated' });
    expect(await keys.authenticate(old.apiKey)).toMatchObject({ keyId: old.id });
    const [row] = await ctx.db.query<{ expires_at: Date }>('SELECT expires_at FROM api_keys WHERE id = $1', [old.id]);
    expect(row.expires_at.toISOString()).toBe(rotated.previousKeyExpiresAt);
    expect((await auditOfKey(old.id)).at(-1)).toEqual({
      type: 'key.rotated',
      actor: 'key:rotator',
      data: { id: old.id, newId: rotated.id, previousKeyExpiresAt: rotated.previousKeyExpiresAt },
    });
  });

  it('with no overlap the old key stops at once', async () => {
    const old = await keys.issue({ role: 'finance', name: 'no overlap' }, 'cli');
    await keys.authenticate(old.apiKey);
    const rotated = await keys.rotateKey(old.id, 0, 'key:rotator');
    expect(await keys.authenticate(old.apiKey)).toBeNull();
    expect(await keys.authenticate(rotated.apiKey)).toMatchObject({ role: 'finance' });
  });

  it('keeps an app key’s app: the new key acts for the same tenants', async () => {
    const app = await apps.create({ name: 'rotating app', tenants: '*' }, 'key:admin');
    const rotated = await keys.rotateKey(app.keyId, 60, 'key:admin');
    expect(await keys.authenticate(rotated.apiKey)).toEqual({ keyId: rotated.id, role: 'app', name: 'rotating app', appId: app.id, allTenants: true });
  });

  it('404 key_not_found for an unknown, revoked or expired key, with nothing changed', async () => {
    await expectApiError(keys.rotateKey('b'.repeat(16), 60, 'key:admin'), 404, 'key_not_found');
    const revoked = await keys.issue({ role: 'admin', name: 'revoked' }, 'cli');
    await keys.revokeKey(revoked.id, 'key:admin');
    await expectApiError(keys.rotateKey(revoked.id, 60, 'key:admin'), 404, 'key_not_found');
    const expired = await keys.issue({ role: 'admin', name: 'expired' }, 'cli');
    await keys.rotateKey(expired.id, 0, 'key:admin');
    await expectApiError(keys.rotateKey(expired.id, 60, 'key:admin'), 404, 'key_not_found');
    const [{ count }] = await ctx.db.query<{ count: string }>("SELECT count(*) FROM api_keys WHERE name IN ('revoked', 'expired')");
    expect(Number(count)).toBe(3);
  });
});

describe('ApiKeysService.revokeKey', () => {
  it('revokes a key, effective on the next authentication even though it was cached, and audits it', async () => {
    const key = await keys.issue({ role: 'admin', name: 'to revoke' }, 'cli');
    expect(await keys.authenticate(key.apiKey)).not.toBeNull();
    expect(await keys.revokeKey(key.id, 'key:revoker')).toBe(1);
    expect(await keys.authenticate(key.apiKey)).toBeNull();
    const [row] = await ctx.db.query<{ revoked_at: Date | null }>('SELECT revoked_at FROM api_keys WHERE id = $1', [key.id]);
    expect(row.revoked_at).toBeInstanceOf(Date);
    expect((await auditOfKey(key.id)).at(-1)).toEqual({ type: 'key.revoked', actor: 'key:revoker', data: { id: key.id, revoked: 1 } });
  });

  it('given an app id, revokes every key of that app', async () => {
    const app = await apps.create({ name: 'revoked app', tenants: '*' }, 'key:admin');
    const second = await keys.rotateKey(app.keyId, 3_600, 'key:admin');
    expect(await keys.revokeKey(app.id, 'key:admin')).toBe(2);
    expect(await keys.authenticate(second.apiKey)).toBeNull();
    expect((await auditOfKey(app.id)).at(-1)).toEqual({ type: 'key.revoked', actor: 'key:admin', data: { id: app.id, revoked: 2 } });
  });

  it('409 key_already_revoked the second time, 404 key_not_found for an unknown id; neither is audited', async () => {
    const key = await keys.issue({ role: 'finance', name: 'twice' }, 'cli');
    await keys.revokeKey(key.id, 'key:admin');
    await expectApiError(keys.revokeKey(key.id, 'key:admin'), 409, 'key_already_revoked');
    await expectApiError(keys.revokeKey('c'.repeat(16), 'key:admin'), 404, 'key_not_found');
    expect((await auditOfKey(key.id)).map((entry) => entry.type)).toEqual(['key.created', 'key.revoked']);
    expect(await auditOfKey('c'.repeat(16))).toEqual([]);
  });
});
