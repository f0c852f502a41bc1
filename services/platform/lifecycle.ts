import type { Logger } from './logger';
import { describeError, isHubError } from './errors';

type Closer = { name: string; close: () => Promise<void> };

/**
 * Graceful shutdown: SIGTERM or SIGINT closes what the role registered, newest first (so consumers
 * drain and commit before the producer they write through is closed), within a grace period.
 */
export interface Lifecycle {
  /** Registers something to close on shutdown. */
  onShutdown(name: string, close: () => Promise<void>): void;
  /** Resolves when shutdown has been requested (a signal, or `shutdown()`). */
  readonly stopped: Promise<string>;
  /** Closes everything; safe to call more than once. */
  shutdown(reason: string): Promise<void>;
}

export function createLifecycle(logger: Logger, graceMs: number, signals: readonly NodeJS.Signals[] = ['SIGTERM', 'SIGINT']): Lifecycle {
  const closers: Closer[] = [];
  let closing: Promise<void> | undefined;
  let resolveStopped: (reason: string) => void = () => undefined;
  const stopped = new Promise<string>((resolve) => {
    resolveStopped = resolve;
  });

  const shutdown = (reason: string): Promise<void> => {
    if (closing !== undefined) return closing;
    resolveStopped(reason);
    logger.info({ reason }, 'shutting down');
    closing = (async () => {
      const timer = setTimeout(() => {
        logger.error({ graceMs }, 'shutdown grace period ran out; exiting');
        process.exit(1);
      }, graceMs);
      timer.unref();
      for (const closer of [...closers].reverse()) {
        try {
          await closer.close();
          logger.debug({ component: closer.name }, 'closed');
        } catch (error) {
          logger.error({ component: closer.name, err: error }, 'close failed');
        }
      }
      clearTimeout(timer);
      for (const signal of signals) process.off(signal, onSignal);
    })();
    return closing;
  };

  const onSignal = (signal: NodeJS.Signals): void => {
    void shutdown(signal);
  };
  for (const signal of signals) process.on(signal, onSignal);

  return {
    onShutdown: (name, close) => {
      closers.push({ name, close });
    },
    stopped,
    shutdown,
  };
}

/** The central handler for what escapes a role: one line for operators, exit code by kind. */
export function reportFatal(error: unknown, stderr: NodeJS.WritableStream, logger?: Logger): number {
  if (isHubError(error)) {
    stderr.write(`hub: ${error.code}: ${error.message}\n`);
    logger?.error({ code: error.code, err: error }, 'stopped');
    return error.code === 'USAGE' || error.code === 'CONFIG_INVALID' || error.code === 'INPUT_INVALID' ? 2 : 1;
  }
  stderr.write(`hub: unexpected error: ${describeError(error)}\n`);
  logger?.error({ err: error }, 'stopped on unexpected error');
  return 1;
}
