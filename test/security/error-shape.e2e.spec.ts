import { connect } from 'node:net';
import { startService, type RunningService } from '../support/service.js';

/**
 * Every 4xx is in the contract's shape, `{"error": {"code", "message"}}`, including those raised by
 * Fastify and Node's HTTP parser before any of embedgate's code runs. Sent over a raw socket, so the
 * request is exactly as written (fetch would refuse or repair most of these).
 */
let service: RunningService;
let port: number;

beforeAll(async () => {
  service = await startService();
  port = Number(new URL(service.baseUrl).port);
});
afterAll(() => service.stop());

interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Sends raw bytes, reads until the server closes or the response is complete. */
function raw(request: string | Buffer): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer to ${JSON.stringify(String(request).slice(0, 80))}`));
    }, 5_000);
    const finish = () => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString('utf8');
      const [head, ...rest] = text.split('\r\n\r\n');
      const [statusLine, ...headerLines] = head.split('\r\n');
      const headers = Object.fromEntries(headerLines.map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]));
      let body = rest.join('\r\n\r\n');
      if (headers['transfer-encoding'] === 'chunked') {
        body = body
          .replace(/^[0-9a-f]+\r\n/i, '')
          .replace(/\r\n0\r\n\r\n$/, '')
          .replace(/\r\n0\r\n$/, '');
      }
      resolve({ status: Number(statusLine.split(' ')[1]), headers, body });
    };
    socket.on('data', (chunk) => {
      chunks.push(chunk);
      const text = Buffer.concat(chunks).toString('utf8');
      const end = text.indexOf('\r\n\r\n');
      const length = /\r\ncontent-length:\s*(\d+)/i.exec(text)?.[1];
      if (end >= 0 && length !== undefined && Buffer.byteLength(text.slice(end + 4)) >= Number(length)) socket.end();
    });
    socket.on('end', finish);
    socket.on('close', finish);
    socket.on('error', () => undefined);
    socket.write(request);
  });
}

const get = (path: string, headers = '') => raw(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${headers}Connection: close\r\n\r\n`);

const inContractShape = (answer: RawAnswer, status: number) => {
  expect(answer.status).toBe(status);
  expect(answer.headers['content-type']).toMatch(/^application\/json/);
  const body = JSON.parse(answer.body);
  expect(Object.keys(body)).toEqual(['error']);
  expect(Object.keys(body.error).sort()).toEqual(['code', 'message']);
  expect(body.error.code).toMatch(/^[a-z_]+$/);
  expect(body.error.message).not.toMatch(/FST_|fastify|at .*\.js:\d+|Error:/i);
  return body.error as { code: string; message: string };
};

describe('errors raised before embedgate’s code runs', () => {
  it('no such route: 404', async () => {
    expect(inContractShape(await get('/nope'), 404).code).toBe('not_found');
  });

  it('a route with another method: 404 or 405 in shape', async () => {
    const answer = await raw('DELETE /v1/embeds HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    expect([404, 405]).toContain(answer.status);
    inContractShape(answer, answer.status);
  });

  it('an over-long path segment: 4xx in shape', async () => {
    const answer = await get(`/v1/tenants/${'a'.repeat(5_000)}`, 'Authorization: Bearer x\r\n');
    expect(answer.status).toBeGreaterThanOrEqual(400);
    expect(answer.status).toBeLessThan(500);
    inContractShape(answer, answer.status);
  });

  it('a URL over the server’s limit: 4xx in shape', async () => {
    const answer = await get(`/v1/tenants?x=${'a'.repeat(20_000)}`);
    expect(answer.status).toBeGreaterThanOrEqual(400);
    expect(answer.status).toBeLessThan(500);
    inContractShape(answer, answer.status);
  });

  it.each(['/v1/tenants/%E0%A4%A', '/v1/tenants/%zz', '/v1/tenants/%', '/v1/%C0%AF'])('a bad percent encoding (%s): 400', async (path) => {
    const answer = await get(path, 'Authorization: Bearer x\r\n');
    expect(answer.status).toBe(400);
    inContractShape(answer, 400);
  });

  it.each([
    ['a header without a colon', 'Broken header line\r\n'],
    ['a control character in a header value', 'X-Thing: a\u0001b\r\n'],
    ['a space before the colon', 'X-Thing : b\r\n'],
    ['two Content-Length headers that differ', 'Content-Length: 1\r\nContent-Length: 2\r\n'],
  ])('a malformed header (%s): 400', async (_what, header) => {
    const answer = await get('/v1/tenants', header);
    inContractShape(answer, 400);
  });

  it('a malformed request line: 400', async () => {
    inContractShape(await raw('GARBAGE\r\n\r\n'), 400);
  });

  it('headers over the server’s limit: 431 in shape', async () => {
    const answer = await get('/v1/tenants', `X-Big: ${'a'.repeat(20_000)}\r\n`);
    expect([400, 431]).toContain(answer.status);
    inContractShape(answer, answer.status);
  });

  const post = (contentType: string, body: string) =>
    raw(
      `POST /v1/embeds HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer x\r\nContent-Type: ${contentType}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );

  it.each([
    ['invalid JSON', 'application/json', '{"a":'],
    ['an empty JSON body', 'application/json', ''],
    ['a prototype-poisoning key', 'application/json', '{"__proto__":{"x":1}}'],
    ['a constructor-poisoning key', 'application/json', '{"constructor":{"prototype":{"x":1}}}'],
    ['a body that is not JSON', 'text/plain', 'hello'],
    ['a malformed content type', 'application/json; charset', '{}'],
    ['an unsupported charset', 'application/json; charset=utf-7', '{}'],
  ])('body parser errors (%s): 4xx in shape', async (_what, contentType, body) => {
    const answer = await post(contentType, body);
    expect(answer.status).toBeGreaterThanOrEqual(400);
    expect(answer.status).toBeLessThan(500);
    inContractShape(answer, answer.status);
  });

  it('a body over the limit: 413 in shape', async () => {
    inContractShape(await post('application/json', `{"a":"${'x'.repeat(70_000)}"}`), 413);
  });
});
