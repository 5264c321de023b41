import { loggableUrl } from '../../src/logging/logger.js';
import { assertLogsHoldNoSecrets, rememberSecret, rememberSecretsIn, secretsRemembered } from '../support/secrets-hygiene.js';

/**
 * Every service a test starts (in process or as `node dist/main.js`) has its logs checked, when it
 * stops, against every secret the run has handled: both Metabase secrets, every API key and every
 * token or launch link the service answered with (test/support/secrets-hygiene.ts). These cases
 * show the check itself catches what it must.
 */
describe('the log scan', () => {
  it('fails on a line that holds a remembered secret', () => {
    rememberSecret('super-secret-value-0123456789');
    expect(() => assertLogsHoldNoSecrets(['{"msg":"ok"}', '{"msg":"boom super-secret-value-0123456789"}'], 'test')).toThrow(/holds a secret/);
    expect(() => assertLogsHoldNoSecrets(['{"msg":"ok"}'], 'test')).not.toThrow();
  });

  it('fails on any JWT-shaped string, remembered or not', () => {
    const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U';
    expect(() => assertLogsHoldNoSecrets([`{"url":"/embed/dashboard/${jwt}"}`], 'test')).toThrow(/JWT/);
  });

  it('remembers keys, tokens and launch ids found in answers', () => {
    const before = secretsRemembered();
    rememberSecretsIn({ apiKey: `egk_${'a'.repeat(16)}_${'b'.repeat(43)}`, url: `https://e.example/v1/launch/${'c'.repeat(43)}` });
    expect(secretsRemembered()).toBe(before + 2);
  });
});

describe('what the service logs of a request URL', () => {
  it.each([
    ['/v1/launch/AbCdEfGhIjKlMnOpQrStUvWxYz0123456789_-abcde', '/v1/launch/[redacted]'],
    ['/v1/viewer-sessions/exchange/AbCdEfGhIjKlMnOpQrStUvWxYz0123456789_-abcde?returnTo=https://x', '/v1/viewer-sessions/exchange/[redacted]?returnTo=*'],
    ['/v1/license?api_key=egk_x_y&limit=5', '/v1/license?api_key=*&limit=*'],
    ['/v1/tenants/acme', '/v1/tenants/acme'],
  ])('%s is logged as %s', (url, logged) => {
    expect(loggableUrl(url)).toBe(logged);
  });
});
