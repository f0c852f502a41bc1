import { HubError, describeError, type Logger } from '../platform';
import type { BatchContext, BatchPosition, BatchStep, ConsumerOptions, HubConsumer } from './consumer';
import { errorTypes, nextOffset, produceRequests, type InboundRecord, type OutboundBatch } from './records';
import { inTransaction, retryConcurrentTransactions, sendInTransaction, type TransactionalProducerPort } from './transactions';

/** What a transactional handler wants committed with a batch's input offsets. */
export interface TransactionalBatch {
  readonly outputs: readonly OutboundBatch[];
  /**
   * Further input offsets of the same partition number to commit in the same transaction (the next
   * offset to read, per topic): outputs of other topics' input the handler publishes on their behalf.
   * Offsets only move forward: an offset at or below the committed one must not be given.
   */
  readonly offsets?: readonly { readonly topic: string; readonly offset: string }[];
  /** Runs once the transaction has committed (not when it failed); its failure is logged, not thrown. */
  readonly committed?: () => Promise<void>;
}

export interface TransactionalConsumerOptions extends Omit<ConsumerOptions, 'handleBatch'> {
  /**
   * Prefix of the transactional ids: one producer per input partition number (`<prefix>-p<n>`), so
   * that whichever member takes partition n over fences the previous owner's unfinished transaction.
   */
  readonly transactionalIdPrefix: string;
  /**
   * Processes records of one partition in offset order and returns what to publish. The returned
   * records and the input offsets are committed in one Kafka transaction: both or neither.
   */
  readonly handleBatch: (records: readonly InboundRecord[], context: BatchContext) => Promise<TransactionalBatch>;
  /**
   * Most records handed to `handleBatch` and committed in one transaction (default: a fetched batch
   * whole, up to 4 MiB). A fetch of one partition can hold tens of thousands of records; this bounds
   * what a transaction holds in memory at once.
   */
  readonly maxRecordsPerTransaction?: number;
}

export interface TransactionalConsumerDependencies {
  /** A group member feeding its batches to `step` (a fake in the unit tests). */
  readonly member: (step: BatchStep, onJoin: (assigned: readonly { topic: string; partition: number }[]) => void) => HubConsumer;
  /** A transactional producer, not yet connected. */
  readonly newProducer: (transactionalId: string) => TransactionalProducerPort;
  readonly logger: Logger;
}

/**
 * The consume-transform-produce loop: each batch's outputs and its input offsets are committed in
 * one Kafka transaction, by a producer per input partition number.
 */
export function transactionalConsumer(options: TransactionalConsumerOptions, deps: TransactionalConsumerDependencies): HubConsumer {
  const { logger } = deps;
  const producers = new Map<number, TransactionalProducerPort>();
  /** The partition numbers assigned to this member at its last join. */
  const assignedNumbers = new Set<number>();
  const producerFor = async (partition: number): Promise<TransactionalProducerPort> => {
    let producer = producers.get(partition);
    if (producer === undefined) {
      producer = deps.newProducer(`${options.transactionalIdPrefix}-p${partition}`);
      await producer.connect();
      producers.set(partition, producer);
    }
    return producer;
  };
  /**
   * Forgets a partition number's producer. Whoever took the number over started a producer of
   * the same transactional id, which fenced ours for good: every later transaction of it fails
   * (INVALID_PRODUCER_EPOCH). A new one, started when the number comes back, fences the other.
   */
  const dropProducer = async (partition: number): Promise<void> => {
    const producer = producers.get(partition);
    if (producer === undefined) return;
    producers.delete(partition);
    await producer.disconnect().catch((error: unknown) => {
      logger.debug({ err: error, partition }, 'disconnecting a transactional producer failed');
    });
  };
  // Batches of the same partition number (one per co-partitioned topic) share a transactional
  // producer, which runs one transaction at a time, and the handler's state for that number:
  // they take turns; other partition numbers proceed meanwhile.
  const turns = new Map<number, Promise<void>>();
  const inTurn = async (partition: number, work: () => Promise<void>): Promise<void> => {
    const previous = turns.get(partition) ?? Promise.resolve();
    const mine = previous.then(work);
    const settled = mine.catch(() => undefined);
    turns.set(partition, settled);
    try {
      await mine;
    } finally {
      if (turns.get(partition) === settled) turns.delete(partition);
    }
  };
  const transact = async (batch: BatchPosition, records: readonly InboundRecord[], context: BatchContext): Promise<void> => {
    const handled = await options.handleBatch(records, context);
    // A number revoked while its batch was being handled belongs to another member now: a new
    // producer would fence the new owner's. The batch is given up (kafkajs drops it as stale).
    if (!assignedNumbers.has(batch.partition)) {
      throw new HubError(
        'PRODUCER_FENCED',
        `partition number ${batch.partition} was revoked while its batch of ${batch.topic} was handled; the new owner publishes it`,
      );
    }
    const producer = await producerFor(batch.partition);
    // The batch's own topic up to its end (past the markers after it), or further when the
    // handler says so; other topics as it says.
    const next = new Map<string, bigint>([[batch.topic, BigInt(context.through)]]);
    for (const o of handled.offsets ?? []) if (BigInt(o.offset) > (next.get(o.topic) ?? -1n)) next.set(o.topic, BigInt(o.offset));
    const offsets = [...next].map(([topic, offset]) => ({ topic, offset: offset.toString() }));
    try {
      await inTransaction(producer, async (transaction) => {
        await sendInTransaction(transaction, produceRequests(handled.outputs));
        await retryConcurrentTransactions(() =>
          transaction.sendOffsets({
            consumerGroupId: options.groupId,
            topics: offsets.map((o) => ({ topic: o.topic, partitions: [{ partition: batch.partition, offset: o.offset }] })),
          }),
        );
      });
    } catch (error) {
      // The producer may be fenced (another member took the partition number and gave it
      // back): a new one must be started, and the batch tried again. kafkajs gives up on a
      // non-retriable error and leaves the process up consuming nothing; the hub's error is retriable.
      await dropProducer(batch.partition);
      const types = errorTypes(error);
      logger.warn(
        { err: error, topic: batch.topic, partition: batch.partition, types },
        'transaction failed and was aborted; the batch will be retried with a new producer',
      );
      throw new HubError(
        'PRODUCER_FENCED',
        `transaction of ${batch.topic}/${batch.partition} failed (${types.join(', ') || describeError(error)}): ${describeError(error)}`,
        { cause: error },
      );
    }
    options.onCommitted?.(batch.topic, batch.partition, context.through, batch.highWatermark);
    if (handled.committed !== undefined) {
      await handled.committed().catch((error: unknown) => {
        logger.warn({ err: error, topic: batch.topic, partition: batch.partition }, 'the step after a committed transaction failed');
      });
    }
  };
  const limit = options.maxRecordsPerTransaction ?? Number.POSITIVE_INFINITY;
  const consumer = deps.member(
    async (_consumer, batch, all, context) => {
      // A batch of markers alone is handed on too: the handler keeps its position past them.
      if (all.length === 0) await inTurn(batch.partition, () => transact(batch, all, context));
      for (let from = 0; from < all.length; from += limit) {
        const records = all.slice(from, from + limit);
        // Only the last slice of a batch commits past the markers that follow its records.
        const through = from + limit < all.length ? nextOffset(records) : context.through;
        await inTurn(batch.partition, () => transact(batch, records, { ...context, through }));
        if (from + limit < all.length) {
          context.resolveOffset(records[records.length - 1]?.offset ?? '0');
          await context.heartbeat();
        }
      }
    },
    (assigned) => {
      // Producers of numbers this member lost are fenced by the new owner: forget them, after
      // any batch of that number still in hand.
      const kept = new Set(assigned.map((a) => a.partition));
      assignedNumbers.clear();
      for (const partition of kept) assignedNumbers.add(partition);
      for (const partition of [...producers.keys()]) {
        if (!kept.has(partition)) void inTurn(partition, () => dropProducer(partition)).catch(() => undefined);
      }
    },
  );
  return {
    status: () => consumer.status(),
    crashed: consumer.crashed,
    start: () => consumer.start(),
    async stop() {
      await consumer.stop();
      for (const producer of producers.values()) await producer.disconnect();
      producers.clear();
    },
  };
}
