import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { assertLogsHoldNoSecrets, rememberSecret } from './secrets-hygiene.js';
import { TEST_PUBLIC_URL, TEST_REDIS_URL, TEST_SECRETS, TEST_SITE_URL } from './service.js';

export const ROOT = join(import.meta.dirname ?? process.cwd(), '..', '..');
const MAIN = join(ROOT, 'dist', 'main.js');
const CLI = join(ROOT, 'dist', 'cli', 'main.js');

export interface ServiceProcess {
  child: ChildProcess;
  baseUrl: string;
  output: string[];
  /** Resolves once the process exited and its output was read to the end (then `output` is whole). */
  closed: Promise<void>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export interface ServiceProcessOptions {
  /** `npm`: through `npm run start:prod`, as an operator would start it (npm forwards the signals). */
  launcher?: 'node' | 'npm';
}

/** Starts `node dist/main.js` (the built service, as `npm start` runs it) and waits for its 'listening' log line (level info). */
export async function startServiceProcess(
  env: Record<string, string | undefined>,
  timeoutMs = 60_000,
  options: ServiceProcessOptions = {},
): Promise<ServiceProcess> {
  const [command, args]: [string, string[]] = options.launcher === 'npm' ? ['npm', ['run', 'start:prod']] : [process.execPath, [MAIN]];
  const child = spawn(command, args, {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      npm_config_update_notifier: 'false',
      HOST: '127.0.0.1',
      PORT: '0',
      METABASE_SITE_URL: TEST_SITE_URL,
      PUBLIC_URL: TEST_PUBLIC_URL,
      REDIS_URL: TEST_REDIS_URL,
      REDIS_KEY_PREFIX: `test-${randomBytes(6).toString('hex')}`,
      ...TEST_SECRETS,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  let buffer = '';
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`service did not start in time:\n${output.join('\n')}`)), timeoutMs);
    const onData = (chunk: Buffer) => {
      buffer += chunk.toString();
      const lines = buffer.split('\n');
      buffer = lines.pop() ?? '';
      for (const line of lines) {
        output.push(line);
        if (line.includes('embedgate is listening')) {
          clearTimeout(timer);
          resolve(JSON.parse(line).port);
        }
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`service exited with ${code}:\n${output.join('\n')}`));
    });
  });
  // onData stays the one listener on stdout: it records every line, once, whole; a last line without
  // its newline is recorded once the pipes are drained ('close' comes after 'exit' and the last data).
  const closed = new Promise<void>((resolve) =>
    child.once('close', () => {
      if (buffer) output.push(buffer);
      buffer = '';
      resolve();
    }),
  );
  return {
    closed,
    child,
    baseUrl: `http://127.0.0.1:${port}`,
    output,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      const code =
        child.exitCode !== null
          ? child.exitCode
          : await new Promise<number | null>((resolve) => {
              // 'close': the process exited and its output was read to the end (what the assertions read).
              child.once('close', (exitCode) => resolve(exitCode));
              child.kill(signal);
            });
      assertLogsHoldNoSecrets(output, 'service process output');
      return code;
    },
  };
}

/**
 * Runs the built CLI (`npm run cli -- ...` without the build step) and returns what it printed.
 * Asynchronous, so servers in this process (a fake Metabase) keep answering while it runs.
 */
export async function runCli(args: string[], env: Record<string, string | undefined>) {
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk) => (stdout += chunk));
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  const status: number | null = await new Promise((resolve) => child.once('close', (code) => resolve(code)));
  clearTimeout(timer);
  if (args[0] === 'keys') rememberSecret(stdout.trim());
  return { status, stdout, stderr };
}

/** The processes started by `pid`, and theirs (Linux /proc): the service under `npm run`. */
export function descendantPids(pid: number): number[] {
  let children: number[] = [];
  try {
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      children.push(...readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').split(' ').filter(Boolean).map(Number));
    }
  } catch {
    children = [];
  }
  return children.flatMap((child) => [child, ...descendantPids(child)]);
}

/** True while a process with this pid exists. */
export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
