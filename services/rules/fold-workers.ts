import type { Worker } from 'node:worker_threads';
import { HubError, type Logger } from '../platform';
import { startTypeScriptWorker } from '../platform/runtime';
import type { FoldWorkerData, FromWorker, ToWorker } from './fold-worker';
import { packRecords, unpackOutputs } from './fold-worker';
import type { RulesService } from './rules-service';

export interface FoldWorkersOptions {
  readonly count: number;
  /** V8 old-generation limit of each worker, in MiB. */
  readonly heapMb: number;
  readonly data: FoldWorkerData;
  readonly logger: Logger;
  /** The group's committed offset of a partition (Kafka stays on the main thread). */
  committedOffset(topic: string, partition: number): Promise<bigint>;
}

export interface FoldWorkers extends RulesService {
  /** How many batches can be folded at once. */
  readonly parallel: number;
  /** Starts the workers; resolves when each one reaches Redis. */
  start(): Promise<void>;
  close(): Promise<void>;
}

interface Slot {
  /** Batches given to this worker and not yet answered (counted before it is even ready). */
  inHand: number;
  worker: Worker | undefined;
  ready: Promise<Worker> | undefined;
  readonly pending: Map<number, { resolve: (outputs: FromWorker & { kind: 'done' }) => void; reject: (error: Error) => void }>;
}

/**
 * The fold stage of `hub rules` on worker threads, while the main thread keeps Kafka (fetching,
 * transactions). A batch goes to the least busy worker. On one thread the service was bound by
 * that one core; with two workers it folds on both cores while transactions are in flight.
 *
 * A worker that dies fails the batches it held; the consumer retries them (their transactions were
 * not begun) on a new worker started in its place. Nothing is lost: a batch's state and outputs
 * reach Redis and Kafka whole or not at all.
 */
export function createFoldWorkers(options: FoldWorkersOptions): FoldWorkers {
  const slots: Slot[] = Array.from({ length: options.count }, () => ({
    inHand: 0,
    worker: undefined,
    ready: undefined,
    pending: new Map(),
  }));
  let nextId = 0;
  let closing = false;

  const spawn = (slot: Slot, index: number): Promise<Worker> => {
    const worker = startTypeScriptWorker(new URL('./fold-worker.ts', import.meta.url), {
      workerData: options.data,
      // A batch's records and people live for the whole batch (about a second): with V8's small
      // default young generation for a capped heap they were promoted and collected by full GCs.
      resourceLimits: { maxOldGenerationSizeMb: options.heapMb, maxYoungGenerationSizeMb: Math.min(128, Math.floor(options.heapMb / 2)) },
      name: `rules-fold-${index}`,
    });
    slot.worker = worker;
    const failAll = (error: Error): void => {
      for (const waiter of slot.pending.values()) waiter.reject(error);
      slot.pending.clear();
    };
    const ready = new Promise<Worker>((resolve, reject) => {
      worker.on('message', (message: FromWorker) => {
        switch (message.kind) {
          case 'ready':
            resolve(worker);
            return;
          case 'done':
          case 'failed': {
            const waiter = slot.pending.get(message.id);
            slot.pending.delete(message.id);
            if (message.kind === 'done') waiter?.resolve(message);
            else
              waiter?.reject(
                new HubError(message.code ?? 'PROCESSING_FAILED', `rules worker ${index}: ${message.message}`, {
                  catastrophic: message.catastrophic ?? false,
                }),
              );
            return;
          }
          case 'committed-offset':
            options.committedOffset(message.topic, message.partition).then(
              (offset) => {
                worker.postMessage({ kind: 'committed-offset', id: message.id, offset: offset.toString() } satisfies ToWorker);
              },
              (error: unknown) => {
                worker.postMessage({ kind: 'committed-offset', id: message.id, failure: String(error) } satisfies ToWorker);
              },
            );
            return;
        }
      });
      const lost = (error: Error): void => {
        if (slot.worker === worker) {
          slot.worker = undefined;
          slot.ready = undefined;
        }
        reject(error);
        failAll(error);
        if (!closing) options.logger.error({ err: error, worker: index }, 'rules worker stopped; its batches are retried on a new one');
      };
      worker.on('error', (error) => {
        lost(new HubError('PROCESSING_FAILED', `rules worker ${index} failed: ${error.message}`, { cause: error }));
      });
      worker.on('exit', (code) => {
        lost(new HubError('PROCESSING_FAILED', `rules worker ${index} exited (code ${code})`));
      });
    });
    ready.catch(() => undefined);
    slot.ready = ready;
    return ready;
  };

  /**
   * The worker with the fewest batches in hand. A partition's batches never overlap (the consumer
   * hands it the next one only after the last is committed), so any worker may take any of them;
   * a fixed partition-to-worker map left one worker idle whenever a fetch's large batches fell on
   * partitions of the other.
   */
  const workerFor = (): { slot: Slot; ready: Promise<Worker> } => {
    let index = 0;
    slots.forEach((candidate, i) => {
      if (candidate.inHand < (slots[index]?.inHand ?? 0)) index = i;
    });
    const slot = slots[index];
    if (slot === undefined) throw new HubError('PROCESSING_FAILED', `no rules worker ${index}`);
    return { slot, ready: slot.ready ?? spawn(slot, index) };
  };

  return {
    parallel: options.count,
    async start() {
      await Promise.all(slots.map((slot, index) => slot.ready ?? spawn(slot, index)));
    },

    async handleBatch(records) {
      const first = records[0];
      if (first === undefined) return { outputs: [], offsets: [], published: [] };
      if (closing) throw new HubError('PROCESSING_FAILED', 'the rules workers are closing');
      const { slot, ready } = workerFor();
      slot.inHand += 1;
      try {
        const worker = await ready;
        const id = nextId;
        nextId += 1;
        const batch = packRecords(records);
        const done = await new Promise<FromWorker & { kind: 'done' }>((resolve, reject) => {
          slot.pending.set(id, { resolve, reject });
          worker.postMessage({ kind: 'batch', id, batch } satisfies ToWorker, [batch.values.buffer as ArrayBuffer]);
        });
        return { outputs: unpackOutputs(done.outputs), offsets: done.offsets, published: done.published };
      } finally {
        slot.inHand -= 1;
      }
    },

    async close() {
      closing = true;
      await Promise.all(
        slots.map(async (slot) => {
          const worker = slot.worker;
          if (worker === undefined) return;
          const exited = new Promise<void>((resolve) =>
            worker.once('exit', () => {
              resolve();
            }),
          );
          worker.postMessage({ kind: 'close' } satisfies ToWorker);
          const timer = setTimeout(() => {
            void worker.terminate();
          }, 5_000);
          await exited;
          clearTimeout(timer);
        }),
      );
    },
  };
}
