import type { FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';

declare module 'fastify' {
  interface FastifyInstance {
    /** Closed by the graceful shutdown (see graceful-shutdown.ts). */
    requestAdmission: RequestAdmission;
  }
}

export const SHUTTING_DOWN_BODY = {
  error: { code: 'shutting_down', message: 'the service is shutting down; retry, another instance will answer' },
};

/**
 * Which HTTP requests the service takes on. Open from boot; closed at shutdown, from when a new
 * request gets 503 `shutting_down` in the API's error shape (Fastify's and Nest's own 503 on closing
 * have another) and its connection is closed. Counts the requests in flight, so the shutdown can let
 * them finish while the database is still open.
 */
export class RequestAdmission {
  private open = true;
  private readonly inFlight = new Set<FastifyReply>();
  private readonly drainWaiters: Array<() => void> = [];

  /** The first onRequest hook of the application: a refused request reaches no plugin, guard or database. */
  readonly onRequest = (_request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void => {
    if (!this.open) {
      void reply.code(503).header('connection', 'close').send(SHUTTING_DOWN_BODY);
      return;
    }
    this.inFlight.add(reply);
    // 'close' comes once the response is sent, or the client went away: either way, no longer in flight.
    reply.raw.once('close', () => {
      this.inFlight.delete(reply);
      if (this.inFlight.size === 0) this.releaseDrainWaiters();
    });
    done();
  };

  get admitting(): boolean {
    return this.open;
  }

  get requestsInFlight(): number {
    return this.inFlight.size;
  }

  /** Refuses new requests from now on; the answers of those in flight close their connections, so clients do not reuse them. */
  close(): void {
    this.open = false;
    for (const reply of this.inFlight) {
      if (!reply.sent && !reply.raw.headersSent) void reply.header('connection', 'close');
    }
    if (this.inFlight.size === 0) this.releaseDrainWaiters();
  }

  /** Resolves true once no admitted request is in flight, false when `ms` passed first. */
  drained(ms: number): Promise<boolean> {
    if (this.inFlight.size === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), ms);
      this.drainWaiters.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  private releaseDrainWaiters(): void {
    for (const waiter of this.drainWaiters.splice(0)) waiter();
  }
}

/** Puts a RequestAdmission in front of every route (call before any other onRequest hook that does work). */
export function admitRequests(fastify: FastifyInstance): RequestAdmission {
  const admission = new RequestAdmission();
  fastify.addHook('onRequest', admission.onRequest);
  fastify.decorate('requestAdmission', admission);
  return admission;
}
