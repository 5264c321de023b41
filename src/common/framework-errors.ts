import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { toErrorResponse } from './error-response.js';

/**
 * Errors that Fastify's router (a bad percent encoding, an over-long path parameter) and Node's HTTP
 * parser (a malformed request line or header, headers over the limit) answer before any hook or
 * Nest handler runs, in the contract's shape like every other error.
 */

/** Fastify's `frameworkErrors`: the router's own 4xx. */
export function answerFrameworkError(headers: Record<string, string>) {
  return (error: Error, request: FastifyRequest, reply: FastifyReply): void => {
    const response = toErrorResponse(error);
    void reply.headers(headers).header('x-request-id', request.id).status(response.status).send(response.body);
  };
}

const CLIENT_ERRORS: Record<string, [number, string, string]> = {
  HPE_HEADER_OVERFLOW: [431, 'headers_too_large', 'the request line and headers are larger than the server accepts'],
  ERR_HTTP_REQUEST_TIMEOUT: [408, 'request_timeout', 'the request was not received in time'],
  HPE_CHUNK_EXTENSIONS_OVERFLOW: [413, 'payload_too_large', 'the chunk extensions are too large'],
};

/** Fastify's `clientErrorHandler`: a request Node's HTTP parser refused; answered on the raw socket. */
export function answerClientError(headers: Record<string, string>) {
  return (error: Error & { code?: string }, socket: Socket): void => {
    // A reset connection has nobody to answer.
    if (error.code === 'ECONNRESET' || socket.destroyed) return;
    const [status, code, message] = CLIENT_ERRORS[error.code ?? ''] ?? [400, 'bad_request', 'the request is not valid HTTP'];
    const body = JSON.stringify({ error: { code, message } });
    const head = Object.entries({
      ...headers,
      'content-type': 'application/json; charset=utf-8',
      'content-length': String(Buffer.byteLength(body)),
      connection: 'close',
    })
      .map(([name, value]) => `${name}: ${value}`)
      .join('\r\n');
    if (socket.writable) socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n${head}\r\n\r\n${body}`);
    socket.destroy(error);
  };
}
