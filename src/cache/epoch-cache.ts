export interface EpochCacheOptions {
  /**
   * The cache epoch the database is known to be at, or null when that is not known recently enough
   * (see Caches). An entry is valid while the epoch it was loaded under is still the current one.
   * A function that always answers null makes a cache that caches nothing.
   */
  epoch: () => string | null;
  /** Called for every load (a miss that went to the database). */
  onLoad?: () => void;
  maxEntries?: number;
}

/**
 * A small in-process cache of rows the embed path reads on every request, valid while the cache
 * epoch does not move. Writes made through this instance also invalidate at once, once committed
 * (invalidating: the only way to invalidate, so no write can do it too early).
 */
export class EpochCache<K, V> {
  private readonly entries = new Map<K, { value: V; epoch: string }>();
  /** Loads in flight: concurrent misses of one key share one load. */
  private readonly loading = new Map<K, Promise<V>>();
  private readonly maxEntries: number;

  constructor(private readonly options: EpochCacheOptions) {
    this.maxEntries = options.maxEntries ?? 50_000;
  }

  get(key: K): V | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.epoch === this.options.epoch()) return entry.value;
    this.entries.delete(key);
    return undefined;
  }

  /**
   * The cached value, or the loaded one (cached). Concurrent misses share one load; a load that an
   * invalidation overtook is returned to its callers but not cached. An entry is
   * tagged with the epoch known when its load started, so a write committed during the load is
   * never hidden behind a newer epoch.
   */
  getOrLoad(key: K, load: () => Promise<V>): Promise<V> {
    const hit = this.get(key);
    if (hit !== undefined) return Promise.resolve(hit);
    const pending = this.loading.get(key);
    if (pending) return pending;
    const epoch = this.options.epoch();
    this.options.onLoad?.();
    const loaded: Promise<V> = load().then(
      (value) => {
        if (this.loading.get(key) === loaded) {
          this.loading.delete(key);
          if (epoch !== null) this.set(key, value, epoch);
        }
        return value;
      },
      (error: unknown) => {
        if (this.loading.get(key) === loaded) this.loading.delete(key);
        throw error;
      },
    );
    this.loading.set(key, loaded);
    return loaded;
  }

  private set(key: K, value: V, epoch: string): void {
    if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value as K);
    this.entries.set(key, { value, epoch });
  }

  /** The value loaded now, never a cached one (a load in flight is overtaken). */
  getFresh(key: K, load: () => Promise<V>): Promise<V> {
    this.forget(key);
    return this.getOrLoad(key, load);
  }

  /**
   * Runs a write (a whole transaction, committed when it resolves) and then forgets the keys it
   * changed ('all': every key), also when it fails. After the commit, not before: a load that ran
   * meanwhile read the old row, and forgetting first would let it put that row back until the next
   * epoch poll. A load still in flight then is overtaken, so it is not cached either.
   */
  async invalidating<T>(keys: readonly K[] | 'all', write: () => Promise<T>): Promise<T> {
    try {
      return await write();
    } finally {
      if (keys === 'all') {
        this.entries.clear();
        this.loading.clear();
      } else {
        for (const key of keys) this.forget(key);
      }
    }
  }

  private forget(key: K): void {
    this.entries.delete(key);
    this.loading.delete(key);
  }
}
