import { ConfigError, loadConfig } from '../../src/config/config.js';

const valid = {
  DATABASE_URL: 'postgresql://postgres@127.0.0.1:5432/x',
  METABASE_SITE_URL: 'https://metabase.example.com/',
  METABASE_EMBEDDING_SECRET_KEY: 'a'.repeat(64),
  METABASE_JWT_SHARED_SECRET: 'b'.repeat(32),
};

const problemsOf = (env: Record<string, string | undefined>) => {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.message;
    throw error;
  }
  return '';
};

describe('loadConfig', () => {
  it('reads a valid environment into a typed config', () => {
    const config = loadConfig({ ...valid, PORT: '9000', SEAT_BUDGET: '25', ROLE_GROUPS: '{"analyst":["Power users"]}' });
    expect(config).toMatchObject({ port: 9000, initialSeatBudget: 25, groups: { byRole: { analyst: ['Power users'] } } });
    expect(config.metabase.siteUrl).toBe('https://metabase.example.com');
  });

  it.each([
    ['METABASE_EMBEDDING_SECRET_KEY', { METABASE_EMBEDDING_SECRET_KEY: undefined }, /METABASE_EMBEDDING_SECRET_KEY is required/],
    ['METABASE_JWT_SHARED_SECRET', { METABASE_JWT_SHARED_SECRET: '' }, /METABASE_JWT_SHARED_SECRET is required/],
    ['METABASE_EMBEDDING_SECRET_KEY', { METABASE_EMBEDDING_SECRET_KEY: 'short' }, /METABASE_EMBEDDING_SECRET_KEY must be at least 32 bytes/],
    ['METABASE_JWT_SHARED_SECRET', { METABASE_JWT_SHARED_SECRET: 'x'.repeat(31) }, /METABASE_JWT_SHARED_SECRET must be at least 32 bytes/],
    ['METABASE_JWT_SHARED_SECRET', { METABASE_JWT_SHARED_SECRET: 'a'.repeat(64) }, /METABASE_JWT_SHARED_SECRET must differ from METABASE_EMBEDDING_SECRET_KEY/],
    ['METABASE_SITE_URL', { METABASE_SITE_URL: 'metabase.example.com' }, /METABASE_SITE_URL/],
    ['DATABASE_URL', { DATABASE_URL: 'mysql://x' }, /DATABASE_URL/],
    ['PORT', { PORT: 'eighty' }, /PORT/],
    ['SEAT_BUDGET', { SEAT_BUDGET: '-3' }, /SEAT_BUDGET/],
    ['SSO_TOKEN_TTL_SECONDS', { SSO_TOKEN_TTL_SECONDS: '600' }, /SSO_TOKEN_TTL_SECONDS must be at most 180/],
    ['ROLE_GROUPS', { ROLE_GROUPS: '{not json' }, /ROLE_GROUPS must be valid JSON/],
  ])('stops on a bad %s with a message naming it', (_name, change, message) => {
    expect(problemsOf({ ...valid, ...change })).toMatch(message);
  });

  it('lists every problem at once', () => {
    const message = problemsOf({ DATABASE_URL: valid.DATABASE_URL });
    expect(message).toMatch(/METABASE_SITE_URL/);
    expect(message).toMatch(/METABASE_EMBEDDING_SECRET_KEY/);
    expect(message).toMatch(/METABASE_JWT_SHARED_SECRET/);
  });

  it('purges rows past their use hourly, finished outbox jobs after 7 days; RETENTION_INTERVAL_MINUTES=0 turns it off', () => {
    expect(loadConfig(valid).retention).toEqual({ intervalMinutes: 60, days: 7 });
    expect(loadConfig({ ...valid, RETENTION_INTERVAL_MINUTES: '0', RETENTION_DAYS: '30' }).retention).toEqual({ intervalMinutes: 0, days: 30 });
    expect(problemsOf({ ...valid, RETENTION_DAYS: '0' })).toMatch(/RETENTION_DAYS must be at least 1/);
    expect(problemsOf({ ...valid, RETENTION_INTERVAL_MINUTES: 'hourly' })).toMatch(/RETENTION_INTERVAL_MINUTES must be a whole number/);
  });

  it('METABASE_USER_PROVISIONING: metabase by default; embedgate needs METABASE_API_KEY, and boot says so', () => {
    expect(loadConfig(valid).metabase.userProvisioning).toBe('metabase');
    expect(problemsOf({ ...valid, METABASE_USER_PROVISIONING: 'embedgate' })).toMatch(/METABASE_USER_PROVISIONING=embedgate needs METABASE_API_KEY/);
    expect(problemsOf({ ...valid, METABASE_USER_PROVISIONING: 'both' })).toMatch(/METABASE_USER_PROVISIONING is metabase or embedgate/);
    const config = loadConfig({ ...valid, METABASE_USER_PROVISIONING: 'embedgate', METABASE_API_KEY: 'mb_key_0123456789' });
    expect(config.metabase.userProvisioning).toBe('embedgate');
  });

  it('never repeats a secret in its message', () => {
    const secret = 'q'.repeat(20);
    expect(problemsOf({ ...valid, METABASE_JWT_SHARED_SECRET: secret })).not.toContain(secret);
  });
});
