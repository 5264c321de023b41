import type { Writable } from 'node:stream';

/** Log text held for a reader that is not reading; past it, lines are dropped and counted rather than held without end. */
export const MAX_PENDING_LOG_BYTES = 8 * 1024 * 1024;

/**
 * Where the service's log lines go: standard output, written through Node's own stream. Lines
 * written while a write is in flight go out together in the next one (a write call per batch, not
 * per line). On a pipe, Node writes without blocking and waits for a full pipe to drain by polling
 * it, so a reader that stops reading costs memory up to MAX_PENDING_LOG_BYTES, never a blocked or
 * spinning thread; a reader that went away (EPIPE) ends logging here. Nothing is written
 * synchronously at exit: pino's own destination (sonic-boom) flushes synchronously at exit and
 * retries EAGAIN and EPIPE forever there, which kept the process from ever exiting.
 */
export class StdoutLogDestination {
  private pending: string[] = [];
  private pendingBytes = 0;
  private droppedLines = 0;
  private writing = false;
  private abandoned = false;
  private readonly flushWaiters: Array<() => void> = [];

  constructor(private readonly output: Writable = process.stdout) {
    // EPIPE, or any write error: stop logging here. Without a listener the error would crash the process.
    output.on('error', () => this.abandon());
  }

  write(line: string): boolean {
    if (this.abandoned) return true;
    if (this.pendingBytes + line.length > MAX_PENDING_LOG_BYTES) {
      this.droppedLines++;
      return true;
    }
    this.pending.push(line);
    this.pendingBytes += line.length;
    if (!this.writing) this.writePending();
    return true;
  }

  /** pino's `logger.flush(cb)`: calls back once every line written so far is handed to the OS (or logging was abandoned). */
  flush(callback?: (error?: Error) => void): void {
    if (!callback) return;
    if (this.idle()) callback();
    else this.flushWaiters.push(() => callback());
  }

  /** Flushes, waiting at most `ms`: true when everything went out, false when a reader that is not reading held it. */
  flushWithin(ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), ms);
      this.flush(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  private idle(): boolean {
    return this.abandoned || (!this.writing && this.pending.length === 0);
  }

  private writePending(): void {
    let chunk = this.pending.join('');
    if (this.droppedLines > 0) {
      const notice = {
        level: 40,
        time: new Date().toISOString(),
        service: 'embedgate',
        droppedLines: this.droppedLines,
        msg: 'log lines dropped: standard output was not being read',
      };
      chunk = `${JSON.stringify(notice)}\n${chunk}`;
      this.droppedLines = 0;
    }
    this.pending = [];
    this.pendingBytes = 0;
    this.writing = true;
    try {
      this.output.write(chunk, (error) => {
        this.writing = false;
        if (error) this.abandon();
        else if (this.pending.length > 0) this.writePending();
        else this.releaseFlushWaiters();
      });
    } catch {
      // A destroyed stream may throw rather than call back.
      this.abandon();
    }
  }

  private abandon(): void {
    this.abandoned = true;
    this.writing = false;
    this.pending = [];
    this.pendingBytes = 0;
    this.releaseFlushWaiters();
  }

  private releaseFlushWaiters(): void {
    for (const waiter of this.flushWaiters.splice(0)) waiter();
  }
}
