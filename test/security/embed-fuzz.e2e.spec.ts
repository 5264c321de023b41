import fc from 'fast-check';
import { Api, seed, startService, TEST_SECRETS, type RunningService } from '../support/service.js';
import { verifyGuestToken, verifySsoToken } from '../support/metabase-verifier.js';

/**
 * Property: whatever body an app sends to POST /v1/embeds, the service never answers 5xx, and every
 * token it returns carries the customerId of a tenant in that app's scope, never another's.
 */
let service: RunningService;
let app: Api;
const CUSTOMER_IDS: Record<string, string> = { acme: 'acme-001', globex: 'globex-002' };
const OTHERS = ['hooli-9', 'initech-3'];

beforeAll(async () => {
  service = await startService({ SEAT_BUDGET: '25', RATE_LIMIT_EMBEDS_PER_MINUTE: '1000000', LOG_LEVEL: 'warn' });
  const apps = await seed(service.admin, {
    tenants: [
      { slug: 'acme', name: 'Acme', kind: 'external', tier: 'view', customerId: CUSTOMER_IDS.acme },
      { slug: 'globex', name: 'Globex', kind: 'external', tier: 'drill', customerId: CUSTOMER_IDS.globex, onSeatsExhausted: 'guest' },
      { slug: 'hooli', name: 'Hooli', kind: 'external', tier: 'view', customerId: OTHERS[0] },
      { slug: 'initech', name: 'Initech', kind: 'external', tier: 'drill', customerId: OTHERS[1] },
    ],
    resources: [
      { key: 'sales-overview', type: 'dashboard', metabaseId: 1, tenantParam: 'customer_id' },
      { key: 'raw-orders', type: 'question', metabaseId: 2, guest: false },
    ],
    apps: { host: { tenants: ['acme', 'globex'] } },
  });
  app = apps.host;
});
afterAll(() => service.stop());

const slug = fc.oneof(
  fc.constantFrom('acme', 'globex', 'hooli', 'initech', 'ACME', 'glob\u0435x', '', ' acme', 'acme\u0000', '../hooli', '*'),
  fc.string({ maxLength: 70 }),
);
const scalar = fc.oneof(fc.string({ maxLength: 40 }), fc.integer(), fc.boolean(), fc.constant(null), fc.double());
const junk = fc.dictionary(
  fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom('params', 'customerId', 'groups', 'attributes', '__proto__', 'constructor')),
  fc.oneof(scalar, fc.array(scalar, { maxLength: 3 })),
  { maxKeys: 2 },
);
const user = fc.oneof(
  fc.record(
    {
      id: fc.oneof(fc.stringMatching(/^u-[0-9]{1,3}$/), fc.string({ maxLength: 30 })),
      email: fc.oneof(fc.emailAddress(), fc.constantFrom('ana@hooli.example', 'ＡＮＡ@acme.example', 'not-an-email', ''), fc.string({ maxLength: 20 })),
      firstName: fc.string({ maxLength: 20 }),
      lastName: fc.string({ maxLength: 20 }),
      role: fc.constantFrom('viewer', 'analyst', 'admin', ''),
    },
    { requiredKeys: ['id'] },
  ),
  scalar,
  junk,
);
/** Mostly plausible requests (so tokens are really minted and checked), some outright hostile. */
const plausible = fc.record(
  {
    tenant: fc.constantFrom('acme', 'globex', 'hooli', 'initech'),
    user: fc.record(
      {
        id: fc.stringMatching(/^u-[0-9]{1,3}$/),
        email: fc.oneof(fc.emailAddress(), fc.constantFrom('ana@hooli.example', 'ＡＮＡ@acme.example')),
        firstName: fc.string({ maxLength: 20 }),
        role: fc.constantFrom('viewer', 'analyst'),
      },
      { requiredKeys: ['id', 'email'] },
    ),
    resource: fc.constantFrom('sales-overview', 'raw-orders'),
    options: fc.record(
      { theme: fc.constantFrom('night', 'transparent', null), bordered: fc.boolean(), launch: fc.constantFrom('link', 'direct') },
      { requiredKeys: [] },
    ),
  },
  { requiredKeys: ['tenant', 'user', 'resource'] },
);
const body = fc.oneof(
  { weight: 3, arbitrary: plausible },
  fc.record(
    {
      tenant: slug,
      user,
      resource: fc.oneof(fc.constantFrom('sales-overview', 'raw-orders', 'nope', ''), fc.string({ maxLength: 20 })),
      options: fc.oneof(
        fc.record(
          { theme: fc.constantFrom('night', 'transparent', null, 'dark'), bordered: fc.boolean(), launch: fc.constantFrom('link', 'direct', 'x') },
          { requiredKeys: [] },
        ),
        junk,
      ),
      params: junk,
      customerId: fc.constantFrom(...OTHERS),
    },
    { requiredKeys: [] },
  ),
  junk,
  fc.array(scalar, { maxLength: 3 }),
  scalar,
);

it('thousands of random bodies: never a 5xx, and every token carries the app’s own tenant’s customerId', async () => {
  const seen: Record<number, number> = {};
  let tokens = 0;
  await fc.assert(
    fc.asyncProperty(body, async (payload) => {
      const answer = await app.post('/v1/embeds', JSON.stringify(payload));
      seen[answer.status] = (seen[answer.status] ?? 0) + 1;
      expect(answer.status).toBeLessThan(500);
      if (answer.status >= 400) {
        expect(answer.body.error.code).toMatch(/^[a-z_]+$/);
        expect(answer.body.token).toBeUndefined();
        expect(answer.body.jwt).toBeUndefined();
        return;
      }
      const own = CUSTOMER_IDS[(payload as { tenant: string }).tenant];
      expect(own).toBeDefined();
      if (answer.body.token) {
        tokens++;
        expect(verifyGuestToken(answer.body.token, TEST_SECRETS.METABASE_EMBEDDING_SECRET_KEY).params).toEqual({ customer_id: [own] });
      }
      if (answer.body.jwt) {
        tokens++;
        expect(verifySsoToken(answer.body.jwt, TEST_SECRETS.METABASE_JWT_SHARED_SECRET).customer_id).toBe(own);
      }
      for (const other of OTHERS) expect(JSON.stringify(answer.body)).not.toContain(other);
    }),
    { numRuns: 2500 },
  );
  expect(seen[201]).toBeGreaterThan(50);
  expect(tokens).toBeGreaterThan(50);
  process.stderr.write(`embed fuzz: 2500 bodies, answers by status ${JSON.stringify(seen)}, ${tokens} tokens checked\n`);
}, 300_000);
