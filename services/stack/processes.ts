import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

export function readPid(pidFile: string): number | undefined {
  if (!existsSync(pidFile)) return undefined;
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

export function removePidFile(pidFile: string): void {
  rmSync(pidFile, { force: true });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  // A zombie answers signal 0 but is gone for every purpose that matters here.
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) Z/.test(stat);
  } catch {
    return true;
  }
}

/**
 * True when `pid` runs and its command line contains `marker`. The marker guards against a stale
 * pid file whose number the kernel has since given to an unrelated process.
 */
export function isOurProcess(pid: number, marker: string): boolean {
  if (!isAlive(pid)) return false;
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').includes(marker);
  } catch {
    return true; // No /proc (not Linux): trust the pid file.
  }
}

/** The pid recorded in `pidFile`, when that process still runs and is the one we started. */
export function runningPid(pidFile: string, marker: string): number | undefined {
  const pid = readPid(pidFile);
  return pid !== undefined && isOurProcess(pid, marker) ? pid : undefined;
}

export interface Spawned {
  readonly pid: number;
  /** Set once the process has exited (only observable by the process that spawned it). */
  exit(): { code: number | null; signal: NodeJS.Signals | null } | undefined;
}

export interface SpawnOptions {
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
  readonly logFile: string;
  readonly pidFile: string;
}

function openLog(logFile: string, command: string, args: readonly string[]): number {
  const fd = openSync(logFile, 'a');
  writeSync(fd, `\n==== ${new Date().toISOString()} ${command} ${args.join(' ')}\n`);
  return fd;
}

/**
 * Starts a long-running process that outlives us: its own session, output appended to `logFile`,
 * pid in `pidFile`. `hub stack up` returns while it keeps running.
 */
export async function spawnDetached(command: string, args: readonly string[], options: SpawnOptions): Promise<Spawned> {
  const fd = openLog(options.logFile, command, args);
  try {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env, detached: true, stdio: ['ignore', fd, fd] });
    await new Promise<void>((resolvePromise, reject) => {
      child.once('spawn', resolvePromise);
      child.once('error', reject);
    });
    let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    child.once('exit', (code, signal) => {
      exited = { code, signal };
    });
    child.unref();
    const pid = child.pid;
    if (pid === undefined) throw new Error(`${command} started without a pid`);
    writeFileSync(options.pidFile, `${pid}\n`);
    return { pid, exit: () => exited };
  } finally {
    closeSync(fd);
  }
}

/** Runs a command to completion with its output appended to `logFile`; resolves to its exit code. */
export async function runLogged(command: string, args: readonly string[], options: Omit<SpawnOptions, 'pidFile'>): Promise<number> {
  const fd = openLog(options.logFile, command, args);
  try {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env, stdio: ['ignore', fd, fd] });
    return await new Promise<number>((resolvePromise, reject) => {
      child.once('error', reject);
      child.once('exit', (code, signal) => resolvePromise(code ?? (signal === null ? 1 : 128)));
    });
  } finally {
    closeSync(fd);
  }
}

/**
 * SIGTERM, then SIGKILL after `graceMs`. Kafka's clean shutdown (flush, close the log) and Quarkus's
 * both take a few seconds; killing outright would cost a log recovery on the next start.
 */
export async function stopProcess(pid: number, graceMs: number): Promise<'terminated' | 'killed'> {
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return 'terminated';
  }
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) return 'terminated';
    await sleep(200);
  }
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    return 'terminated';
  }
  while (isAlive(pid)) await sleep(100);
  return 'killed';
}

/** The last lines of a log file, for an error message that should say what went wrong. */
export function logTail(logFile: string, lines = 8): string {
  if (!existsSync(logFile)) return '';
  const text = readFileSync(logFile, 'utf8');
  const tail = text
    .slice(-16_384)
    .split('\n')
    .filter((line) => line.trim() !== '')
    .slice(-lines);
  return tail.map((line) => `    ${line.slice(0, 300)}`).join('\n');
}
