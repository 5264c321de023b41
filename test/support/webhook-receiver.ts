import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { rememberSecret } from './secrets-hygiene.js';

/** One request the receiver got, and what Standard Webhooks verification made of it. */
export interface ReceivedWebhook {
  id: string;
  timestamp: string;
  signature: string;
  body: string;
  /** The parsed body when some secret verified the signature: {type, timestamp, data}. */
  payload?: { type: string; timestamp: string; data: any };
  /** Which of the receiver's secrets verified it, each on its own (by position in `secrets`). */
  verifiedBy: number[];
  /** The status the receiver answered. */
  answered: number;
  contentType: string | undefined;
}

/**
 * A webhook receiver on loopback, as a customer would write one: every request is verified with the
 * `standardwebhooks` package against each secret it knows (a rotation's old and new secret, one at a
 * time), and answered with the status the test asks for (default 204).
 */
export class WebhookReceiver {
  private server?: Server;
  readonly received: ReceivedWebhook[] = [];
  url = '';
  /** Statuses to answer next, in order; then `status`. */
  private plan: number[] = [];
  status = 204;

  constructor(public secrets: string[] = []) {}

  /** Adds a secret to verify with (the one POST /v1/webhooks or rotate-secret answered). */
  trust(secret: string): this {
    rememberSecret(secret);
    this.secrets.push(secret);
    return this;
  }

  /** Answers these statuses to the next requests, one each. */
  answerNext(...statuses: number[]): this {
    this.plan.push(...statuses);
    return this;
  }

  async start(path = '/hooks'): Promise<this> {
    this.server = createServer((request, response) => {
      void readBody(request).then((body) => {
        const header = (name: string) => String(request.headers[name] ?? '');
        const verifiedBy: number[] = [];
        let payload: ReceivedWebhook['payload'];
        this.secrets.forEach((secret, i) => {
          try {
            payload = new Webhook(secret).verify(body, {
              'webhook-id': header('webhook-id'),
              'webhook-timestamp': header('webhook-timestamp'),
              'webhook-signature': header('webhook-signature'),
            }) as ReceivedWebhook['payload'];
            verifiedBy.push(i);
          } catch {
            /* not this secret */
          }
        });
        const answered = this.plan.shift() ?? this.status;
        this.received.push({
          id: header('webhook-id'),
          timestamp: header('webhook-timestamp'),
          signature: header('webhook-signature'),
          body,
          payload,
          verifiedBy,
          answered,
          contentType: request.headers['content-type'],
        });
        response.writeHead(answered, { 'content-type': 'text/plain' }).end(answered >= 300 ? `receiver says ${answered}` : '');
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}${path}`;
    return this;
  }

  /** The verified requests whose type is `type` (any type when omitted). */
  events(type?: string): ReceivedWebhook[] {
    return this.received.filter((r) => r.payload && (type === undefined || r.payload.type === type));
  }

  /** Waits until `predicate` holds of what was received (polling), or fails after `timeoutMs`. */
  async waitFor(predicate: (received: ReceivedWebhook[]) => boolean, what: string, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate(this.received)) {
      if (Date.now() > deadline) throw new Error(`webhook receiver: timed out waiting for ${what}; got ${JSON.stringify(this.summary())}`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  /** What was received, in short (for failure messages). */
  summary() {
    return this.received.map((r) => ({ id: r.id, type: r.payload?.type ?? '(unverified)', answered: r.answered, verifiedBy: r.verifiedBy }));
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}
