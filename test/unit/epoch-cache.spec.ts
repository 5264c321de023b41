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
    cache.delete('k'); // this instance wrote the row meanwhile
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
});
