import { existsSync, readFileSync } from 'node:fs';

/** Whether a process with this pid exists (EPERM: it does, under another user). */
export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The live process other than this one that holds a pid file, or null (no file, a stale one, or ours). */
export function pidFileHolder(file: string): number | null {
  if (!existsSync(file)) return null;
  const holder = Number(readFileSync(file, 'utf8').trim());
  return Number.isInteger(holder) && holder > 0 && holder !== process.pid && isRunning(holder) ? holder : null;
}
