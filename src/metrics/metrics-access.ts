import { timingSafeEqual } from 'node:crypto';
import type { Config } from '../config/config.js';
import { sha256 } from '../common/hash.js';

/** What a request for /metrics gets. */
export type MetricsVerdict = 'serve' | 'not-found' | 'unauthorized';

const BEARER = /^Bearer ([^\s]+)$/i;

/**
 * Who may read /metrics, on the API's port and on the metrics port alike. With METRICS_PORT, the API's
 * port does not serve it at all (404, as for any unknown route). With METRICS_TOKEN, a scrape must send
 * `Authorization: Bearer <METRICS_TOKEN>`, compared in constant time. Neither: open on the API's port.
 */
export class MetricsAccess {
  private readonly tokenDigest?: Buffer;

  constructor(private readonly settings: Config['metrics'] = {}) {
    this.tokenDigest = settings.token === undefined ? undefined : sha256(settings.token);
  }

  /** Whether /metrics is open to anyone who reaches the API's port. */
  get openOnApiPort(): boolean {
    return this.settings.port === undefined && this.tokenDigest === undefined;
  }

  onApiPort(authorization: string | undefined): MetricsVerdict {
    if (this.settings.port !== undefined) return 'not-found';
    return this.authorized(authorization) ? 'serve' : 'unauthorized';
  }

  onMetricsPort(authorization: string | undefined): MetricsVerdict {
    return this.authorized(authorization) ? 'serve' : 'unauthorized';
  }

  private authorized(authorization: string | undefined): boolean {
    if (!this.tokenDigest) return true;
    const given = BEARER.exec(authorization ?? '')?.[1] ?? '';
    // Digests have one length, so the comparison takes the same time whatever was sent.
    return timingSafeEqual(sha256(given), this.tokenDigest);
  }
}

export const METRICS_UNAUTHORIZED = {
  status: 401,
  code: 'unauthorized',
  message: 'send the metrics token as Authorization: Bearer <METRICS_TOKEN>',
  headers: { 'www-authenticate': 'Bearer realm="metrics"' },
} as const;
