import type { Worker } from 'node:worker_threads';
import { HubError, unpack, type Environment, type Logger } from '../platform';
import { startTypeScriptWorker } from '../platform/runtime';
import type { PreparedPage } from './warning-page';
import type { FromWarningWorker, PageJob, ToWarningWorker, WarningWorkerData } from './warning-worker';

/**
 * The worker threads of warning runs. A run that publishes hands its people to them a page at a
 * time; each page is read, judged and encoded on a worker, and the pages come back in order to the
 * run's thread, which publishes and records them (warning-run.ts). On one thread a run of a million
 * person-years was bound by that one core; the workers spread it over every core, and the run's
 * thread is left with Kafka and Redis writes.
 *
 * A worker that fails fails the run's pages it held, and so the run: a run that publishes again
 * publishes the same event ids, which delivery recognises. A new worker takes its place at the
 * next run. Workers start at a run's first page, or at start(), and stay until close.
 */
export interface WarningWorkers {
  /** Starts every worker now (a service does, so that its first run does not wait for them). */
  start(): Promise<void>;
  /** The prepared pages of `stateKeys`, in order; a few are computed ahead of the one being consumed. */
  pages(job: PageJob, stateKeys: readonly string[]): AsyncGenerator<PreparedPage>;
  close(): Promise<void>;
}

/** People per page: a bounded slice of memory on either side, large enough to keep the workers busy. */
const pageSize = 2_000;

interface Slot {
  worker: Promise<Worker> | undefined;
  readonly pending: Map<number, { resolve: (page: PreparedPage) => void; reject: (error: Error) => void }>;
}

export function createWarningWorkers(options: {
  readonly count: number;
  readonly env: Environment;
  readonly namespace: string;
  readonly logger: Logger;
}): WarningWorkers {
  const slots: Slot[] = Array.from({ length: options.count }, () => ({ worker: undefined, pending: new Map() }));
  let nextId = 0;
  let closing = false;

  const spawn = (slot: Slot, index: number): Promise<Worker> => {
    const data: WarningWorkerData = { env: options.env, namespace: options.namespace };
    const worker = startTypeScriptWorker(new URL('./warning-worker.ts', import.meta.url), {
      workerData: data,
      // A page's people and records live until it is sent back: a young generation that holds them
      // keeps them out of full collections.
      resourceLimits: { maxYoungGenerationSizeMb: 64 },
      name: `warnings-${index}`,
    });
    const ready = new Promise<Worker>((resolve, reject) => {
      const lost = (error: Error): void => {
        if (slot.worker === ready) slot.worker = undefined;
        reject(error);
        for (const waiter of slot.pending.values()) waiter.reject(error);
        slot.pending.clear();
        if (!closing) options.logger.error({ err: error, worker: index }, 'warnings worker stopped; its run fails and can be run again');
      };
      worker.on('message', (message: FromWarningWorker) => {
        if (message.kind === 'ready') {
          resolve(worker);
          return;
        }
        const waiter = slot.pending.get(message.id);
        slot.pending.delete(message.id);
        if (message.kind === 'failed') {
          waiter?.reject(new HubError(message.code ?? 'PROCESSING_FAILED', `warnings worker ${index}: ${message.message}`));
          return;
        }
        const values = unpack(message.values, message.ends);
        waiter?.resolve({
          messages: message.keys.map((key, i) => ({ key, value: values[i] ?? Buffer.alloc(0) })),
          sentPairs: [...message.sentPairs],
          indexPairs: [...message.indexPairs],
          counts: message.counts,
          rows: [],
        });
      });
      worker.on('error', (error) => {
        lost(new HubError('PROCESSING_FAILED', `warnings worker ${index} failed: ${error.message}`, { cause: error }));
      });
      worker.on('exit', (code) => {
        lost(new HubError('PROCESSING_FAILED', `warnings worker ${index} exited (code ${code})`));
      });
    });
    ready.catch(() => undefined);
    slot.worker = ready;
    return ready;
  };

  const compute = async (index: number, job: PageJob, stateKeys: readonly string[]): Promise<PreparedPage> => {
    const slot = slots[index];
    if (slot === undefined) throw new HubError('PROCESSING_FAILED', `no warnings worker ${index}`);
    const worker = await (slot.worker ?? spawn(slot, index));
    const id = nextId;
    nextId += 1;
    return new Promise<PreparedPage>((resolve, reject) => {
      slot.pending.set(id, { resolve, reject });
      worker.postMessage({ kind: 'page', id, job, stateKeys } satisfies ToWarningWorker);
    });
  };

  return {
    async start() {
      await Promise.all(slots.map((slot, index) => slot.worker ?? spawn(slot, index)));
    },

    async *pages(job, stateKeys) {
      if (closing) throw new HubError('PROCESSING_FAILED', 'the warnings workers are closing');
      const ahead: Promise<PreparedPage>[] = [];
      let next = 0;
      // Two pages per worker in flight: one being computed, one waiting its turn.
      const fill = (): void => {
        while (ahead.length < 2 * slots.length && next < stateKeys.length) {
          const page = compute((next / pageSize) % slots.length, job, stateKeys.slice(next, next + pageSize));
          page.catch(() => undefined);
          ahead.push(page);
          next += pageSize;
        }
      };
      fill();
      for (let page = ahead.shift(); page !== undefined; page = ahead.shift()) {
        const prepared = await page;
        fill();
        yield prepared;
      }
    },

    async close() {
      closing = true;
      await Promise.all(
        slots.map(async (slot) => {
          const worker = await slot.worker?.catch(() => undefined);
          if (worker === undefined) return;
          const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
          worker.postMessage({ kind: 'close' } satisfies ToWarningWorker);
          const timer = setTimeout(() => void worker.terminate(), 5_000);
          await exited;
          clearTimeout(timer);
        }),
      );
    },
  };
}
