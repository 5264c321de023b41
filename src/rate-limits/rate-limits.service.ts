import { Inject, Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { ApiError } from '../common/api-error.js';
import { CONFIG, type Config } from '../config/config.js';

const WINDOW_SECONDS = 60;
const MAX_BLOCKED_ADDRESSES = 100_000;

/**
 * Per-key and per-address rate limits (rate-limiter-flexible). With REDIS_URL they are shared by
 * every instance; should Redis fail, each instance falls back to its own in-memory limiter
 * rather than letting requests through unlimited. Without REDIS_URL they are per instance.
 */
@Injectable()
export class RateLimits implements OnModuleDestroy {
  private readonly logger = new Logger('RateLimits');
  private readonly redis?: Redis;
  private readonly embeds: RateLimiterAbstract;
  private readonly authFailures: RateLimiterAbstract;
  /** Addresses over the failed-authentication limit, until when (ms since the epoch). */
  private readonly blockedAddresses = new Map<string, number>();

  constructor(@Inject(CONFIG) config: Config) {
    const { redisUrl, redisKeyPrefix, embedsPerMinute, authFailuresPerMinute } = config.rateLimits;
    const memory = (points: number) => new RateLimiterMemory({ points, duration: WINDOW_SECONDS });
    if (redisUrl) {
      // Auto-pipelining sends the commands of many concurrent requests in one write (the profile of
      // the embed path showed a socket write per command).
      this.redis = new Redis(redisUrl, { enableOfflineQueue: false, maxRetriesPerRequest: 1, connectTimeout: 2_000, enableAutoPipelining: true });
      this.redis.on('error', (error) => this.logger.warn(`Redis: ${error.message}; rate limits fall back to this instance's memory`));
      const shared = (name: string, points: number) =>
        new RateLimiterRedis({
          storeClient: this.redis,
          keyPrefix: `${redisKeyPrefix}:rl:${name}`,
          points,
          duration: WINDOW_SECONDS,
          insuranceLimiter: memory(points),
          // A key already over its limit is refused from memory until the window ends, without asking Redis.
          inMemoryBlockOnConsumed: points,
        });
      this.embeds = shared('embeds', embedsPerMinute);
      this.authFailures = shared('auth-failures', authFailuresPerMinute);
    } else {
      this.logger.warn('no REDIS_URL: rate limits are kept in this instance’s memory, not shared across instances');
      this.embeds = memory(embedsPerMinute);
      this.authFailures = memory(authFailuresPerMinute);
    }
  }

  async onModuleDestroy(): Promise<void> {
    this.redis?.disconnect();
  }

  private tooMany(result: RateLimiterRes, what: string): ApiError {
    const retryAfter = Math.max(1, Math.ceil(result.msBeforeNext / 1000));
    return new ApiError(429, 'rate_limited', `too many ${what}; retry in ${retryAfter} s`, {}, { 'retry-after': String(retryAfter) });
  }

  /** Counts one embed request of an API key; 429 past RATE_LIMIT_EMBEDS_PER_MINUTE. */
  async consumeEmbed(keyId: string): Promise<void> {
    try {
      await this.embeds.consume(keyId);
    } catch (result) {
      if (result instanceof RateLimiterRes) throw this.tooMany(result, 'embed requests for this key');
      throw result;
    }
  }

  /**
   * 429 when this address is blocked for failing authentication too often. Read from this
   * instance's memory (no round trip on every request): an address is blocked here once a failure
   * it made here went over the shared count, so on another instance it gets one more lookup, whose
   * failure is refused with 429 and blocks it there too.
   */
  checkAuthFailures(address: string): void {
    const until = this.blockedAddresses.get(address);
    if (until === undefined) return;
    const msBeforeNext = until - Date.now();
    if (msBeforeNext > 0) throw this.tooMany(new RateLimiterRes(0, msBeforeNext), 'failed authentications from this address');
    this.blockedAddresses.delete(address);
  }

  /** Counts a failed authentication (shared); returns the 429 to answer when that was one too many. */
  async recordAuthFailure(address: string): Promise<ApiError | undefined> {
    try {
      await this.authFailures.consume(address);
      return undefined;
    } catch (result) {
      if (!(result instanceof RateLimiterRes)) throw result;
      if (this.blockedAddresses.size >= MAX_BLOCKED_ADDRESSES) this.blockedAddresses.delete(this.blockedAddresses.keys().next().value!);
      this.blockedAddresses.set(address, Date.now() + result.msBeforeNext);
      return this.tooMany(result, 'failed authentications from this address');
    }
  }
}
