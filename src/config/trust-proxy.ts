import { isIP } from 'node:net';

/**
 * Which X-Forwarded-For / -Proto / -Host hops embedgate believes (TRUST_PROXY). The address Fastify
 * resolves from them (request.ip) keys the failed-authentication throttle, so a hop believed but
 * written by the client lets it claim a fresh address on every request. Semantics, read in Fastify
 * 5.12's lib/request.js (getTrustProxyFn, buildRequestWithTrustProxy) and @fastify/proxy-addr's
 * alladdrs(): the chain is [TCP peer, X-Forwarded-For right to left]; request.ip is its first
 * entry, from the peer on, that is not trusted (else the last), and X-Forwarded-Proto / -Host (their
 * right-most value) are used only when the TCP peer is trusted.
 *
 * - `false`: nothing trusted; request.ip is the TCP peer, X-Forwarded-* are ignored.
 * - `true`: every hop; request.ip is the left-most X-Forwarded-For entry, which any client writes.
 * - a hop count n: the peer and the n-1 hops before it, whoever they are; request.ip is the n-th
 *   X-Forwarded-For entry from the right (1: what the one proxy in front appended).
 * - a list of IPs / CIDR ranges (or proxy-addr's `loopback`, `linklocal`, `uniquelocal`): only hops
 *   from those addresses; request.ip is the right-most address that is not one of them.
 */
export type TrustProxy = boolean | number | readonly string[];

/** More proxies than any real chain has: a bigger count is a typo. */
const MAX_HOPS = 20;
/** proxy-addr's named ranges (IP_RANGES in @fastify/proxy-addr/index.js). */
const NAMED_RANGES = new Set(['loopback', 'linklocal', 'uniquelocal']);
const FORMS = 'TRUST_PROXY is false, true, a hop count (e.g. 1) or a comma-separated list of the proxies’ IP addresses or CIDR ranges (e.g. 10.0.0.0/8)';

/** Why one entry of the list is not a trusted-proxy address, or undefined when it is one. */
function entryProblem(entry: string): string | undefined {
  if (NAMED_RANGES.has(entry)) return undefined;
  const slash = entry.indexOf('/');
  const address = slash === -1 ? entry : entry.slice(0, slash);
  const family = isIP(address);
  if (family === 0) return `TRUST_PROXY: "${entry}" is not an IP address or CIDR range; ${FORMS}`;
  if (slash === -1) return undefined;
  const bits = family === 4 ? 32 : 128;
  const prefix = entry.slice(slash + 1);
  if (!/^\d{1,3}$/.test(prefix) || Number(prefix) > bits) return `TRUST_PROXY: "${entry}" has no valid prefix length (1 to ${bits})`;
  // proxy-addr refuses /0 at startup anyway; it would trust every address, which `true` says plainly.
  if (Number(prefix) === 0) return `TRUST_PROXY: "${entry}" would trust every address; write TRUST_PROXY=true if that is meant`;
  return undefined;
}

/** Reads TRUST_PROXY's text: the value, or every problem found in it. */
export function parseTrustProxy(text: string): { value: TrustProxy } | { problems: string[] } {
  const trimmed = text.trim();
  if (trimmed === 'false') return { value: false };
  if (trimmed === 'true') return { value: true };
  if (/^\d+$/.test(trimmed)) {
    const hops = Number(trimmed);
    if (hops > MAX_HOPS) return { problems: [`TRUST_PROXY: a hop count is at most ${MAX_HOPS} (got ${trimmed})`] };
    // No hop trusted is no proxy trusted.
    return { value: hops === 0 ? false : hops };
  }
  const entries = trimmed
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean);
  if (entries.length === 0) return { problems: [`TRUST_PROXY lists no proxy; ${FORMS}`] };
  const problems = entries.map(entryProblem).filter((problem) => problem !== undefined);
  return problems.length > 0 ? { problems } : { value: entries };
}

/**
 * Fastify's `trustProxy` option for a TrustProxy. A hop count becomes a trust function: Fastify 5.12
 * turns a number into "trust nothing" (getTrustProxyFn: "Hop-count-only trust cannot validate the
 * immediate peer"), which would key every client's failures on the proxy's own address.
 */
export function fastifyTrustProxy(trust: TrustProxy): boolean | string[] | ((address: string, hop: number) => boolean) {
  if (typeof trust === 'number') return (_address, hop) => hop < trust;
  return typeof trust === 'boolean' ? trust : [...trust];
}

/** The boot warning for a setting that lets a client choose the address it is throttled by, if any. */
export function trustProxyWarning(trust: TrustProxy): string | undefined {
  if (trust === true) {
    return (
      'TRUST_PROXY=true trusts every X-Forwarded-For hop: the client address is the left-most entry, which the client itself writes, ' +
      'so failed authentications are no longer limited per client (and X-Forwarded-Proto/-Host are believed from any peer); ' +
      'set TRUST_PROXY to the hop count (e.g. 1) or the addresses of your proxies instead'
    );
  }
  if (typeof trust === 'number') {
    return (
      `TRUST_PROXY=${trust} trusts the last ${trust} X-Forwarded-For hop(s) from any peer: ` +
      'a client that reaches embedgate other than through the proxy chooses its own address; ' +
      'where that is possible, set TRUST_PROXY to the addresses of your proxies instead'
    );
  }
  return undefined;
}
