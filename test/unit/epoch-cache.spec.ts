import { EpochCache } from '../../src/cache/epoch-cache.js';

/** A load the test resolves by hand, counting how many were started. */
function manualLoads<V>() {
  const started: Array<(value: V) => void> = [];
  return { started, load: () => new Promise<V>((resolve) => started.push(resolve)) };
}

describe('EpochCache', () => {
  it('serves a row while the epoch stays, and reloads once it moves', async () => {
    let epoch: string | null = '1';
    let loads = 0;
    const cache = new EpochCache<string, string>({ epoch: () => epoch, onLoad: () => loads++ });
    let value = 'v1';
    const read = () => cache.getOrLoad('k', async () => value);
    expect(await read()).toBe('v1');
    value = 'v2';
    expect(await read()).toBe('v1');
    expect(loads).toBe(1);
    epoch = '2';
    expect(await read()).toBe('v2');
    expect(loads).toBe(2);
  });

  it('caches nothing while the epoch is unknown', async () => {
    let value = 0;
    const cache = new EpochCache<string, number>({ epoch: () => null });
    expect(await cache.getOrLoad('k', async () => ++value)).toBe(1);
    expect(await cache.getOrLoad('k', async () => ++value)).toBe(2);
  });

  it('gives concurrent misses one load', async () => {
    const cache = new EpochCache<string, string>({ epoch: () => '1' });
    const { started, load } = manualLoads<string>();
    const answers = Promise.all([cache.getOrLoad('k', load), cache.getOrLoad('k', load), cache.getOrLoad('k', load)]);
    expect(started).toHaveLength(1);
    started[0]('v');
    expect(await answers).toEqual(['v', 'v', 'v']);
  });

  it('does not cache a load that an invalidation overtook', async () => {
    const cache = new EpochCache<string, string>({ epoch: () => '1' });
    const { started, load } = manualLoads<string>();
    const stale = cache.getOrLoad('k', load);
    await cache.invalidating(['k'], async () => undefined); // this instance wrote the row meanwhile
    started[0]('old');
    expect(await stale).toBe('old');
    const fresh = cache.getOrLoad('k', load);
    expect(started).toHaveLength(2);
    started[1]('new');
    expect(await fresh).toBe('new');
  });

  it('tags a row with the epoch known when its load started, not when it ended', async () => {
    let epoch = '1';
    const cache = new EpochCache<string, string>({ epoch: () => epoch });
    const { started, load } = manualLoads<string>();
    const first = cache.getOrLoad('k', load);
    epoch = '2'; // a write committed while the row was being read
    started[0]('maybe-old');
    await first;
    const again = cache.getOrLoad('k', load);
    expect(started).toHaveLength(2);
    started[1]('new');
    expect(await again).toBe('new');
  });

  describe('invalidating (a local write)', () => {
    it('forgets the key once the write has committed, not before: a load during the write is not kept', async () => {
      const cache = new EpochCache<string, string>({ epoch: () => '1' });
      const { started, load } = manualLoads<string>();
      let commit!: () => void;
      const write = cache.invalidating(['k'], () => new Promise<void>((resolve) => (commit = resolve)));
      // A request on this instance reads the row while the write's transaction is still open.
      const during = cache.getOrLoad('k', load);
      started[0]('old');
      expect(await during).toBe('old');
      commit();
      await write;
      const after = cache.getOrLoad('k', load);
      expect(started).toHaveLength(2);
      started[1]('new');
      expect(await after).toBe('new');
    });

    it('overtakes a load still in flight at the commit', async () => {
      const cache = new EpochCache<string, string>({ epoch: () => '1' });
      const { started, load } = manualLoads<string>();
      const inFlight = cache.getOrLoad('k', load);
      await cache.invalidating(['k'], async () => undefined);
      started[0]('old');
      await inFlight;
      void cache.getOrLoad('k', load);
      expect(started).toHaveLength(2);
    });

    it('forgets also when the write fails, and forgets every key with all', async () => {
      const cache = new EpochCache<string, string>({ epoch: () => '1' });
      await cache.getOrLoad('a', async () => 'a1');
      await cache.getOrLoad('b', async () => 'b1');
      await expect(cache.invalidating(['a'], async () => Promise.reject(new Error('rolled back')))).rejects.toThrow('rolled back');
      expect(cache.get('a')).toBeUndefined();
      expect(cache.get('b')).toBe('b1');
      await cache.invalidating('all', async () => undefined);
      expect(cache.get('b')).toBeUndefined();
    });
  });
});
