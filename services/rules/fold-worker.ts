import { parentPort, workerData } from 'node:worker_threads';
import type { InboundRecord, OutboundBatch } from '../kafka';
import { HubError, isHubError, loadConfig, pack, unpack, type Environment, type ErrorCode } from '../platform';
import { createLogger } from '../platform/runtime';
import { createLeanRegistryClient } from '../registry';
import { foldDependencies } from './fold-dependencies';
import { filePolicyResolver } from './policy-resolver';
import { createRulesService, type RulesBatch } from './rules-service';
import { redisStateStore } from './state-store';

/**
 * A fold worker of `hub rules` (see fold-workers.ts): decodes a partition's batch, folds it into the
 * state in Redis, computes the changed outputs and encodes them, all off the main thread, which
 * keeps Kafka (fetching, transactions). Each worker has its own Redis connections, registry client
 * and policies; Redis and Kafka hold everything that must outlive it.
 *
 * Records cross the thread boundary packed: one buffer of values (transferred, not copied again)
 * and, per record, where its value ends.
 */
export interface FoldWorkerData {
  /** The service's environment: the worker reads its own configuration from it. */
  readonly env: Environment;
  readonly namespace: string;
}

/** A batch of one input partition, packed. `ends[i]` is where record i's value ends; -1: no value. */
export interface PackedRecords {
  readonly topic: string;
  readonly partition: number;
  readonly offsets: readonly string[];
  readonly timestamps: Float64Array;
  readonly values: Uint8Array;
  readonly ends: Int32Array;
}

/** One output topic's records, packed as the inbound ones are. */
export interface PackedOutputs {
  readonly topic: string;
  readonly keys: readonly string[];
  readonly values: Uint8Array;
  readonly ends: Int32Array;
}

export type ToWorker =
  | { readonly kind: 'batch'; readonly id: number; readonly batch: PackedRecords }
  | { readonly kind: 'committed-offset'; readonly id: number; readonly offset?: string; readonly failure?: string }
  | { readonly kind: 'close' };

export type FromWorker =
  | { readonly kind: 'ready' }
  | {
      readonly kind: 'done';
      readonly id: number;
      readonly outputs: readonly PackedOutputs[];
      readonly offsets: RulesBatch['offsets'];
      readonly published: RulesBatch['published'];
    }
  | { readonly kind: 'failed'; readonly id: number; readonly message: string; readonly code?: ErrorCode; readonly catastrophic?: boolean }
  | { readonly kind: 'committed-offset'; readonly id: number; readonly topic: string; readonly partition: number };

export function packRecords(records: readonly InboundRecord[]): PackedRecords {
  const first = records[0];
  const { values, ends } = pack(records.map((r) => r.value));
  return {
    topic: first?.topic ?? '',
    partition: first?.partition ?? 0,
    offsets: records.map((r) => r.offset),
    timestamps: Float64Array.from(records, (r) => r.timestamp),
    values,
    ends,
  };
}

export function unpackRecords(batch: PackedRecords): InboundRecord[] {
  const values = unpack(batch.values, batch.ends);
  return batch.offsets.map((offset, i) => ({
    topic: batch.topic,
    partition: batch.partition,
    offset,
    key: null,
    value: values[i] ?? null,
    headers: {},
    timestamp: batch.timestamps[i] ?? 0,
  }));
}

export function packOutputs(outputs: readonly OutboundBatch[]): PackedOutputs[] {
  return outputs.map((output) => ({
    topic: output.topic,
    keys: output.records.map((r) => r.key),
    ...pack(output.records.map((r) => r.value)),
  }));
}

export function unpackOutputs(outputs: readonly PackedOutputs[]): OutboundBatch[] {
  return outputs.map((output) => {
    const values = unpack(output.values, output.ends);
    return { topic: output.topic, records: output.keys.map((key, i) => ({ key, value: values[i] ?? Buffer.alloc(0) })) };
  });
}

function runWorker(): void {
  const port = parentPort;
  if (port === null) return;
  const data = workerData as FoldWorkerData;
  const config = loadConfig(data.env, ['topicPrefix', 'schemaRegistryUrl', 'redisUrl', 'logLevel']);
  const logger = createLogger({ level: config.logLevel, role: 'rules' });
  const fold = foldDependencies(config, createLeanRegistryClient(config.schemaRegistryUrl));
  const asked = new Map<number, { resolve: (offset: bigint) => void; reject: (error: Error) => void }>();
  let nextAsk = 0;
  const send = (message: FromWorker, transfer: ArrayBuffer[] = []): void => {
    port.postMessage(message, transfer);
  };
  const service = createRulesService({
    state: redisStateStore({ redis: fold.redis, redisFor: (partition) => fold.redisFor(partition), namespace: data.namespace }),
    policies: filePolicyResolver(),
    topicNames: fold.topicNames,
    decoders: fold.decoders,
    encoders: fold.encoders,
    logger,
    mode: 'live',
    // Kafka is the main thread's: a batch that comes again after a failure asks it there.
    committedOffset: (topic, partition) =>
      new Promise<bigint>((resolve, reject) => {
        const id = nextAsk;
        nextAsk += 1;
        asked.set(id, { resolve, reject });
        send({ kind: 'committed-offset', id, topic, partition });
      }),
  });
  port.on('message', (message: ToWorker) => {
    switch (message.kind) {
      case 'batch':
        service.handleBatch(unpackRecords(message.batch)).then(
          (batch) => {
            const packed = packOutputs(batch.outputs);
            send(
              { kind: 'done', id: message.id, outputs: packed, offsets: batch.offsets, published: batch.published },
              packed.map((p) => p.values.buffer as ArrayBuffer),
            );
          },
          (error: unknown) => {
            // A hub error keeps its code across the thread: STATE_LOST must stop the service, not be retried.
            send({
              kind: 'failed',
              id: message.id,
              message: error instanceof Error ? error.message : String(error),
              ...(isHubError(error) ? { code: error.code, catastrophic: error.catastrophic } : {}),
            });
          },
        );
        return;
      case 'committed-offset': {
        const waiter = asked.get(message.id);
        asked.delete(message.id);
        if (message.offset !== undefined) waiter?.resolve(BigInt(message.offset));
        else waiter?.reject(new HubError('KAFKA_UNAVAILABLE', message.failure ?? 'no committed offset'));
        return;
      }
      case 'close':
        // The registry client's keep-alive sockets would keep the thread alive: end it here.
        fold.close();
        process.exit(0);
    }
  });
  // Ready once Redis answers: a worker that cannot reach it fails the start, not the first batch.
  fold.redis.ping().then(
    () => {
      send({ kind: 'ready' });
    },
    (error: unknown) => {
      throw error;
    },
  );
}

runWorker();
