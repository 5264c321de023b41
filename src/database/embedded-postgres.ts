import { createServer } from 'node:net';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

export interface EmbeddedPostgres {
  url: string;
  stop(): Promise<void>;
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
 * An in-memory Postgres (PGlite, Postgres compiled to WASM) served over the wire protocol on
 * loopback, for the zero-setup demo. It serves one session at a time: not for load or concurrency.
 */
export async function startEmbeddedPostgres(host = '127.0.0.1'): Promise<EmbeddedPostgres> {
  const db = await PGlite.create();
  const port = await freePort(host);
  const server = new PGLiteSocketServer({ db, host, port, maxConnections: 1 });
  await server.start();
  return {
    url: `postgresql://postgres@${host}:${port}/postgres?sslmode=disable`,
    async stop() {
      await server.stop();
      await db.close();
    },
  };
}
