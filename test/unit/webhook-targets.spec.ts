import { addressKind, addressProblem, webhookUrlProblem } from '../../src/webhooks/webhook-targets.js';

const strict = { allowHttpLocalhost: false, allowPrivateNetworks: false };
const development = { allowHttpLocalhost: true, allowPrivateNetworks: false };
const privateNetworks = { allowHttpLocalhost: false, allowPrivateNetworks: true };

describe('addressKind', () => {
  it.each([
    ['93.184.216.34', 'public'],
    ['2606:2800:220:1:248:1893:25c8:1946', 'public'],
    ['127.0.0.1', 'loopback'],
    ['127.8.9.10', 'loopback'],
    ['::1', 'loopback'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['10.0.0.1', 'private'],
    ['172.16.5.4', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['100.64.0.1', 'private'],
    ['fd12:3456::1', 'private'],
    ['::ffff:10.0.0.1', 'private'],
    ['169.254.169.254', 'forbidden'],
    ['fe80::1', 'forbidden'],
    ['0.0.0.0', 'forbidden'],
    ['::', 'forbidden'],
    ['224.0.0.1', 'forbidden'],
    ['255.255.255.255', 'forbidden'],
    ['64:ff9b::a00:1', 'forbidden'],
    ['not an address', 'forbidden'],
  ])('%s is %s', (address, kind) => {
    expect(addressKind(address)).toBe(kind);
  });

  it('172.32.0.1 is outside 172.16.0.0/12: public', () => {
    expect(addressKind('172.32.0.1')).toBe('public');
  });
});

describe('addressProblem', () => {
  it('allows public addresses under every policy; never link-local ones', () => {
    for (const policy of [strict, development, privateNetworks]) {
      expect(addressProblem('93.184.216.34', policy)).toBeNull();
      expect(addressProblem('169.254.169.254', policy)).toMatch(/never/);
    }
  });

  it('allows loopback only in development or with private networks, and private networks only with WEBHOOK_ALLOW_PRIVATE_NETWORKS', () => {
    expect(addressProblem('127.0.0.1', strict)).toMatch(/WEBHOOK_ALLOW_HTTP_LOCALHOST/);
    expect(addressProblem('127.0.0.1', development)).toBeNull();
    expect(addressProblem('127.0.0.1', privateNetworks)).toBeNull();
    expect(addressProblem('10.0.0.1', development)).toMatch(/WEBHOOK_ALLOW_PRIVATE_NETWORKS/);
    expect(addressProblem('10.0.0.1', privateNetworks)).toBeNull();
  });
});

describe('webhookUrlProblem', () => {
  it.each([
    ['https://hooks.example.com/embedgate?team=ops', strict],
    ['https://93.184.216.34/x', strict],
    ['http://localhost:8080/hooks', development],
    ['http://127.0.0.1:8080/hooks', development],
    ['http://[::1]:8080/hooks', development],
    ['https://10.0.0.5/hooks', privateNetworks],
  ])('accepts %s', (url, policy) => {
    expect(webhookUrlProblem(url, policy)).toBeNull();
  });

  it.each([
    ['http://hooks.example.com/x', development, /https/],
    ['http://localhost:8080/x', strict, /WEBHOOK_ALLOW_HTTP_LOCALHOST/],
    ['https://localhost/x', strict, /loopback/],
    ['ftp://hooks.example.com/x', strict, /https/],
    ['https://10.0.0.5/x', strict, /private network/],
    ['https://0x7f.1/x', strict, /loopback/],
    ['https://2130706433/x', strict, /loopback/],
    ['https://[::ffff:a9fe:a9fe]/latest', privateNetworks, /never/],
    ['https://user:secret@hooks.example.com/x', strict, /user name or password/],
    ['https://hooks.example.com/x#part', strict, /fragment/],
    ['hooks.example.com', strict, /absolute URL/],
  ])('refuses %s', (url, policy, problem) => {
    expect(webhookUrlProblem(url, policy)).toMatch(problem);
  });
});
