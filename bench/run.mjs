// npm run bench: embedgate against a bare Fastify server (the floor) on this machine, with autocannon.
// Starts both, seeds a dataset on the real Postgres (BENCH_DATABASE_URL, default the local server),
// measures each scenario for a fixed duration with the same connections, prints a table and writes
// bench/results/latest.json. Two kinds of rows: at saturation (autocannon, closed loop: as fast as the
// service answers) and at a steady rate (an open loop here: requests sent on a fixed schedule whatever
// the answers, latency counted from when each was due, as an operator sizes by). Last, the same steady
// mix and the guest saturation row again on an instance with tracing on (spans exported to a sink here;
// BENCH_TRACE_RATIO, 1 by default, is the share of requests traced).
import { spawn, execFileSync } from 'node:child_process';
import http from 'node:http';
import os from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import pg from 'pg';
import { freePort } from '../dist/database/embedded-postgres.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const ADMIN_URL = process.env.BENCH_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
const DB = 'embedgate_bench';
const DURATION = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const TENANTS = 1000;
const DRILL_TENANTS = 100; // 50 external drill + 50 internal
const USERS = 100_000;
const RESOURCES = 20;
const RETURNING_SEATS = 5000;
const dbUrl = (name) => Object.assign(new URL(ADMIN_URL), { pathname: `/${name}` }).toString();
const log = (m) => process.stderr.write(`${m}\n`);
/** Child processes, stopped however the run ends. */
const children = [];
process.on('exit', () => children.forEach((child) => child.exitCode === null && child.kill('SIGKILL')));

async function sql(url, text, params) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(text, params)).rows;
  } finally {
    await client.end();
  }
}

/** Starts dist/main.js and waits until /health/ready answers. */
async function startEmbedgate(env) {
  const port = await freePort();
  const profile = process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${join(ROOT, 'bench', 'profiles')}`] : [];
  const nodeFlags = process.env.BENCH_NODE_FLAGS?.split(' ').filter(Boolean) ?? [];
  const child = spawn(process.execPath, [...nodeFlags, ...profile, join(ROOT, 'dist', 'main.js')], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env, PORT: String(port) },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  children.push(child);
  let exited = false;
  child.once('exit', () => (exited = true));
  for (let i = 0; i < 600; i++) {
    if (exited) throw new Error('embedgate exited during start');
    const ok = await fetch(`http://127.0.0.1:${port}/health/ready`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return { child, port };
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('embedgate did not become ready in 60 s');
}

/** Starts bench/<file> in a process of its own; resolves to the port it prints. */
async function startHelper(file) {
  const child = spawn(process.execPath, [join(ROOT, 'bench', file)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  return new Promise((resolve, reject) => {
    child.stdout.once('data', (chunk) => resolve(Number(String(chunk).trim())));
    child.once('exit', () => reject(new Error(`bench/${file} exited during start`)));
  });
}

const rssMb = (pid) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024;

// BENCH_ONLY=guest,explain runs the floor and the scenarios whose names contain one of the words.
const ONLY = process.env.BENCH_ONLY?.split(',').filter(Boolean);

/** Embeds issued, summed over modes and rules, as embedgate's GET /metrics counts them. */
async function embedsIssued(base) {
  const text = await (await fetch(`${base}/metrics`)).text();
  return [...text.matchAll(/^embedgate_embeds_issued_total\{[^}]*\} (\d+)$/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
}

/**
 * One scenario. With `metricsOf`, embedgate's own count of embeds issued during it is read from
 * /metrics and set beside autocannon's count of 2xx answers (they differ by at most the requests
 * in flight when autocannon stopped, which it does not count).
 */
async function run(name, options, metricsOf) {
  if (ONLY && !name.startsWith('floor') && !ONLY.some((word) => name.includes(word))) return null;
  const before = metricsOf ? await embedsIssued(metricsOf) : 0;
  const result = await autocannon({ connections: CONNECTIONS, duration: DURATION, ...options });
  const non2xx = result.non2xx + result.errors + result.timeouts;
  const row = {
    scenario: name,
    requests: result.requests.total,
    rps: Math.round(result.requests.average),
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: non2xx,
  };
  if (metricsOf) {
    await new Promise((r) => setTimeout(r, 200)); // let the requests in flight finish
    row.crossCheck = { autocannon2xx: result['2xx'], metricsEmbedsIssued: (await embedsIssued(metricsOf)) - before };
    row.crossCheck.agrees = Math.abs(row.crossCheck.metricsEmbedsIssued - row.crossCheck.autocannon2xx) <= CONNECTIONS;
  }
  return row;
}

const percentile = (sorted, p) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] : NaN);
const round2 = (n) => Math.round(n * 100) / 100;

/**
 * One steady-rate row: `rate` requests/s for DURATION seconds, sent on schedule (the i-th is due at
 * start + i/rate) over keep-alive connections, whatever the answers; a request's latency runs from when
 * it was due to its last byte, so a service that falls behind is charged for the wait (no coordinated
 * omission). `pick()` returns the request: {path, body, kind}.
 */
async function steady(name, base, rate, pick, headers) {
  if (ONLY && !ONLY.some((word) => name.includes(word))) return null;
  const { hostname, port } = new URL(base);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 512 });
  const latencies = [];
  const byKind = {};
  /** Latencies by the second their request was due in: the worst second shows stalls a whole-row p99 hides. */
  const bySecond = [];
  let errors = 0;
  let sent = 0;
  const inFlight = new Set();
  const send = (request, dueAt) => {
    const body = JSON.stringify(request.body);
    const done = new Promise((resolve) => {
      const req = http.request(
        { hostname, port, path: request.path, method: 'POST', agent, headers: { ...headers, 'content-length': Buffer.byteLength(body) } },
        (res) => {
          res.resume();
          res.on('end', () => {
            const ms = performance.now() - dueAt;
            latencies.push(ms);
            (bySecond[Math.floor((dueAt - start) / 1000)] ??= []).push(ms);
            (byKind[request.kind] ??= []).push(ms);
            if (res.statusCode < 200 || res.statusCode >= 300) errors++;
            resolve();
          });
        },
      );
      req.on('error', () => {
        errors++;
        latencies.push(performance.now() - dueAt);
        resolve();
      });
      req.end(body);
    });
    inFlight.add(done);
    void done.then(() => inFlight.delete(done));
  };
  const start = performance.now();
  const total = rate * DURATION;
  // The load generator shares the machine: when its own event loop stalls (its GC, a core taken by
  // Postgres or the service), requests go out late and are charged for it. Its worst stall is reported
  // beside the row, so a latency spike can be told apart from one of embedgate's.
  const generatorDelay = monitorEventLoopDelay({ resolution: 1 });
  generatorDelay.enable();
  await new Promise((resolve) => {
    const tick = () => {
      const due = Math.min(total, Math.floor(((performance.now() - start) / 1000) * rate) + 1);
      for (; sent < due; sent++) send(pick(), start + (sent * 1000) / rate);
      if (sent >= total) resolve();
      else setTimeout(tick, 1);
    };
    tick();
  });
  await Promise.all(inFlight);
  generatorDelay.disable();
  const elapsed = (performance.now() - start) / 1000;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const kinds = Object.fromEntries(
    Object.entries(byKind).map(([kind, values]) => {
      values.sort((a, b) => a - b);
      return [kind, { requests: values.length, p50: round2(percentile(values, 50)), p99: round2(percentile(values, 99)) }];
    }),
  );
  return {
    scenario: name,
    steady: true,
    rate,
    requests: latencies.length,
    rps: Math.round(latencies.length / elapsed),
    p50: round2(percentile(latencies, 50)),
    p99: round2(percentile(latencies, 99)),
    max: round2(latencies.at(-1)),
    errors,
    errorShare: latencies.length ? errors / latencies.length : 0,
    worstSecondP99: round2(
      Math.max(
        ...bySecond.filter(Boolean).map((values) =>
          percentile(
            values.sort((a, b) => a - b),
            99,
          ),
        ),
      ),
    ),
    generatorMaxLoopDelayMs: round2(generatorDelay.max / 1e6),
    kinds,
  };
}

/** An OTLP/HTTP receiver that counts what it gets and keeps nothing: where the traced instance sends its spans. */
async function startSpanSink() {
  const sink = { requests: 0, bytes: 0 };
  const server = http.createServer((req, res) => {
    req.on('data', (chunk) => (sink.bytes += chunk.length));
    req.on('end', () => {
      sink.requests++;
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { sink, url: `http://127.0.0.1:${server.address().port}`, close: () => new Promise((resolve) => server.close(resolve)) };
}

async function main() {
  const loadAtStart = os.loadavg().map(round2);
  // The floor: a bare Fastify server answering a small JSON body, in its own process; and, for
  // reference, an empty NestJS route (the framework embedgate is built on).
  const floorUrl = `http://127.0.0.1:${await startHelper('floor.mjs')}`;
  const nestUrl = `http://127.0.0.1:${await startHelper('nest-floor.mjs')}`;

  log(`seeding ${DB}: ${TENANTS} tenants, ${RESOURCES} resources, ${RETURNING_SEATS} returning SSO users…`);
  await sql(ADMIN_URL, `DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`);
  await sql(ADMIN_URL, `CREATE DATABASE ${DB}`);
  const secrets = { METABASE_EMBEDDING_SECRET_KEY: randomBytes(32).toString('hex'), METABASE_JWT_SHARED_SECRET: randomBytes(32).toString('base64url') };
  const env = {
    DATABASE_URL: dbUrl(DB),
    METABASE_SITE_URL: 'https://metabase.bench.example',
    PUBLIC_URL: 'https://embedgate.bench.example',
    SEAT_BUDGET: '200000',
    HOST: '127.0.0.1',
    PORT: '0',
    LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'info', // as shipped: one access-log line per request
    RATE_LIMIT_EMBEDS_PER_MINUTE: '10000000',
    REDIS_URL: process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379',
    REDIS_KEY_PREFIX: `bench-${randomBytes(4).toString('hex')}`,
    ...secrets,
  };
  // Boot once to migrate, then seed straight into the tables.
  const service = await startEmbedgate(env);
  const url = dbUrl(DB);
  await sql(
    url,
    `
    INSERT INTO tenants (slug, name, kind, tier, customer_id, email_domains)
    SELECT 't-' || i, 'Tenant ' || i,
           (CASE WHEN i > ${TENANTS - DRILL_TENANTS / 2} THEN 'internal' ELSE 'external' END)::"TenantKind",
           (CASE WHEN i > ${TENANTS - DRILL_TENANTS} THEN 'drill' ELSE 'view' END)::"Tier",
           'c-' || i, ARRAY['bench.example']
    FROM generate_series(1, ${TENANTS}) i`,
  );
  await sql(
    url,
    `
    INSERT INTO resources (key, type, metabase_id, tenant_param, guest)
    SELECT 'r-' || i, 'dashboard', i::text, 'customer_id', true FROM generate_series(1, ${RESOURCES}) i`,
  );
  // Returning SSO users: seats already held, identities bound (as their first embeds would have left them).
  await sql(
    url,
    `
    WITH drill AS (SELECT id, slug, row_number() OVER (ORDER BY slug) - 1 AS n FROM tenants WHERE tier = 'drill'),
    users AS (SELECT i, (SELECT id FROM drill WHERE n = i % ${DRILL_TENANTS}) AS tenant_id FROM generate_series(0, ${RETURNING_SEATS - 1}) i),
    seats AS (INSERT INTO seats (tenant_id, user_id, email, last_used_at) SELECT tenant_id, 'ret-' || i, 'ret-' || i || '@bench.example', now() - interval '1 hour' FROM users RETURNING tenant_id)
    INSERT INTO sso_identities (email, tenant_id) SELECT 'ret-' || i || '@bench.example', tenant_id FROM users`,
  );
  await sql(url, `UPDATE tenants t SET seats_held = (SELECT count(*) FROM seats s WHERE s.tenant_id = t.id)`);
  await sql(url, `UPDATE license SET seats_held = (SELECT count(*) FROM seats)`);
  log('seeded');
  const drillSlugs = (await sql(url, `SELECT slug FROM tenants WHERE tier = 'drill' ORDER BY slug`)).map((r) => r.slug);
  const viewSlugs = (await sql(url, `SELECT slug FROM tenants WHERE tier = 'view' AND kind = 'external' ORDER BY slug`)).map((r) => r.slug);
  const adminKey = execFileSync(process.execPath, [join(ROOT, 'dist', 'cli', 'main.js'), 'keys', 'create', '--role', 'admin', '--name', 'bench'], {
    env: { PATH: process.env.PATH, DATABASE_URL: url },
    encoding: 'utf8',
  }).trim();
  const base = `http://127.0.0.1:${service.port}`;
  const appKey = (
    await (
      await fetch(`${base}/v1/apps`, {
        method: 'POST',
        headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'bench', tenants: '*' }),
      })
    ).json()
  ).apiKey;
  const headers = { authorization: `Bearer ${appKey}`, 'content-type': 'application/json' };
  const pick = (list) => list[Math.floor(Math.random() * list.length)];
  const resource = () => `r-${1 + Math.floor(Math.random() * RESOURCES)}`;
  const embed = (bodyOf) => ({
    url: base,
    requests: [{ method: 'POST', path: '/v1/embeds', headers, setupRequest: (req) => ({ ...req, body: JSON.stringify(bodyOf()) }) }],
  });
  const runEmbeds = (name, bodyOf) => run(name, embed(bodyOf), base);
  const user = (id) => ({ id, email: `${id}@bench.example` });

  log('warming up');
  // Warm up (JIT, the pool's connections, caches) on each path: guest, returning SSO and new SSO users
  // (the last with users of their own, so no scenario below finds its users already seated).
  let warm = 0;
  const warmUp = () => {
    const roll = warm++ % 3;
    if (roll === 0) return { tenant: pick(viewSlugs), user: user(`u-${Math.floor(Math.random() * USERS)}`), resource: resource() };
    const i = roll === 1 ? Math.floor(Math.random() * RETURNING_SEATS) : warm;
    const id = roll === 1 ? `ret-${i}` : `warm-${i}`;
    return { tenant: drillSlugs[i % DRILL_TENANTS], user: user(id), resource: resource(), options: { launch: 'direct' } };
  };
  await autocannon({ url: base, connections: 8, duration: 3, requests: embed(warmUp).requests });

  const results = [];
  results.push(await run('floor (bare Fastify)', { url: floorUrl }));
  results.push(
    await run('reference: empty Nest route', {
      url: nestUrl,
      requests: [
        {
          method: 'POST',
          path: '/',
          headers: { 'content-type': 'application/json' },
          setupRequest: (req) => ({ ...req, body: JSON.stringify({ tenant: pick(viewSlugs), user: user('u-1'), resource: resource() }) }),
        },
      ],
    }),
  );
  results.push(
    await runEmbeds('guest embeds', () => ({ tenant: pick(viewSlugs), user: user(`u-${Math.floor(Math.random() * USERS)}`), resource: resource() })),
  );
  results.push(
    await runEmbeds('SSO embeds, returning users', () => {
      const i = Math.floor(Math.random() * RETURNING_SEATS);
      return { tenant: drillSlugs[i % DRILL_TENANTS], user: user(`ret-${i}`), resource: resource(), options: { launch: 'direct' } };
    }),
  );
  let next = 0;
  const seatsBefore = Number((await sql(url, 'SELECT seats_held FROM license'))[0].seats_held);
  results.push(
    await runEmbeds('first SSO embeds (new seats)', () => {
      const i = next++;
      return { tenant: drillSlugs[i % DRILL_TENANTS], user: user(`new-${i}`), resource: resource(), options: { launch: 'direct' } };
    }),
  );
  const [ledger] = await sql(
    url,
    `SELECT (SELECT seats_held FROM license) AS held, (SELECT seat_budget FROM license) AS budget, (SELECT count(*)::int FROM seats) AS rows,
    (SELECT count(*)::int FROM seat_events WHERE kind = 'allocated' AND seats_held_after > seat_budget) AS over_budget`,
  );
  results.push(
    await run('explain', {
      url: base,
      requests: [
        {
          method: 'POST',
          path: '/v1/embeds/explain',
          headers,
          setupRequest: (req) => ({
            ...req,
            body: JSON.stringify({ tenant: pick(drillSlugs), user: user(`u-${Math.floor(Math.random() * USERS)}`), resource: resource() }),
          }),
        },
      ],
    }),
  );

  // Read here, after the same scenarios as before the steady rows existed, so it compares with earlier runs.
  const rss = rssMb(service.child.pid);

  // Steady rates: the mix an installation sees (80 % guest, 19 % returning SSO, 1 % new SSO), and new
  // SSO seats alone. Each new user is new to the whole run.
  let nextNew = 0;
  const newSeatRequest = () => {
    const i = nextNew++;
    return {
      path: '/v1/embeds',
      kind: 'new SSO',
      body: { tenant: drillSlugs[i % DRILL_TENANTS], user: user(`steady-${i}`), resource: resource(), options: { launch: 'direct' } },
    };
  };
  const mixRequest = () => {
    const roll = Math.random();
    if (roll < 0.8)
      return {
        path: '/v1/embeds',
        kind: 'guest',
        body: { tenant: pick(viewSlugs), user: user(`u-${Math.floor(Math.random() * USERS)}`), resource: resource() },
      };
    if (roll < 0.99) {
      const i = Math.floor(Math.random() * RETURNING_SEATS);
      return {
        path: '/v1/embeds',
        kind: 'returning SSO',
        body: { tenant: drillSlugs[i % DRILL_TENANTS], user: user(`ret-${i}`), resource: resource(), options: { launch: 'direct' } },
      };
    }
    return newSeatRequest();
  };
  results.push(await steady('steady: mix at 500/s', base, 500, mixRequest, headers));
  results.push(await steady('steady: mix at 1000/s', base, 1000, mixRequest, headers));
  const seatsBeforeSteady = Number((await sql(url, 'SELECT seats_held FROM license'))[0].seats_held);
  results.push(await steady('steady: new SSO seats at 1000/s', base, 1000, newSeatRequest, headers));
  const seatsAfterSteady = Number((await sql(url, 'SELECT seats_held FROM license'))[0].seats_held);
  const [{ over_budget: overBudget }] = await sql(
    url,
    `SELECT count(*)::int AS over_budget FROM seat_events WHERE kind = 'allocated' AND seats_held_after > seat_budget`,
  );

  const rssAfterSteady = rssMb(service.child.pid);
  const metrics = await (await fetch(`${base}/metrics`)).text().catch(() => '');
  service.child.kill('SIGTERM');
  await new Promise((r) => service.child.once('exit', r));

  // Tracing on, every request sampled unless BENCH_TRACE_RATIO says otherwise (1: the costliest
  // setting), spans exported to a sink in this process.
  const traceRatio = process.env.BENCH_TRACE_RATIO ?? '1';
  const traced = [`steady: mix at 1000/s, traced ${traceRatio}`, `guest embeds, traced ${traceRatio}`];
  let spanSink;
  if (!ONLY || traced.some((name) => ONLY.some((word) => name.includes(word)))) {
    spanSink = await startSpanSink();
    const tracedService = await startEmbedgate({
      ...env,
      OTEL_EXPORTER_OTLP_ENDPOINT: spanSink.url,
      OTEL_TRACES_SAMPLER_ARG: traceRatio,
      REDIS_KEY_PREFIX: `bench-${randomBytes(4).toString('hex')}`,
    });
    const tracedBase = `http://127.0.0.1:${tracedService.port}`;
    const guestRequests = [
      {
        method: 'POST',
        path: '/v1/embeds',
        headers,
        setupRequest: (req) => ({
          ...req,
          body: JSON.stringify({ tenant: pick(viewSlugs), user: user(`u-${Math.floor(Math.random() * USERS)}`), resource: resource() }),
        }),
      },
    ];
    await autocannon({ url: tracedBase, connections: 8, duration: 2, requests: guestRequests });
    results.push(await steady(traced[0], tracedBase, 1000, mixRequest, headers));
    results.push(await run(traced[1], { url: tracedBase, requests: guestRequests }));
    tracedService.child.kill('SIGTERM');
    await new Promise((r) => tracedService.child.once('exit', r));
    await spanSink.close();
  }

  const floorRps = results[0].rps;
  results.splice(0, results.length, ...results.filter(Boolean));
  const targets = {
    'guest embeds': { ratio: 0.5, p99: 20 },
    'SSO embeds, returning users': { ratio: 0.35, p99: 30 },
    'first SSO embeds (new seats)': { rps: 1000 },
    'steady: mix at 1000/s': { steadyP99: 10 },
    'steady: new SSO seats at 1000/s': { steadyRate: 1000 },
  };
  const verdict = (ok) => (ok ? 'met' : 'MISSED');
  const rows = results.map((r) => {
    const t = targets[r.scenario];
    const ratio = r.steady ? NaN : r.rps / floorRps;
    let met = '';
    let target = '';
    if (t?.steadyP99) [target, met] = [`p99 < ${t.steadyP99} ms, no errors`, verdict(r.p99 < t.steadyP99 && r.errors === 0)];
    else if (t?.steadyRate)
      [target, met] = [`${t.steadyRate}/s held, no errors, none over budget`, verdict(r.rps >= t.steadyRate * 0.99 && r.errors === 0 && overBudget === 0)];
    else if (t?.rps) [target, met] = [`≥ ${t.rps}/s`, verdict(r.rps >= t.rps)];
    else if (t) [target, met] = [`≥ ${t.ratio}× floor, p99 < ${t.p99} ms`, verdict(ratio >= t.ratio && r.p99 < t.p99)];
    return { ...r, ratioToFloor: r.steady ? null : Math.round(ratio * 100) / 100, target, met };
  });
  const summary = {
    at: new Date().toISOString(),
    machine: { cpus: os.cpus().length, node: process.version, loadAverageAtStart: loadAtStart, loadAverageAtEnd: os.loadavg().map(round2) },
    durationSeconds: DURATION,
    connections: CONNECTIONS,
    dataset: { tenants: TENANTS, drillTenants: DRILL_TENANTS, users: USERS, resources: RESOURCES, returningSeats: RETURNING_SEATS },
    results: rows,
    firstSsoSeats: { before: seatsBefore, after: Number(ledger.held), rows: ledger.rows, budget: ledger.budget, allocationsOverBudget: ledger.over_budget },
    steadyNewSeats: { before: seatsBeforeSteady, after: seatsAfterSteady, allocationsOverBudgetInTheWholeRun: overBudget },
    spanSink: spanSink?.sink,
    rssMb: Math.round(rss),
    rssTarget: 'under 300 MB',
    rssMbAfterSteadyRows: Math.round(rssAfterSteady),
    metricsEmbedsIssued: metrics.split('\n').filter((l) => l.startsWith('embedgate_embeds_issued_total')),
    memoryMb: Object.fromEntries(
      ['nodejs_heap_size_total_bytes', 'nodejs_heap_size_used_bytes', 'nodejs_external_memory_bytes', 'process_resident_memory_bytes'].map((name) => [
        name,
        Math.round(Number(new RegExp(`^embedgate_${name} (\\S+)$`, 'm').exec(metrics)?.[1] ?? NaN) / 2 ** 20),
      ]),
    ),
  };
  const pad = (s, n) => String(s).padEnd(n);
  const errorsOf = (r) => (r.steady ? `${r.errors} (${round2(r.errorShare * 100)} %)` : r.errors);
  const table = [
    `${pad('scenario', 36)}${pad('req/s', 9)}${pad('p50 ms', 10)}${pad('p99 ms', 10)}${pad('× floor', 9)}${pad('errors', 12)}target`,
    ...rows.map(
      (r) =>
        `${pad(r.scenario, 36)}${pad(r.rps, 9)}${pad(r.p50, 10)}${pad(r.p99, 10)}${pad(r.ratioToFloor ?? '', 9)}${pad(errorsOf(r), 12)}${r.target} ${r.met}`,
    ),
    `steady rows, their worst second's p99 and the load generator's own longest event-loop stall: ${rows
      .filter((r) => r.steady)
      .map((r) => `${r.scenario}: ${r.worstSecondP99} ms, ${r.generatorMaxLoopDelayMs} ms`)
      .join('; ')}`,
    `steady rows: an open loop at the rate named, latency from when each request was due; the mix is 80 % guest, 19 % returning SSO, 1 % new SSO; by kind: ${rows
      .filter((r) => r.steady && Object.keys(r.kinds).length > 1)
      .map(
        (r) =>
          `${r.scenario}: ${Object.entries(r.kinds)
            .map(([kind, k]) => `${kind} p50 ${k.p50} p99 ${k.p99}`)
            .join(', ')}`,
      )
      .join('; ')}`,
    `steady new SSO seats: ${seatsBeforeSteady} → ${seatsAfterSteady} held; allocations over budget in the whole run: ${overBudget}${
      spanSink ? `; tracing on: ${spanSink.sink.requests} exports, ${Math.round(spanSink.sink.bytes / 2 ** 20)} MiB of spans` : ''
    }`,
    `load average (1, 5, 15 min) at start ${loadAtStart.join(', ')}, at end ${os.loadavg().map(round2).join(', ')} on ${os.cpus().length} cores`,
    `/metrics cross-check (embeds issued by embedgate's count, against autocannon's 2xx): ${rows
      .filter((r) => r.crossCheck)
      .map((r) => `${r.scenario} ${r.crossCheck.metricsEmbedsIssued} vs ${r.crossCheck.autocannon2xx}${r.crossCheck.agrees ? '' : ' DISAGREE'}`)
      .join('; ')}`,
    `resident set after the saturation rows: ${summary.rssMb} MB (target under 300 MB: ${summary.rssMb < 300 ? 'met' : 'MISSED'}), after the steady rows ${summary.rssMbAfterSteadyRows} MB; first SSO seats: ${seatsBefore} → ${ledger.held} held (rows ${ledger.rows}), budget ${ledger.budget}, allocations over budget: ${ledger.over_budget}`,
  ].join('\n');
  process.stdout.write(`${table}\n`);
  mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
  writeFileSync(join(ROOT, 'bench', 'results', 'latest.json'), JSON.stringify(summary, null, 2));
  await sql(ADMIN_URL, `DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`);
  for (const child of children) child.kill('SIGTERM');
}

main().catch((error) => {
  process.stderr.write(`bench failed: ${error.stack ?? error}\n`);
  process.exit(1);
});
