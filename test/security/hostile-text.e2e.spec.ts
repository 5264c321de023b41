import { routeTableOf } from '../../src/app.factory.js';
import { loggableUrl } from '../../src/logging/logger.js';
import { Api, seed, startService, type RunningService } from '../support/service.js';

/**
 * Hostile text into every string field of every request body, every query parameter and every path
 * parameter, generated from the OpenAPI document (which the same zod schemas that validate produce)
 * and the route table: a new route or field is covered without editing this suite. Each answer is a
 * 400 in the contract's shape naming the field, and the database is unchanged.
 */

type Schema = {
  type?: string | string[];
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  additionalProperties?: Schema | boolean;
  propertyNames?: Schema;
  anyOf?: Schema[];
  oneOf?: Schema[];
  allOf?: Schema[];
  enum?: unknown[];
  minimum?: number;
  exclusiveMinimum?: boolean | number;
  minItems?: number;
  const?: unknown;
  default?: unknown;
};
type Parameter = { name: string; in: 'query' | 'path' | 'header'; schema?: Schema };
type Operation = {
  parameters?: Parameter[];
  requestBody?: { content?: Record<string, { schema?: Schema }> };
  'x-roles'?: string[];
};

/** Each hostile value, with a name for the test title. Over-long is longer than any field allows. */
const HOSTILE: [string, string][] = [
  ['NUL', 'a\u0000b'],
  ['a lone high surrogate', 'a\ud800b'],
  ['a lone low surrogate', '\udc00'],
  ['BEL', 'a\u0007b'],
  ['an ANSI escape', '\u001b[31mred'],
  ['DEL', 'a\u007fb'],
  ['a C1 control (NEL)', 'a\u0085b'],
  ['a carriage return', 'a\rb'],
  ['an over-long value', 'x'.repeat(5_000)],
];
/** What can travel in a URL (a lone surrogate cannot be percent-encoded as UTF-8). */
const HOSTILE_IN_URL = HOSTILE.filter(([name]) => !name.includes('surrogate')).map(([name, value]) => [name, value.slice(0, 300)] as [string, string]);
const encodeForUrl = (value: string) => encodeURIComponent(value);

let service: RunningService;
let document: { paths: Record<string, Record<string, Operation>> };
const keys: Record<string, Api> = {};
let countsBefore: Record<string, number>;
let licenseBefore: unknown;

const variants = (schema: Schema): Schema[] => [...(schema.anyOf ?? []), ...(schema.oneOf ?? []), ...(schema.allOf ?? [])];
const typesOf = (schema: Schema): string[] => [schema.type ?? []].flat();
const accepts = (schema: Schema, type: string): boolean => typesOf(schema).includes(type) || variants(schema).some((v) => accepts(v, type));

/** A small value of the schema's shape: required fields only. Not necessarily valid; other fields' errors are allowed. */
function sample(schema: Schema): unknown {
  if (schema.const !== undefined) return schema.const;
  if (schema.enum?.length) return schema.enum[0];
  if (accepts(schema, 'object') && schema.properties) {
    return Object.fromEntries((schema.required ?? []).map((name) => [name, sample(schema.properties![name])]));
  }
  const first = variants(schema)[0];
  if (first && !schema.type) return sample(first);
  if (accepts(schema, 'string')) return 'a';
  if (accepts(schema, 'integer') || accepts(schema, 'number')) return schema.minimum === undefined ? 1 : schema.minimum + (schema.exclusiveMinimum ? 1 : 0);
  if (accepts(schema, 'boolean')) return false;
  if (accepts(schema, 'array')) return [];
  return {};
}

/** Every place a string can stand in the body: [path, how to put a value there]. Record keys included. */
function stringPlaces(schema: Schema, path: (string | number)[] = []): { path: (string | number)[]; key?: boolean }[] {
  const places: { path: (string | number)[]; key?: boolean }[] = [];
  if (accepts(schema, 'string') && path.length) places.push({ path });
  for (const variant of variants(schema)) {
    for (const place of stringPlaces(variant, path))
      if (!places.some((p) => p.path.join('.') === place.path.join('.') && p.key === place.key)) places.push(place);
  }
  for (const [name, property] of Object.entries(schema.properties ?? {})) places.push(...stringPlaces(property, [...path, name]));
  if (schema.items) places.push(...stringPlaces(schema.items, [...path, 0]));
  if (schema.additionalProperties && typeof schema.additionalProperties === 'object') {
    places.push({ path: [...path, 'k'], key: true });
    places.push(...stringPlaces(schema.additionalProperties, [...path, 'k']));
  }
  return places;
}

function withValueAt(base: unknown, path: (string | number)[], value: string, asKey: boolean): unknown {
  const root = structuredClone(base ?? {}) as Record<string | number, unknown>;
  let node = root;
  for (let i = 0; i < path.length - 1; i++) {
    const step = path[i];
    const next = typeof path[i + 1] === 'number' ? [] : {};
    if (typeof node[step] !== 'object' || node[step] === null || Array.isArray(node[step]) !== Array.isArray(next)) node[step] = next;
    node = node[step] as Record<string | number, unknown>;
  }
  const last = path[path.length - 1];
  if (asKey) node[value] = 'v';
  else node[last] = value;
  return root;
}

async function tableCounts(): Promise<Record<string, number>> {
  const tables = await service.db.query<{ tablename: string }>(`SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename`);
  const counts: Record<string, number> = {};
  for (const { tablename } of tables) {
    counts[tablename] = Number((await service.db.query<{ n: string }>(`SELECT count(*) AS n FROM "${tablename}"`))[0].n);
  }
  return counts;
}

const keyFor = (operation: Operation): Api => {
  const roles = operation['x-roles'] ?? [];
  const role = ['admin', 'app', 'finance', 'viewer'].find((r) => roles.includes(r));
  return role ? keys[role] : service.anonymous;
};

/** A 400 in the contract's shape whose message names the field. */
function expectRefused(answer: { status: number; body: any }, field: string, what: string) {
  if (answer.status !== 400 || answer.body?.error?.code !== 'validation_error' || !String(answer.body.error.message).includes(field)) {
    throw new Error(`${what}: expected 400 validation_error naming ${field}, got ${answer.status} ${JSON.stringify(answer.body).slice(0, 300)}`);
  }
  expect(Object.keys(answer.body)).toEqual(['error']);
}

beforeAll(async () => {
  service = await startService({ SEAT_BUDGET: '5', RATE_LIMIT_EMBEDS_PER_MINUTE: '100000' });
  const apps = await seed(service.admin, {
    tenants: [{ slug: 'globex', name: 'Globex', kind: 'external', tier: 'drill', customerId: 'globex-1' }],
    resources: [{ key: 'sales-overview', type: 'dashboard', metabaseId: 1, tenantParam: 'customer_id' }],
    apps: { globex: { tenants: ['globex'] } },
  });
  keys.admin = service.admin;
  keys.app = apps.globex;
  keys.finance = service.admin.as(await service.createKey('finance'));
  // The provider endpoints' callers: a browser with a viewer session's cookie.
  keys.viewer = (await apps.globex.viewer('globex', { id: 'viewer-1', email: 'viewer-1@globex.example' })).api;
  document = (await service.anonymous.get('/docs/json')).body;
  countsBefore = await tableCounts();
  licenseBefore = await service.db.query('SELECT * FROM license');
});
afterAll(() => service.stop());

const operations = () =>
  Object.entries(document.paths).flatMap(([path, methods]) =>
    Object.entries(methods)
      .filter(([method]) => ['get', 'post', 'put', 'patch', 'delete'].includes(method))
      .map(([method, operation]) => ({ path, method: method.toUpperCase(), operation })),
  );

/** A value for a path parameter that is not the one under test: a well-formed id that names nothing. */
const fillPath = (path: string, except?: string) =>
  path.replace(/\{(\w+)\}/g, (_all, name: string) => (name === except ? `{${name}}` : name === 'slug' ? 'globex' : '00000000-0000-4000-8000-000000000000'));

it('the route table and the OpenAPI document agree: every /v1 route is documented', () => {
  const documented = new Set(operations().map(({ path, method }) => `${method} ${path.replace(/\{(\w+)\}/g, ':$1')}`));
  const served = routeTableOf(service.app).filter((route) => route.url.startsWith('/v1/') && route.method !== 'HEAD' && route.method !== 'OPTIONS');
  expect(served.length).toBeGreaterThan(15);
  expect(served.map((route) => `${route.method} ${route.url}`).filter((route) => !documented.has(route))).toEqual([]);
});

it('hostile text in every string field of every request body: 400 naming the field', async () => {
  let tried = 0;
  for (const { path, method, operation } of operations()) {
    const schema = operation.requestBody?.content?.['application/json']?.schema;
    if (!schema) continue;
    const base = sample(schema);
    for (const place of stringPlaces(schema)) {
      for (const [name, value] of HOSTILE) {
        const body = withValueAt(base, place.path, value, !!place.key);
        // A list's element or a record's key is named by the list or record (zod names unions by their field).
        const named = place.key ? place.path.slice(0, -1) : [...place.path];
        while (typeof named[named.length - 1] === 'number') named.pop();
        const field = named.join('.');
        const answer = await keyFor(operation).request(method, fillPath(path), body);
        expectRefused(answer, field, `${method} ${path} ${place.key ? 'key of ' : ''}${field} with ${name}`);
        tried++;
      }
    }
  }
  expect(tried).toBeGreaterThan(200);
});

it('hostile text in every query parameter: 400 naming the parameter', async () => {
  let tried = 0;
  for (const { path, method, operation } of operations()) {
    for (const parameter of (operation.parameters ?? []).filter((p) => p.in === 'query')) {
      for (const [name, value] of HOSTILE_IN_URL) {
        // A route with a body gets a well-shaped one: the query is what is under test.
        const schema = operation.requestBody?.content?.['application/json']?.schema;
        const answer = await keyFor(operation).request(
          method,
          `${fillPath(path)}?${parameter.name}=${encodeForUrl(value)}`,
          schema ? sample(schema) : undefined,
        );
        expectRefused(answer, parameter.name, `${method} ${path}?${parameter.name} with ${name}`);
        tried++;
      }
    }
  }
  expect(tried).toBeGreaterThan(20);
});

it('hostile text in every path parameter of every route, documented or not: 400', async () => {
  let tried = 0;
  const routes = routeTableOf(service.app).filter((route) => route.url.includes(':') && route.method !== 'HEAD');
  for (const route of routes) {
    for (const name of [...route.url.matchAll(/:(\w+)/g)].map((m) => m[1])) {
      for (const [what, value] of HOSTILE_IN_URL) {
        const path = fillPath(route.url.replace(/:(\w+)/g, '{$1}'), name).replace(`{${name}}`, encodeForUrl(value));
        const operation = document.paths[route.url.replace(/:(\w+)/g, '{$1}')]?.[route.method.toLowerCase()];
        const api = operation ? keyFor(operation) : service.admin;
        const answer = await api.request(route.method, path, ['POST', 'PUT', 'PATCH'].includes(route.method) ? {} : undefined);
        if (route.url.startsWith('/v1/')) expectRefused(answer, name, `${route.method} ${route.url} :${name} with ${what}`);
        else expect([400, 404]).toContain(answer.status); // console and SAML pages: an error page, never a 5xx
        tried++;
      }
    }
  }
  expect(tried).toBeGreaterThan(20);
});

it('an over-long or non-UTF-8 percent-encoding in a query value: 4xx in shape', async () => {
  for (const query of ['cursor=%ED%A0%80', 'cursor=%FF%FE', `cursor=${'A'.repeat(600)}`, 'type=%C0%80']) {
    const answer = await keys.admin.get(`/v1/audit?${query}`);
    expect([answer.status, query]).toEqual([400, query]);
    expect(Object.keys(answer.body)).toEqual(['error']);
  }
});

it('nothing was written: every table’s row count and the license are as before', async () => {
  expect(await tableCounts()).toEqual(countsBefore);
  expect(await service.db.query('SELECT * FROM license')).toEqual(licenseBefore);
});

it('every public /v1 route with a path parameter (a one-time credential) keeps it out of the logs', () => {
  const isPublic = (route: { method: string; url: string }) => {
    const operation = document.paths[route.url.replace(/:(\w+)/g, '{$1}')]?.[route.method.toLowerCase()];
    return !operation || (operation['x-roles'] ?? []).includes('public');
  };
  const routes = routeTableOf(service.app).filter(
    (route) => route.url.startsWith('/v1/') && route.url.includes(':') && route.method !== 'HEAD' && isPublic(route),
  );
  expect(routes.length).toBeGreaterThanOrEqual(2);
  const secret = 'S3cretS3cretS3cretS3cretS3cretS3cretS3cret';
  for (const route of routes) {
    const url = `${route.url.replace(/:(\w+)/g, secret)}?returnTo=${secret}`;
    expect([route.url, loggableUrl(url)]).toEqual([route.url, expect.not.stringContaining(secret)]);
  }
});
