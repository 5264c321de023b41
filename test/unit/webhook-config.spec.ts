import { ConfigError, loadConfig } from '../../src/config/config.js';

const valid = {
  DATABASE_URL: 'postgresql://postgres@127.0.0.1:5432/x',
  METABASE_SITE_URL: 'https://metabase.example.com/',
  METABASE_EMBEDDING_SECRET_KEY: 'a'.repeat(64),
  METABASE_JWT_SHARED_SECRET: 'b'.repeat(32),
};

const problemsOf = (env: Record<string, string>) => {
  try {
    loadConfig({ ...valid, ...env });
  } catch (error) {
    if (error instanceof ConfigError) return error.message;
    throw error;
  }
  return '';
};

describe('the webhook and alert settings', () => {
  it('default to thresholds 80, 90, 100, https to public hosts only, and 12 attempts from 5 s doubling up to an hour', () => {
    const config = loadConfig(valid);
    expect(config.alerts).toEqual({ thresholdsPercent: [80, 90, 100] });
    expect(config.webhooks).toEqual({
      pollIntervalMs: 1_000,
      timeoutMs: 10_000,
      maxAttempts: 12,
      backoffBaseMs: 5_000,
      backoffMaxMs: 3_600_000,
      allowHttpLocalhost: false,
      allowPrivateNetworks: false,
    });
  });

  it('reads ALERT_THRESHOLDS_PERCENT as a sorted set of whole percentages', () => {
    expect(loadConfig({ ...valid, ALERT_THRESHOLDS_PERCENT: '100, 50,75,50' }).alerts.thresholdsPercent).toEqual([50, 75, 100]);
  });

  it.each([['0'], ['101'], ['80,ninety'], ['80.5'], ['1,2,3,4,5,6,7,8,9,10,11'], [',']])('stops on ALERT_THRESHOLDS_PERCENT=%s, naming it', (value) => {
    expect(problemsOf({ ALERT_THRESHOLDS_PERCENT: value })).toMatch(/ALERT_THRESHOLDS_PERCENT is a comma-separated list/);
  });

  it('stops on a bad webhook setting, naming it', () => {
    expect(problemsOf({ WEBHOOK_MAX_ATTEMPTS: '0' })).toMatch(/WEBHOOK_MAX_ATTEMPTS must be at least 1/);
    expect(problemsOf({ WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'yes' })).toMatch(/WEBHOOK_ALLOW_PRIVATE_NETWORKS/);
  });
});
