import { closeSync, mkdirSync, openSync, rmSync, writeSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { pidFileHolder } from '../common/pid-file.js';

export interface EmbeddedPostgres {
  url: string;
  stop(): Promise<void>;
}

export interface EmbeddedPostgresOptions {
  /** Where the database lives on disk (kept across restarts); unset: in memory, lost at exit. */
  dataDir?: string;
  /** With dataDir: a file holding this process's pid while it has the database open. */
  lockFile?: string;
  host?: string;
}

/** A free TCP port on the host (the OS picks it). */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, host, () => {
      const address = probe.address();
      probe.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/**
 * Takes the lock file for this process: PGlite is one Postgres backend with no lock of its own, and
 * two processes writing one data directory would corrupt it. A lock left by a process that is gone is
 * taken over.
 */
function lockDataDir(lockFile: string): () => void {
  mkdirSync(dirname(lockFile), { recursive: true });
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(lockFile, 'wx', 0o600);
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return () => rmSync(lockFile, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = pidFileHolder(lockFile);
      if (holder !== null) {
        throw new Error(`the demo database is in use by another embedgate (pid ${holder}): stop it, or set EMBEDGATE_DEMO_DIR to another directory`, {
          cause: error,
        });
      }
      rmSync(lockFile, { force: true });
    }
  }
  throw new Error(`could not take the demo database lock ${lockFile}`);
}

/**
 * Postgres compiled to WASM (PGlite) served over the wire protocol on loopback, for the zero-setup
 * demo: on disk in `dataDir` (kept across restarts; Postgres recovers it after a crash), or in memory.
 * It serves one session at a time: not for load or concurrency.
 */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions = {}): Promise<EmbeddedPostgres> {
  const host = options.host ?? '127.0.0.1';
  const unlock = options.dataDir && options.lockFile ? lockDataDir(options.lockFile) : () => undefined;
  try {
    if (options.dataDir) mkdirSync(options.dataDir, { recursive: true });
    const db = await PGlite.create(options.dataDir);
    const port = await freePort(host);
    const server = new PGLiteSocketServer({ db, host, port, maxConnections: 1 });
    await server.start();
    return {
      url: `postgresql://postgres@${host}:${port}/postgres?sslmode=disable`,
      async stop() {
        try {
          await server.stop();
          await db.close();
        } finally {
          unlock();
        }
      },
    };
  } catch (error) {
    unlock();
    throw error;
  }
}
