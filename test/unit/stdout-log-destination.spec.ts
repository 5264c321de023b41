import { Writable } from 'node:stream';
import { MAX_PENDING_LOG_BYTES, StdoutLogDestination } from '../../src/logging/stdout-log-destination.js';

/** An output whose writes complete only when the test says so: a reader that stopped reading. */
function stalledOutput() {
  const chunks: string[] = [];
  const callbacks: Array<(error?: Error | null) => void> = [];
  const output = new Writable({
    highWaterMark: Number.MAX_SAFE_INTEGER,
    write(chunk, _encoding, done) {
      chunks.push(String(chunk));
      callbacks.push(done);
    },
  });
  return { output, chunks, completeOne: () => callbacks.shift()?.(), failOne: (error: Error) => callbacks.shift()?.(error) };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('StdoutLogDestination', () => {
  it('writes the first line at once and the lines written meanwhile together, in one write', async () => {
    const { output, chunks, completeOne } = stalledOutput();
    const destination = new StdoutLogDestination(output);
    destination.write('a\n');
    destination.write('b\n');
    destination.write('c\n');
    expect(chunks).toEqual(['a\n']);
    completeOne();
    await tick();
    expect(chunks).toEqual(['a\n', 'b\nc\n']);
  });

  it('flushWithin answers false at its deadline when the reader does not read, true once it does', async () => {
    const { output, completeOne } = stalledOutput();
    const destination = new StdoutLogDestination(output);
    destination.write('line\n');
    const startedAt = Date.now();
    expect(await destination.flushWithin(50)).toBe(false);
    expect(Date.now() - startedAt).toBeLessThan(1_000);
    const flushed = destination.flushWithin(1_000);
    completeOne();
    expect(await flushed).toBe(true);
  });

  it('holds at most MAX_PENDING_LOG_BYTES for a reader that is not reading, and says how many lines it dropped', async () => {
    const { output, chunks, completeOne } = stalledOutput();
    const destination = new StdoutLogDestination(output);
    const line = `${'x'.repeat(1023)}\n`;
    // The first line goes straight to the output; the next ones wait, up to the bound.
    const lines = 1 + MAX_PENDING_LOG_BYTES / line.length + 100;
    for (let i = 0; i < lines; i++) destination.write(line);
    completeOne();
    await tick();
    const notice = JSON.parse(chunks[1].split('\n')[0]);
    expect(notice).toMatchObject({ level: 40, msg: expect.stringContaining('dropped') });
    expect(notice.droppedLines).toBe(100);
    expect(chunks[1].length).toBeLessThanOrEqual(MAX_PENDING_LOG_BYTES + 1_000);
  });

  it('a write error (EPIPE: the reader went away) ends logging, without a throw, a retry or a pending flush', async () => {
    const { output, chunks, failOne } = stalledOutput();
    output.on('error', () => undefined);
    const destination = new StdoutLogDestination(output);
    destination.write('a\n');
    destination.write('b\n');
    const flushed = destination.flushWithin(5_000);
    failOne(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
    expect(await flushed).toBe(true);
    destination.write('c\n');
    await tick();
    expect(chunks).toEqual(['a\n']);
  });
});
