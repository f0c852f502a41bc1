import { spawn } from 'node:child_process';
import { getHeapStatistics } from 'node:v8';
import { HubError, type RoleMain } from '../../services/platform';

/**
 * Old-space cap of a connector and of `hub import`, in MiB, unless HUB_CONNECTOR_HEAP_MB says
 * otherwise. A connector holds a batch or a file's rows in flight, never a file whole; V8 on a large
 * machine lets garbage grow past a gigabyte before collecting it (as the rules service, whose cap
 * the README gives), and a cap turns a runaway input into a failed request instead of a host in swap.
 */
export const defaultConnectorHeapMb = 384;

/** The variable a capped child carries, so it does not spawn again. */
const cappedMarker = 'HUB_HEAP_CAPPED';

/**
 * How to start this role again under the cap, or undefined to run it here: when this process is the
 * `hub` command (bin/hub.mjs) with a heap limit well above the cap and no cap of its own.
 */
export function heapCapCommand(options: {
  readonly argv: readonly string[];
  readonly execArgv: readonly string[];
  readonly heapLimitMb: number;
  readonly env: Readonly<Record<string, string | undefined>>;
}): { args: string[]; heapMb: number } | undefined {
  const text = options.env.HUB_CONNECTOR_HEAP_MB;
  const heapMb = text === undefined || text === '' ? defaultConnectorHeapMb : Number(text);
  if (!Number.isInteger(heapMb) || heapMb < 64 || heapMb > 65_536) {
    throw new HubError('CONFIG_INVALID', `HUB_CONNECTOR_HEAP_MB: "${text ?? ''}" is not a whole number of MiB from 64 to 65536`);
  }
  const entry = options.argv[1];
  if (options.env[cappedMarker] === '1' || entry === undefined || !/(^|[\\/])hub(\.mjs)?$/.test(entry)) return undefined;
  const flags = [...options.execArgv, ...(options.env.NODE_OPTIONS ?? '').split(/\s+/)];
  if (flags.some((flag) => flag.startsWith('--max-old-space-size'))) return undefined;
  if (options.heapLimitMb <= heapMb * 1.25) return undefined;
  return { args: [...options.execArgv, `--max-old-space-size=${heapMb}`, entry, ...options.argv.slice(2)], heapMb };
}

/** `role`, run in a child Node process with the connector heap cap when this one has none (see heapCapCommand). */
export function heapCapped(role: RoleMain): RoleMain {
  return async (args, io) => {
    const command = heapCapCommand({
      argv: process.argv,
      execArgv: process.execArgv,
      heapLimitMb: getHeapStatistics().heap_size_limit / 2 ** 20,
      env: io.env,
    });
    if (command === undefined) return role(args, io);
    const child = spawn(process.execPath, command.args, { stdio: 'inherit', env: { ...process.env, [cappedMarker]: '1' } });
    // SIGTERM and SIGINT go to the child, which drains and exits; this process waits for it.
    const forward = (signal: NodeJS.Signals): void => {
      child.kill(signal);
    };
    process.on('SIGTERM', forward);
    process.on('SIGINT', forward);
    try {
      return await new Promise<number>((resolve, reject) => {
        child.once('error', reject);
        child.once('exit', (code, signal) => resolve(code ?? (signal === null ? 1 : 128 + 15)));
      });
    } finally {
      process.off('SIGTERM', forward);
      process.off('SIGINT', forward);
    }
  };
}
