import { BlockList, isIP } from 'node:net';

/**
 * Which hosts a webhook may be sent to (server-side request forgery: an admin's URL must not make
 * embedgate call into its own network). Public addresses always; loopback only with
 * WEBHOOK_ALLOW_HTTP_LOCALHOST (development and tests) or WEBHOOK_ALLOW_PRIVATE_NETWORKS; private
 * networks only with WEBHOOK_ALLOW_PRIVATE_NETWORKS; link-local (cloud metadata services), unspecified,
 * multicast and reserved addresses never. Checked on the URL when it is set, and on every address its
 * host resolves to at each attempt (so a DNS answer that changed is caught when the connection is made).
 */
export interface TargetPolicy {
  allowHttpLocalhost: boolean;
  allowPrivateNetworks: boolean;
}

export type AddressKind = 'public' | 'loopback' | 'private' | 'forbidden';

const subnets = (list: [string, number, 'ipv4' | 'ipv6'][]) => {
  const blocks = new BlockList();
  for (const [network, prefix, family] of list) blocks.addSubnet(network, prefix, family);
  return blocks;
};

// BlockList matches IPv4-mapped IPv6 addresses (::ffff:10.0.0.1) against the IPv4 subnets too.
const LOOPBACK = subnets([
  ['127.0.0.0', 8, 'ipv4'],
  ['::1', 128, 'ipv6'],
]);
const PRIVATE = subnets([
  ['10.0.0.0', 8, 'ipv4'],
  ['172.16.0.0', 12, 'ipv4'],
  ['192.168.0.0', 16, 'ipv4'],
  ['100.64.0.0', 10, 'ipv4'], // carrier-grade NAT
  ['fc00::', 7, 'ipv6'], // unique local
]);
const FORBIDDEN = subnets([
  ['0.0.0.0', 8, 'ipv4'],
  ['169.254.0.0', 16, 'ipv4'], // link-local: 169.254.169.254 is the cloud metadata service
  ['192.0.0.0', 24, 'ipv4'],
  ['224.0.0.0', 4, 'ipv4'], // multicast
  ['240.0.0.0', 4, 'ipv4'], // reserved, and the broadcast address
  ['::', 128, 'ipv6'],
  ['fe80::', 10, 'ipv6'], // link-local
  ['ff00::', 8, 'ipv6'], // multicast
  ['64:ff9b::', 96, 'ipv6'], // NAT64: would reach any IPv4 address, private ones included
  ['2002::', 16, 'ipv6'], // 6to4: likewise
]);

/** What kind of address an IP address is (IPv4, IPv6, or IPv4-mapped IPv6). */
export function addressKind(address: string): AddressKind {
  const family = isIP(address);
  if (family === 0) return 'forbidden';
  const type = family === 4 ? 'ipv4' : 'ipv6';
  if (FORBIDDEN.check(address, type)) return 'forbidden';
  if (LOOPBACK.check(address, type)) return 'loopback';
  if (PRIVATE.check(address, type)) return 'private';
  return 'public';
}

/** Why the policy refuses an address, or null when it allows it. */
export function addressProblem(address: string, policy: TargetPolicy): string | null {
  switch (addressKind(address)) {
    case 'public':
      return null;
    case 'loopback':
      return policy.allowHttpLocalhost || policy.allowPrivateNetworks
        ? null
        : `${address} is a loopback address (allowed only with WEBHOOK_ALLOW_HTTP_LOCALHOST or WEBHOOK_ALLOW_PRIVATE_NETWORKS)`;
    case 'private':
      return policy.allowPrivateNetworks ? null : `${address} is a private network address (allowed only with WEBHOOK_ALLOW_PRIVATE_NETWORKS)`;
    case 'forbidden':
      return `${address} is a link-local, multicast or reserved address: never a webhook target`;
  }
}

/** A URL's host without IPv6 brackets and a trailing dot: what DNS and the address checks see. */
export function hostOf(url: URL): string {
  return url.hostname.replace(/^\[(.*)\]$/, '$1').replace(/\.$/, '');
}

const isLoopbackName = (host: string) => host === 'localhost' || host.endsWith('.localhost');

/**
 * What is wrong with a webhook URL under the policy, or null. https; plain http only to a loopback host
 * with WEBHOOK_ALLOW_HTTP_LOCALHOST; no user name or password, no fragment; an IP address host must be
 * one the policy allows (a name is checked when it is resolved, at each attempt).
 */
export function webhookUrlProblem(value: string, policy: TargetPolicy): string | null {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'must be an absolute URL';
  }
  const host = hostOf(url);
  const loopbackHost = isLoopbackName(host) || (isIP(host) !== 0 && addressKind(host) === 'loopback');
  if (url.protocol === 'http:') {
    if (!policy.allowHttpLocalhost || !loopbackHost) {
      return policy.allowHttpLocalhost
        ? 'must be an https URL (plain http only to localhost, 127.0.0.1 or [::1])'
        : 'must be an https URL (plain http to localhost needs WEBHOOK_ALLOW_HTTP_LOCALHOST)';
    }
  } else if (url.protocol !== 'https:') {
    return 'must be an https URL';
  }
  if (url.username || url.password) return 'must not hold a user name or password';
  if (value.includes('#')) return 'must not have a fragment';
  if (isLoopbackName(host)) {
    return policy.allowHttpLocalhost || policy.allowPrivateNetworks
      ? null
      : `${host} is a loopback host (allowed only with WEBHOOK_ALLOW_HTTP_LOCALHOST or WEBHOOK_ALLOW_PRIVATE_NETWORKS)`;
  }
  if (isIP(host) !== 0) return addressProblem(host, policy);
  return null;
}
