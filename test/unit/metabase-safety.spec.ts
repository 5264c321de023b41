import { MetabaseSafety } from '../../src/metabase/metabase-safety.service.js';
import { FAIL_CLOSED_DEFAULT, type FailClosedSetting } from '../../src/metabase-status/fail-closed.js';
import type { CheckResult, MetabaseStatusService } from '../../src/metabase-status/metabase-status.service.js';
import type { TenantsService } from '../../src/tenants/tenants.service.js';

const INTERVAL_MS = 10 * 60_000;
let requested = 0;
const acme = { slug: 'acme', kind: 'external' as const };

function safetyWith(state: { configured?: boolean; last?: CheckResult | null; failClosed?: FailClosedSetting }) {
  const status = {
    configured: state.configured ?? true,
    lastCheck: () => state.last ?? null,
    isStale: (check: CheckResult, now = Date.now()) => now - check.checkedAt.getTime() > 3 * INTERVAL_MS,
    failClosed: () => state.failClosed ?? FAIL_CLOSED_DEFAULT,
    requestCheck: () => requested++,
  } as unknown as MetabaseStatusService;
  const config = {
    metabase: { api: state.configured === false ? undefined : { url: 'http://127.0.0.1:9', key: 'k'.repeat(16), timeoutMs: 100 }, checkIntervalMinutes: 10 },
    groups: { internal: ['Internal analysts'], external: ['Customers'], byRole: { analyst: ['Analysts'] }, admin: [] },
    metabaseTenants: false,
  };
  return new MetabaseSafety(config as never, status, {} as TenantsService);
}

const checked = (at: Date, proven: string[], unproven: string[] = []): CheckResult => ({
  checkedAt: at,
  findings: [],
  counts: { blocking: 0, warning: 0, info: 0 },
  provenTenants: proven,
  provenGroups: Object.fromEntries(proven.map((slug) => [slug, 'null'])),
  unprovenTenants: unproven,
  groups: [],
  tenantsOn: false,
  metabaseTenants: null,
});

describe('MetabaseSafety.isolationVerdict', () => {
  it('enforces nothing without METABASE_API_KEY', () => {
    expect(safetyWith({ configured: false }).isolationVerdict(acme)).toMatchObject({ enforced: false, checkedAt: null });
  });

  it('enforces nothing for an internal tenant (the proof is about external tenants)', () => {
    expect(safetyWith({ last: checked(new Date(), []) }).isolationVerdict({ slug: 'staff', kind: 'internal' }).enforced).toBe(false);
  });

  it('is unproven before the first check completes (fail closed)', () => {
    expect(safetyWith({ last: null }).isolationVerdict(acme)).toMatchObject({ enforced: true, proven: false, checkedAt: null });
  });

  it('is proven for a tenant the last check proved, and unproven for one it did not', () => {
    const now = new Date();
    expect(safetyWith({ last: checked(now, ['acme']) }).isolationVerdict(acme)).toMatchObject({ enforced: true, proven: true, checkedAt: now });
    expect(safetyWith({ last: checked(now, [], ['acme']) }).isolationVerdict(acme)).toMatchObject({
      proven: false,
      reason: expect.stringMatching(/did not prove/),
    });
  });

  it('is unproven for a proven tenant whose groups changed since the check (the proof was of the old set), and asks for a check', () => {
    requested = 0;
    const last = checked(new Date(), ['acme']);
    expect(safetyWith({ last }).isolationVerdict({ ...acme, groups: null }).proven).toBe(true);
    expect(safetyWith({ last }).isolationVerdict({ ...acme, groups: ['Customers', 'Finance'] })).toMatchObject({
      enforced: true,
      proven: false,
      reason: expect.stringMatching(/changed its groups/),
    });
    expect(requested).toBe(1);
  });

  it('is unproven for a tenant the last check did not cover (created or made drill since), and asks for a check', () => {
    requested = 0;
    expect(safetyWith({ last: checked(new Date(), ['globex']) }).isolationVerdict(acme)).toMatchObject({
      proven: false,
      reason: expect.stringMatching(/not part of the last/),
    });
    expect(requested).toBe(1);
  });

  it('is unproven when the last check is older than three intervals', () => {
    const old = new Date(Date.now() - 3 * INTERVAL_MS - 1_000);
    expect(safetyWith({ last: checked(old, ['acme']) }).isolationVerdict(acme)).toMatchObject({
      enforced: true,
      proven: false,
      reason: expect.stringMatching(/older than three/),
    });
    const recent = new Date(Date.now() - 2 * INTERVAL_MS);
    expect(safetyWith({ last: checked(recent, ['acme']) }).isolationVerdict(acme).proven).toBe(true);
  });

  it('is not enforced when an admin turned fail-closed off, and says who and why', () => {
    const off = { enabled: false, reason: 'migration weekend', actor: 'key:1', changedAt: new Date() };
    expect(safetyWith({ last: null, failClosed: off }).isolationVerdict(acme)).toMatchObject({
      enforced: false,
      proven: false,
      reason: expect.stringMatching(/key:1: migration weekend/),
    });
  });
});

describe('MetabaseSafety.identityProblem', () => {
  it('finds no problem without METABASE_API_KEY (nothing can be checked)', async () => {
    expect(await safetyWith({ configured: false }).identityProblem('ann@acme.example', acme)).toBeNull();
  });

  it('fails closed when Metabase cannot be reached', async () => {
    expect(await safetyWith({ last: null }).identityProblem('ann@acme.example', acme)).toMatch(/could not be asked/);
  });
});
