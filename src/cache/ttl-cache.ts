export interface TtlCacheOptions {
  /**
   * The epoch the database is known to be at, or null when that is not known recently enough. With
   * it, an entry stays valid while the epoch it was loaded under is still the current one, however
   * old; without it, an entry expires ttlMs after it was loaded.
   */
  epoch?: () => string | null;
  /** Called for every load (a miss that went to the database). */
  onLoad?: () => void;
  maxEntries?: number;
}

interface Entry<V> {
  value: V;
  expires: number;
  epoch: string | null;
}

/**
 * A small in-process cache of rows the embed path reads on every request. Writes made through this
 * instance invalidate at once (delete, clear); another instance's writes are seen within ttlMs (see
 * Caches). A ttlMs of 0 or less caches nothing.
 */
export class TtlCache<K, V> {
  private readonly entries = new Map<K, Entry<V>>();
  /** Loads in flight: concurrent misses of one key share one load. */
  private readonly loading = new Map<K, Promise<V>>();
  private readonly maxEntries: number;

  constructor(
    private readonly ttlMs: number,
    private readonly options: TtlCacheOptions = {},
  ) {
    this.maxEntries = options.maxEntries ?? 50_000;
  }

  get(key: K): V | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    const valid = this.options.epoch ? entry.epoch !== null && entry.epoch === this.options.epoch() : entry.expires > Date.now();
    if (valid) return entry.value;
    this.entries.delete(key);
    return undefined;
  }

  private set(key: K, value: V, epoch: string | null): void {
    if (this.ttlMs <= 0) return;
    if (this.options.epoch && epoch === null) return;
    if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value as K);
    this.entries.set(key, { value, expires: Date.now() + this.ttlMs, epoch });
  }

  /**
   * The cached value, or the loaded one (cached). Concurrent misses share one load; a load that an
   * invalidation (delete, clear) overtook is returned to its callers but not cached. An entry is
   * tagged with the epoch known when its load started, so a write committed during the load is
   * never hidden behind a newer epoch.
   */
  getOrLoad(key: K, load: () => Promise<V>): Promise<V> {
    const hit = this.get(key);
    if (hit !== undefined) return Promise.resolve(hit);
    const pending = this.loading.get(key);
    if (pending) return pending;
    const epoch = this.options.epoch?.() ?? null;
    this.options.onLoad?.();
    const loaded: Promise<V> = load().then(
      (value) => {
        if (this.loading.get(key) === loaded) {
          this.loading.delete(key);
          this.set(key, value, epoch);
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

  delete(key: K): void {
    this.entries.delete(key);
    this.loading.delete(key);
  }

  clear(): void {
    this.entries.clear();
    this.loading.clear();
  }
}
