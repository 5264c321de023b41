import fc from 'fast-check';
import {
  decideEmbed,
  type EmbedPolicyInput,
  type IsolationState,
  type PolicyResource,
  type PolicyTenant,
  type SeatAvailability,
} from '../../src/policy/decide-embed.js';

const tenant = (overrides: Partial<PolicyTenant> = {}): PolicyTenant => ({
  slug: 'acme',
  kind: 'external',
  tier: 'view',
  status: 'active',
  customerId: 'acme-001',
  onSeatsExhausted: 'guest',
  ...overrides,
});
const resource = (overrides: Partial<PolicyResource> = {}): PolicyResource => ({
  key: 'sales-overview',
  guest: true,
  tenantParam: 'customer_id',
  ...overrides,
});
const input = (overrides: Partial<EmbedPolicyInput> = {}): EmbedPolicyInput => ({
  tenant: tenant(),
  tenantInScope: true,
  resource: resource(),
  user: { email: 'ana@acme.example', emailAllowed: true },
  seat: 'available',
  isolation: 'not-enforced',
  ...overrides,
});

describe('decideEmbed: rule 1, the tenant', () => {
  it('denies an unknown tenant with 404', () => {
    const d = decideEmbed(input({ tenant: null }));
    expect(d).toMatchObject({ mode: 'deny', rule: 'tenant-not-found', denial: { status: 404, code: 'tenant_not_found' } });
  });

  it('answers a tenant outside the app’s scope exactly as an unknown one, so existence does not leak', () => {
    const outside = decideEmbed(input({ tenantInScope: false }));
    const unknown = decideEmbed(input({ tenant: null }));
    expect(outside).toEqual(unknown);
  });

  it('denies a suspended tenant with 403', () => {
    const d = decideEmbed(input({ tenant: tenant({ status: 'suspended', tier: 'drill' }) }));
    expect(d).toMatchObject({ mode: 'deny', rule: 'tenant-suspended', denial: { status: 403 } });
  });
});

describe('decideEmbed: rule 2, the resource', () => {
  it('denies an unknown resource with 404', () => {
    expect(decideEmbed(input({ resource: null }))).toMatchObject({ mode: 'deny', rule: 'resource-not-found', denial: { status: 404 } });
  });
});

describe('decideEmbed: rule 3, internal tenants', () => {
  it('routes an internal drill tenant to SSO', () => {
    const d = decideEmbed(input({ tenant: tenant({ kind: 'internal', tier: 'drill', customerId: null }) }));
    expect(d).toMatchObject({ mode: 'sso', rule: 'internal-tenant' });
  });

  it('gives an internal tenant an admin moved to the view tier a guest embed, never SSO', () => {
    const d = decideEmbed(input({ tenant: tenant({ kind: 'internal', tier: 'view', customerId: 'dept-7' }) }));
    expect(d).toMatchObject({ mode: 'guest', rule: 'internal-view-tier' });
  });
});

describe('decideEmbed: rule 4, external view tier', () => {
  it('routes to a guest embed and says so', () => {
    const d = decideEmbed(input());
    expect(d.mode).toBe('guest');
    expect(d.rule).toBe('external-view-tier');
    expect(d.reasons.join(' ')).toMatch(/view tier/);
  });

  it('needs no email for a guest embed', () => {
    expect(decideEmbed(input({ user: { email: null, emailAllowed: false } })).mode).toBe('guest');
  });
});

describe('decideEmbed: rule 5, external drill tier', () => {
  const drill = tenant({ tier: 'drill' });

  it('routes to SSO when the user holds a seat', () => {
    expect(decideEmbed(input({ tenant: drill, seat: 'held' }))).toMatchObject({ mode: 'sso', rule: 'external-drill-tier' });
  });

  it('routes to SSO when a seat can be taken', () => {
    expect(decideEmbed(input({ tenant: drill, seat: 'available' }))).toMatchObject({ mode: 'sso', rule: 'external-drill-tier' });
  });

  it('falls back to guest when the budget is exhausted, and the reason says so', () => {
    const d = decideEmbed(input({ tenant: drill, seat: 'budget-exhausted' }));
    expect(d.mode).toBe('guest');
    expect(d.rule).toBe('external-drill-tier');
    expect(d.reasons.join(' ')).toMatch(/seat budget is exhausted/);
  });

  it('falls back to guest when the tenant cap is reached', () => {
    const d = decideEmbed(input({ tenant: drill, seat: 'cap-exhausted' }));
    expect(d.mode).toBe('guest');
    expect(d.reasons.join(' ')).toMatch(/seat cap/);
  });

  it('denies with 409 seats_exhausted when the tenant is set to deny', () => {
    const d = decideEmbed(input({ tenant: tenant({ tier: 'drill', onSeatsExhausted: 'deny' }), seat: 'budget-exhausted' }));
    expect(d).toMatchObject({ mode: 'deny', denial: { status: 409, code: 'seats_exhausted' } });
  });

  it('refuses SSO without an email (Metabase matches SSO users by email)', () => {
    const d = decideEmbed(input({ tenant: drill, user: { email: null, emailAllowed: false } }));
    expect(d).toMatchObject({ mode: 'deny', rule: 'sso-email-required', denial: { status: 400 } });
  });
});

describe('decideEmbed: rule 6, what a guest embed needs', () => {
  it('refuses a guest token when the resource is not guest-embeddable', () => {
    expect(decideEmbed(input({ resource: resource({ guest: false }) }))).toMatchObject({
      mode: 'deny',
      rule: 'guest-resource-required',
      denial: { status: 403 },
    });
  });

  it('refuses a guest token when the tenant has no customerId', () => {
    for (const customerId of [null, '', '   ']) {
      expect(decideEmbed(input({ tenant: tenant({ customerId }) }))).toMatchObject({ mode: 'deny', rule: 'guest-customer-id-required' });
    }
  });

  it('refuses the guest fallback of an exhausted drill tenant when the resource is SSO-only', () => {
    const d = decideEmbed(input({ tenant: tenant({ tier: 'drill' }), resource: resource({ guest: false }), seat: 'budget-exhausted' }));
    expect(d.mode).toBe('deny');
  });
});

describe('decideEmbed: rule isolation-unverified (fail closed)', () => {
  const drill = (overrides: Partial<PolicyTenant> = {}) => tenant({ tier: 'drill', ...overrides });

  it('falls back to a guest embed when an external tenant’s groups are not proven isolated, and says why', () => {
    const d = decideEmbed(input({ tenant: drill(), isolation: 'unverified', isolationReason: 'the last check failed' }));
    expect(d).toMatchObject({ mode: 'guest', rule: 'isolation-unverified' });
    expect(d.reasons.join(' ')).toMatch(/not proven .*isolated \(the last check failed\)/);
    expect(d.bySeat).toBeUndefined();
  });

  it('falls back even for a user who holds a seat', () => {
    expect(decideEmbed(input({ tenant: drill(), isolation: 'unverified', seat: 'held' }))).toMatchObject({ mode: 'guest', rule: 'isolation-unverified' });
  });

  it('denies with 403 isolation_unverified when the tenant is set to deny when seats run out', () => {
    const d = decideEmbed(input({ tenant: drill({ onSeatsExhausted: 'deny' }), isolation: 'unverified' }));
    expect(d).toMatchObject({ mode: 'deny', rule: 'isolation-unverified', denial: { status: 403, code: 'isolation_unverified' } });
  });

  it('denies the guest fallback when the resource is SSO-only', () => {
    expect(decideEmbed(input({ tenant: drill(), isolation: 'unverified', resource: resource({ guest: false }) }))).toMatchObject({
      mode: 'deny',
      rule: 'guest-resource-required',
    });
  });

  it('gives no SDK identity (403) when isolation is unverified', () => {
    const d = decideEmbed(input({ purpose: 'sso-identity', resource: null, tenant: drill(), isolation: 'unverified' }));
    expect(d).toMatchObject({ mode: 'deny', rule: 'isolation-unverified', denial: { status: 403 } });
  });

  it('routes to SSO when isolation is proven, or not enforced (no API key, or turned off by an admin)', () => {
    for (const isolation of ['proven', 'not-enforced'] as const) {
      expect(decideEmbed(input({ tenant: drill(), isolation })).mode).toBe('sso');
    }
  });

  it('does not apply to internal tenants (their groups are the company’s own)', () => {
    expect(decideEmbed(input({ tenant: drill({ kind: 'internal', customerId: null }), isolation: 'unverified' }))).toMatchObject({
      mode: 'sso',
      rule: 'internal-tenant',
    });
  });
});

describe('decideEmbed: identity safety', () => {
  const drill = tenant({ tier: 'drill' });

  it('denies SSO with 403 email_domain_not_allowed when the email is outside the tenant’s domains', () => {
    const d = decideEmbed(input({ tenant: drill, user: { email: 'boss@metabase-admin.example', emailAllowed: false } }));
    expect(d).toMatchObject({ mode: 'deny', rule: 'email-domain-not-allowed', denial: { status: 403, code: 'email_domain_not_allowed' } });
  });

  it('applies the email domains to internal tenants too', () => {
    const d = decideEmbed(input({ tenant: tenant({ kind: 'internal', tier: 'drill' }), user: { email: 'x@elsewhere.example', emailAllowed: false } }));
    expect(d).toMatchObject({ mode: 'deny', rule: 'email-domain-not-allowed' });
  });

  it('needs no allowed email for a guest embed', () => {
    expect(decideEmbed(input({ user: { email: 'x@elsewhere.example', emailAllowed: false } })).mode).toBe('guest');
  });

  it('denies SSO with 403 identity_unsafe when Metabase would sign the email in as someone else, with the reason', () => {
    const d = decideEmbed(input({ tenant: drill, identityProblem: 'the email belongs to a Metabase superuser' }));
    expect(d).toMatchObject({ mode: 'deny', rule: 'identity-unsafe', denial: { status: 403, code: 'identity_unsafe' } });
    expect(d.reasons).toContain('the email belongs to a Metabase superuser');
  });
});

describe('decideEmbed: invariants (property-based)', () => {
  const arbTenant = fc.record<PolicyTenant>({
    slug: fc.stringMatching(/^[a-z0-9-]{1,10}$/),
    kind: fc.constantFrom('internal', 'external'),
    tier: fc.constantFrom('view', 'drill'),
    status: fc.constantFrom('active', 'suspended'),
    customerId: fc.option(fc.oneof(fc.string(), fc.constantFrom('', ' ', 'c-1')), { nil: null }),
    onSeatsExhausted: fc.constantFrom('guest', 'deny'),
  });
  const arbInput = fc.record<EmbedPolicyInput>({
    tenant: fc.option(arbTenant, { nil: null }),
    tenantInScope: fc.boolean(),
    resource: fc.option(
      fc.record<PolicyResource>({
        key: fc.constant('r'),
        guest: fc.boolean(),
        tenantParam: fc.option(fc.constantFrom('customer_id', 'tenant'), { nil: null }),
      }),
      { nil: null },
    ),
    user: fc.record({ email: fc.option(fc.emailAddress(), { nil: null }), emailAllowed: fc.boolean() }),
    seat: fc.constantFrom<SeatAvailability>('held', 'available', 'budget-exhausted', 'cap-exhausted'),
    isolation: fc.constantFrom<IsolationState>('proven', 'unverified', 'not-enforced'),
    identityProblem: fc.option(fc.constantFrom('the email belongs to a Metabase superuser', 'the user is in other groups'), { nil: null }),
  });

  it('a guest decision always has an active in-scope tenant with a usable customerId and a guest resource', () => {
    fc.assert(
      fc.property(arbInput, (i) => {
        const d = decideEmbed(i);
        if (d.mode !== 'guest') return;
        expect(i.tenantInScope).toBe(true);
        expect(i.tenant?.status).toBe('active');
        expect(i.tenant?.customerId?.trim()).toBeTruthy();
        expect(i.resource?.guest).toBe(true);
        expect(i.resource?.tenantParam).toBeTruthy();
      }),
      { numRuns: 2000 },
    );
  });

  it('no input yields SSO for a view tenant, an exhausted budget, a missing email or a tenant out of scope', () => {
    fc.assert(
      fc.property(arbInput, (i) => {
        const d = decideEmbed(i);
        if (d.mode !== 'sso') return;
        expect(i.tenant?.tier).toBe('drill');
        expect(i.tenant?.status).toBe('active');
        expect(i.tenantInScope).toBe(true);
        expect(i.resource).not.toBeNull();
        expect(['held', 'available']).toContain(i.seat);
        expect(i.user.email).toBeTruthy();
      }),
      { numRuns: 2000 },
    );
  });

  it('no input yields SSO for an external tenant whose isolation is unverified, an email outside the tenant’s domains, or an unsafe identity', () => {
    fc.assert(
      fc.property(arbInput, (i) => {
        const d = decideEmbed(i);
        if (d.mode !== 'sso') return;
        if (i.tenant?.kind === 'external') expect(i.isolation).not.toBe('unverified');
        expect(i.user.emailAllowed).toBe(true);
        expect(i.identityProblem ?? null).toBeNull();
      }),
      { numRuns: 2000 },
    );
  });

  it('an unverified isolation decides as exhausted seats do: the same mode, the same guest requirements', () => {
    fc.assert(
      fc.property(arbInput, (i) => {
        if (i.tenant?.kind !== 'external' || i.tenant.tier !== 'drill' || i.tenant.status !== 'active' || !i.tenantInScope || !i.resource) return;
        const unverified = decideEmbed({ ...i, isolation: 'unverified' });
        const exhausted = decideEmbed({ ...i, isolation: 'proven', seat: 'budget-exhausted' });
        expect(unverified.mode).toBe(exhausted.mode);
        if (exhausted.rule === 'external-drill-tier') expect(unverified.rule).toBe('isolation-unverified');
      }),
      { numRuns: 2000 },
    );
  });

  it('every decision names a rule and gives reasons; every denial carries a 4xx status and a code', () => {
    fc.assert(
      fc.property(arbInput, (i) => {
        const d = decideEmbed(i);
        expect(d.rule).toBeTruthy();
        expect(d.reasons.length).toBeGreaterThan(0);
        if (d.mode === 'deny') {
          expect(d.denial!.status).toBeGreaterThanOrEqual(400);
          expect(d.denial!.status).toBeLessThan(500);
          expect(d.denial!.code).toMatch(/^[a-z_]+$/);
        } else {
          expect(d.denial).toBeUndefined();
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('is a pure function: the same input gives the same decision', () => {
    fc.assert(
      fc.property(arbInput, (i) => expect(decideEmbed(i)).toEqual(decideEmbed(structuredClone(i)))),
      { numRuns: 500 },
    );
  });

  it('decides once: an SSO decision made with a seat available carries, for each answer of the ledger, the decision that answer gets', () => {
    fc.assert(
      fc.property(arbInput, (i) => {
        const d = decideEmbed({ ...i, seat: 'available' });
        if (d.mode !== 'sso') return expect(d.bySeat).toBeUndefined();
        for (const seat of ['held', 'cap-exhausted', 'budget-exhausted'] as const) {
          const { bySeat: _none, ...alone } = decideEmbed({ ...i, seat });
          expect(d.bySeat![seat]).toEqual(alone);
        }
      }),
      { numRuns: 2000 },
    );
  });
});
