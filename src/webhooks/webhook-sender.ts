import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';
import { textProblem } from '../common/text.js';
import type { SignedRequest } from './webhook-signing.js';
import { addressKind, addressProblem, hostOf, type TargetPolicy } from './webhook-targets.js';

/** How much of a receiver's answer is kept as the attempt's error (the rest is read and dropped). */
const ANSWER_EXCERPT_BYTES = 300;

export interface SendOptions {
  timeoutMs: number;
  policy: TargetPolicy;
  /** Aborts the attempt (the instance is shutting down). */
  signal?: AbortSignal;
}

/** What the receiver answered. */
export interface SendResult {
  status: number;
  /** The beginning of its body, as text safe to store and show. */
  excerpt: string;
}

/** The attempt got no answer: refused target, DNS, connection, TLS, timeout, abort. Its message says which. */
export class SendError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SendError';
  }
}

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/**
 * The lookup of every connection this sender opens: the host's addresses are resolved once, and the
 * connection is refused unless the policy allows every one of them (and, for plain http, each is a
 * loopback address). The check and the connection use the same answer, so a DNS record that changes
 * between a check and the connection cannot slip a private address through.
 */
function guardedLookup(policy: TargetPolicy, loopbackOnly: boolean) {
  return (hostname: string, options: { all?: boolean; family?: number | string }, callback: LookupCallback) => {
    dnsLookup(hostname, { all: true, family: typeof options.family === 'number' ? options.family : 0 }, (error, addresses) => {
      if (error) return callback(error, []);
      for (const { address } of addresses) {
        const problem =
          loopbackOnly && addressKind(address) !== 'loopback' ? `${address} is not a loopback address (plain http)` : addressProblem(address, policy);
        if (problem) return callback(Object.assign(new Error(`refused target: ${hostname} resolves to ${problem}`), { code: 'EREFUSEDTARGET' }), []);
      }
      if (options.all) return callback(null, addresses);
      callback(null, addresses[0].address, addresses[0].family);
    });
  };
}

/** Text from a receiver made safe to store: control characters out, bounded. */
const printable = (value: string) =>
  [...value]
    .map((c) => (textProblem(c) === null ? c : ' '))
    .join('')
    .trim()
    .slice(0, ANSWER_EXCERPT_BYTES);

/**
 * POSTs one signed request. Resolves with the receiver's status (any, 2xx or not) and the start of its
 * answer; rejects with a SendError when there is no answer within `timeoutMs` (the whole exchange,
 * from the lookup to the last byte read), or the target is refused. Redirects are not followed.
 */
export function sendWebhook(target: string, request: SignedRequest, options: SendOptions): Promise<SendResult> {
  const url = new URL(target);
  const host = hostOf(url);
  if (isIP(host) !== 0) {
    const problem = addressProblem(host, options.policy);
    if (problem) return Promise.reject(new SendError(`refused target: ${problem}`));
  }
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  const body = Buffer.from(request.body, 'utf8');
  return new Promise<SendResult>((resolve, reject) => {
    let settled = false;
    const finish = (error: Error | null, result?: SendResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      if (error) reject(error instanceof SendError ? error : new SendError(error.message));
      else resolve(result!);
    };
    const outgoing = send(url, {
      method: 'POST',
      agent: false,
      lookup: guardedLookup(options.policy, url.protocol === 'http:') as never,
      headers: {
        'content-type': 'application/json',
        'content-length': String(body.length),
        'user-agent': 'embedgate-webhooks/1',
        ...request.headers,
      },
    });
    const timer = setTimeout(() => outgoing.destroy(new SendError(`no answer within ${options.timeoutMs} ms`)), options.timeoutMs);
    const onAbort = () => outgoing.destroy(new SendError('aborted: the instance is shutting down'));
    if (options.signal?.aborted) onAbort();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    outgoing.on('error', (error) => finish(error));
    outgoing.on('response', (answer: IncomingMessage) => {
      const chunks: Buffer[] = [];
      let kept = 0;
      answer.on('data', (chunk: Buffer) => {
        if (kept < ANSWER_EXCERPT_BYTES) {
          chunks.push(chunk);
          kept += chunk.length;
        }
      });
      answer.on('error', (error) => finish(error));
      answer.on('end', () => finish(null, { status: answer.statusCode ?? 0, excerpt: printable(Buffer.concat(chunks).toString('utf8')) }));
      answer.on('close', () => finish(new SendError('the connection closed before the answer ended')));
    });
    outgoing.end(body);
  });
}
