import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { ROOT, runCli, startServiceProcess } from '../support/process.js';
import { Api, TEST_SECRETS, TEST_SITE_URL } from '../support/service.js';
import { verifyGuestToken, verifySsoToken } from '../support/metabase-verifier.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(() => db.drop());

const boot = (env: Record<string, string | undefined>) =>
  spawnSync(process.execPath, [join(ROOT, 'dist', 'main.js')], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, PORT: '0', HOST: '127.0.0.1', ...env },
    encoding: 'utf8',
    timeout: 30_000,
  });

describe('boot', () => {
  it.each([
    ['METABASE_EMBEDDING_SECRET_KEY', { METABASE_EMBEDDING_SECRET_KEY: undefined }],
    ['METABASE_JWT_SHARED_SECRET', { METABASE_JWT_SHARED_SECRET: 'too-short' }],
    ['METABASE_JWT_SHARED_SECRET', { METABASE_JWT_SHARED_SECRET: TEST_SECRETS.METABASE_EMBEDDING_SECRET_KEY }],
  ])('refuses to start when %s is missing or weak, naming it', (name, change) => {
    const result = boot({ DATABASE_URL: db.url, METABASE_SITE_URL: TEST_SITE_URL, ...TEST_SECRETS, ...change });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(name);
    expect(result.stdout).toBe('');
  });

  it('serves, answers readiness and the Swagger UI, and stops cleanly on SIGTERM', async () => {
    const service = await startServiceProcess({ DATABASE_URL: db.url });
    const api = new Api(service.baseUrl);
    expect((await api.get('/health/ready')).body).toEqual({ status: 'ok', database: 'ok', migrations: 'ok' });
    const ui = await fetch(`${service.baseUrl}/docs`);
    expect(ui.status).toBe(200);
    expect(await ui.text()).toContain('swagger-ui');
    // Access lines are written after the response, through an asynchronous destination: wait for one.
    const accessLogged = () =>
      service.output
        .filter((l) => l.startsWith('{'))
        .some((l) => {
          const line = JSON.parse(l);
          return line.reqId && line.msg === 'request completed' && line.req?.url === '/docs';
        });
    for (let waited = 0; !accessLogged() && waited < 5_000; waited += 50) await new Promise((r) => setTimeout(r, 50));
    expect(accessLogged()).toBe(true);
    expect(await service.stop('SIGTERM')).toBe(0);
  });

  // A longer timeout: the embedded Postgres's first start (initdb, migrations) and the seeding are slow on a busy machine.
  it('with DATABASE_URL unset, runs the demo on an embedded Postgres and each printed curl gets its embed (guest, then SSO)', async () => {
    // The demo's data persist: a directory of its own, so each run starts from a fresh demo.
    const demoDir = mkdtempSync(join(tmpdir(), 'embedgate-boot-demo-'));
    const service = await startServiceProcess(
      {
        DATABASE_URL: undefined,
        METABASE_SITE_URL: undefined,
        METABASE_EMBEDDING_SECRET_KEY: undefined,
        METABASE_JWT_SHARED_SECRET: undefined,
        EMBEDGATE_DEMO_DIR: demoDir,
      },
      120_000,
    );
    try {
      for (let i = 0; i < 100 && service.output.filter((l) => l.includes('curl -s')).length < 2; i++) await new Promise((r) => setTimeout(r, 100));
      const [curl, ssoCurl] = service.output.filter((l) => l.includes('curl -s')).map((l) => l.trim());
      const printed = execFileSync('bash', ['-c', curl], { encoding: 'utf8' });
      const answer = JSON.parse(printed);
      expect(answer.mode).toBe('guest');
      expect(answer.url).toMatch(/^http:\/\/localhost:3000\/embed\/dashboard\//);
      const secrets = JSON.parse(execFileSync('cat', [join(demoDir, 'demo-secrets.json')], { encoding: 'utf8' }));
      expect(verifyGuestToken(answer.token, secrets.METABASE_EMBEDDING_SECRET_KEY).params).toEqual({ customer_id: ['acme-001'] });
      const sso = JSON.parse(execFileSync('bash', ['-c', ssoCurl], { encoding: 'utf8' }));
      expect(sso).toMatchObject({ mode: 'sso', seat: { new: true } });
      expect(verifySsoToken(sso.jwt, secrets.METABASE_JWT_SHARED_SECRET).customer_id).toBe('globex-002');
      expect(service.output.join('\n')).not.toContain(secrets.METABASE_EMBEDDING_SECRET_KEY);
      expect(service.output.join('\n')).not.toContain(secrets.SESSION_SECRET);
    } finally {
      expect(await service.stop('SIGINT')).toBe(0);
      rmSync(demoDir, { recursive: true, force: true });
    }
  }, 180_000);
});

describe('the CLI', () => {
  it('keys create prints the new key alone on stdout, and it authenticates', async () => {
    const result = await runCli(['keys', 'create', '--role', 'admin', '--name', 'ops'], { DATABASE_URL: db.url });
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^egk_[a-z2-7]{16}_[A-Za-z0-9_-]{43}\n$/);
    expect(result.stderr).toMatch(/created admin key/);
    const service = await startServiceProcess({ DATABASE_URL: db.url, MIGRATE_ON_START: 'false' });
    try {
      expect((await new Api(service.baseUrl, result.stdout.trim()).get('/v1/license')).status).toBe(200);
    } finally {
      await service.stop();
    }
  });

  it('npm run -s cli gives the same: the key alone on stdout', () => {
    const result = spawnSync('npm', ['run', '-s', 'cli', '--', 'keys', 'create', '--role', 'finance', '--name', 'via-npm'], {
      cwd: ROOT,
      env: { ...process.env, DATABASE_URL: db.url },
      encoding: 'utf8',
      timeout: 120_000,
    });
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^egk_[a-z2-7]{16}_[A-Za-z0-9_-]{43}\n$/);
  });

  it.each([
    [['keys', 'create', '--role', 'app', '--name', 'x'], /--role must be admin or finance/],
    [['keys', 'create', '--role', 'admin'], /--name is required/],
    [['keys', 'create', '--role', 'admin', '--name', 'x', '--bogus'], /Unknown option/],
    [['frobnicate'], /unknown command/],
  ])('refuses %j with exit 2, usage on stderr and nothing on stdout', async (args, message) => {
    const result = await runCli(args, { DATABASE_URL: db.url });
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stdout).toBe('');
  });

  it('needs DATABASE_URL', async () => {
    const result = await runCli(['keys', 'create', '--role', 'admin', '--name', 'x'], {});
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/DATABASE_URL is required/);
  });

  it('db migrate applies migrations and says so on stderr', async () => {
    const result = await runCli(['db', 'migrate'], { DATABASE_URL: db.url });
    expect(result.status).toBe(0);
    expect(result.stderr).toMatch(/No pending migrations|successfully applied/);
  });
});
