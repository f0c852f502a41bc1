import { setTimeout as sleep } from 'node:timers/promises';
import { HubError, type Environment, type HubConfig } from '../platform';
import { displayPath, type StackPaths } from './paths';
import { logTail, type Spawned } from './processes';
import type { Probe } from './probes';

export type ComponentName = 'kafka' | 'registry' | 'redis' | 'postgres';

/** One component of the stack as a health check found it. */
export interface ComponentStatus {
  readonly component: ComponentName;
  /** Where the hub reaches it (passwords masked). */
  readonly address: string;
  readonly healthy: boolean;
  readonly detail: string;
  /** The process this checkout's stack started and that still runs (Kafka, registry). */
  readonly pid?: number;
  /** True when the address is the local stack's own, so `stack up` may start it; false: only checked. */
  readonly local: boolean;
}

export type StackConfig = Pick<HubConfig, 'kafkaBrokers' | 'schemaRegistryUrl' | 'redisUrl' | 'postgresUrl' | 'stateDir'>;

export interface StackContext {
  readonly config: StackConfig;
  readonly paths: StackPaths;
  /** The hub's effective environment (the real one over `.hub/local.env`). */
  readonly env: Environment;
  /** The environment handed to the processes the stack starts: the real one, without local.env secrets. */
  readonly childEnv: NodeJS.ProcessEnv;
  readonly progress: (line: string) => void;
}

export function status(fields: Omit<ComponentStatus, 'pid'>, pid: number | undefined): ComponentStatus {
  return pid === undefined ? fields : { ...fields, pid };
}

/** A STACK_FAILED error naming the component, what failed, and (when there is one) its log. */
export function failure(component: ComponentName, message: string, logFile?: string): HubError {
  const tail = logFile === undefined ? '' : logTail(logFile);
  const where = logFile === undefined ? '' : `; see ${displayPath(logFile)}`;
  return new HubError('STACK_FAILED', `${component}: ${message}${where}${tail === '' ? '' : `\n  last lines of the log:\n${tail}`}`, {
    detail: logFile === undefined ? { component } : { component, log: logFile },
  });
}

export function seconds(since: number): string {
  return ((Date.now() - since) / 1000).toFixed(1);
}

const loopback = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

/** True when host:port is this machine at `port`: the address the local stack serves. */
export function isLoopback(host: string, port: number | string, expectedPort: number): boolean {
  return loopback.has(host) && Number(port) === expectedPort;
}

/** A URL fit for a status table or a log: the password masked. */
export function maskUrl(raw: string): string {
  try {
    const url = new URL(raw);
    if (url.password !== '') url.password = '***';
    return url.toString().replace(/\/$/, '');
  } catch {
    return raw;
  }
}

export interface WaitOptions {
  readonly component: ComponentName;
  readonly probe: () => Promise<Probe>;
  readonly timeoutMs: number;
  readonly logFile?: string;
  /** The process we just started: if it exits, waiting longer is pointless. */
  readonly spawned?: Spawned;
  /** Whether a process started earlier (by another `stack up`) still runs. */
  readonly stillRunning?: () => boolean;
}

/** Polls until the component is healthy; fails fast when its process dies, or at the deadline. */
export async function waitUntilHealthy(options: WaitOptions): Promise<Probe> {
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    const probe = await options.probe();
    if (probe.healthy) return probe;
    const exit = options.spawned?.exit();
    if (exit !== undefined) {
      throw failure(
        options.component,
        `exited before it was ready (${exit.signal === null ? `exit code ${exit.code ?? '?'}` : `signal ${exit.signal}`})`,
        options.logFile,
      );
    }
    if (options.stillRunning !== undefined && !options.stillRunning()) {
      throw failure(options.component, 'its process exited before it was ready', options.logFile);
    }
    if (Date.now() > deadline) {
      throw failure(options.component, `not ready after ${Math.round(options.timeoutMs / 1000)} s (${probe.detail})`, options.logFile);
    }
    await sleep(500);
  }
}
