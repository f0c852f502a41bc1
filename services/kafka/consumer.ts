import type { Consumer } from 'kafkajs';
import { isHubError, type Logger } from '../platform';
import { nextOffset, toInbound, type InboundRecord } from './records';

export interface BatchContext {
  /** Keeps the group membership alive during a long batch. */
  heartbeat(): Promise<void>;
  /** Marks records up to this offset done (committed), before the rest of the batch. */
  resolveOffset(offset: string): void;
  /** True once stop() was called: finish the record at hand and return. */
  isStopping(): boolean;
  /**
   * The offset the batch's commit moves the group to: past its last record and past the
   * transaction markers that follow it (a topic written in transactions has them). A handler that
   * keeps its own position beside the group's (the rules state does) keeps this one. A batch of
   * markers alone comes with no records.
   */
  readonly through: string;
  /** The batch's topic and partition (a batch of markers alone has no record to say so). */
  readonly topic: string;
  readonly partition: number;
}

export interface ConsumerOptions {
  readonly groupId: string;
  readonly topics: readonly string[];
  /** Where a group with no committed offset starts. */
  readonly fromBeginning: boolean;
  /**
   * Processes records of one partition in offset order. Offsets are committed only after it
   * resolves, so a crash replays the batch: the handler must be idempotent.
   */
  readonly handleBatch: (records: readonly InboundRecord[], context: BatchContext) => Promise<void>;
  /**
   * Hands the handler batches of transaction markers alone, with no records, so that it can tell
   * it has read to the end (a rebuild does). Otherwise they are only committed past.
   */
  readonly markerBatches?: boolean;
  /** Called with a partition assignment change (for metrics and logs). */
  readonly onAssignment?: (assigned: readonly { topic: string; partition: number }[]) => void;
  /**
   * Called after a partition's offsets were committed up to `next`, with the partition's high
   * watermark as the fetch saw it: the lag at that moment, without asking the brokers.
   */
  readonly onCommitted?: (topic: string, partition: number, next: string, highWatermark: string) => void;
  /** Partition p of every topic to one member (topics keyed alike, equal partition counts). */
  readonly coPartitioned?: boolean;
  /**
   * How many partitions' batches are handled at once (default 1). Batches of one partition always
   * come in order; a transactional consumer also serialises batches sharing a partition number.
   */
  readonly partitionsConsumedConcurrently?: number;
}

/** Where a group member stands, for readiness. */
export interface ConsumerStatus {
  /** Joined the group and fetching: false before start, while rebalancing, after a crash and after stop. */
  readonly consuming: boolean;
  /** Partitions assigned at the last join. */
  readonly assigned: number;
  /** The error the consumer stopped on for good (kafkajs does not restart it). */
  readonly crashed?: Error;
}

export interface HubConsumer {
  /** Joins the group and starts consuming; resolves once running. */
  start(): Promise<void>;
  /** Finishes the batch in hand, commits its offsets and leaves the group. */
  stop(): Promise<void>;
  status(): ConsumerStatus;
  /**
   * Resolves with the error when the consumer has stopped for good (kafkajs gave up and will not
   * rejoin): the process consumes nothing any more and should exit for a supervisor to restart it.
   */
  readonly crashed: Promise<Error>;
}

/** The part of a kafkajs consumer a group member uses (a fake in the unit tests). */
export type GroupConsumerPort = Pick<Consumer, 'on' | 'events' | 'connect' | 'subscribe' | 'run' | 'stop' | 'disconnect' | 'commitOffsets'>;

/** A batch as a step sees it: where it is, and the offset its commit moves to. */
export interface BatchPosition {
  readonly topic: string;
  readonly partition: number;
  readonly highWatermark: string;
  readonly through: string;
}

/** What a member does with each partition's batch, in order. */
export type BatchStep = (
  consumer: GroupConsumerPort,
  batch: BatchPosition,
  records: readonly InboundRecord[],
  context: BatchContext,
) => Promise<void>;

export interface GroupMemberDependencies {
  readonly logger: Logger;
  /** How often a member heartbeats while a batch is handled. */
  readonly heartbeatIntervalMs: number;
}

/** How long a silent member keeps its partitions, and how often it heartbeats (a tenth of it). */
export function groupTimings(sessionTimeoutMs: number | undefined): { sessionTimeout: number; heartbeatInterval: number } {
  const sessionTimeout = sessionTimeoutMs ?? 10_000;
  // A tenth of the session: a member misses several heartbeats before it is expelled.
  return { sessionTimeout, heartbeatInterval: Math.max(500, Math.floor(sessionTimeout / 10)) };
}

/**
 * A consumer group member that feeds each partition's batches, in order, to `step`; `onJoin` hears
 * each assignment before the options' `onAssignment`.
 */
export function groupMember(
  consumer: GroupConsumerPort,
  options: Omit<ConsumerOptions, 'handleBatch'>,
  step: BatchStep,
  deps: GroupMemberDependencies,
  onJoin?: (assigned: readonly { topic: string; partition: number }[]) => void,
): HubConsumer {
  const { logger, heartbeatIntervalMs } = deps;
  let stopping = false;
  let consuming = false;
  let assigned = 0;
  let crashedWith: Error | undefined;
  let reportCrash: (error: Error) => void = () => undefined;
  const crashed = new Promise<Error>((resolve) => {
    reportCrash = resolve;
  });
  return {
    status: () => ({
      consuming: consuming && crashedWith === undefined,
      assigned,
      ...(crashedWith === undefined ? {} : { crashed: crashedWith }),
    }),
    crashed,
    async start() {
      consumer.on(consumer.events.GROUP_JOIN, (event) => {
        const partitions = Object.entries(event.payload.memberAssignment).flatMap(([topic, numbers]) =>
          numbers.map((partition) => ({ topic, partition })),
        );
        consuming = true;
        assigned = partitions.length;
        onJoin?.(partitions);
        options.onAssignment?.(partitions);
      });
      consumer.on(consumer.events.REBALANCING, () => {
        consuming = false;
      });
      consumer.on(consumer.events.STOP, () => {
        consuming = false;
      });
      consumer.on(consumer.events.CRASH, (event) => {
        consuming = false;
        // kafkajs restarts the consumer after a retriable error and gives up after any other.
        if (event.payload.restart) return;
        crashedWith = event.payload.error;
        if (!stopping) logger.error({ err: event.payload.error, group: options.groupId }, 'the Kafka consumer stopped for good');
        reportCrash(event.payload.error);
      });
      // A fetched batch of only transaction markers (a topic written in transactions, as the
      // intake writes, ends in one) never reaches eachBatch: kafkajs resolves it but, with
      // autoCommit off, never commits it, and the group's lag stayed at one per partition. The
      // step takes it as a batch of no records that ends past the markers (kafkajs hands a
      // partition's batches in order, and the event fires in that order).
      consumer.on(consumer.events.END_BATCH_PROCESS, (event) => {
        const { topic, partition, batchSize, lastOffset } = event.payload;
        if (batchSize !== 0 || stopping) return;
        const through = (BigInt(lastOffset) + 1n).toString();
        const context: BatchContext = {
          heartbeat: () => Promise.resolve(),
          resolveOffset: () => undefined,
          isStopping: () => stopping,
          through,
          topic,
          partition,
        };
        step(consumer, { topic, partition, highWatermark: through, through }, [], context).catch((error: unknown) => {
          logger.debug({ err: error, topic, partition }, 'committing past transaction markers failed; the next batch commits past them');
        });
      });
      await consumer.connect();
      await consumer.subscribe({ topics: [...options.topics], fromBeginning: options.fromBeginning });
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: options.partitionsConsumedConcurrently ?? 1,
        eachBatch: async (payload) => {
          const { batch } = payload;
          if (!payload.isRunning() || payload.isStale() || batch.messages.length === 0) return;
          const records = batch.messages.map((message) => toInbound(batch.topic, batch.partition, message));
          const heartbeat = (): Promise<void> => payload.heartbeat();
          // kafkajs heartbeats between batches only: a batch longer than the session got its
          // member expelled. Heartbeat (kafkajs skips it when not yet due) while the batch runs.
          const beating = setInterval(() => {
            heartbeat().catch(() => undefined);
          }, heartbeatIntervalMs);
          try {
            // The batch may end in transaction markers after its last record (lastOffset counts them):
            // its commit moves past them too, or the group's lag never reaches 0 on such a topic.
            const through = [BigInt(batch.lastOffset()) + 1n, BigInt(nextOffset(records))].reduce((x, y) => (x > y ? x : y)).toString();
            await step(consumer, { topic: batch.topic, partition: batch.partition, highWatermark: batch.highWatermark, through }, records, {
              heartbeat,
              resolveOffset: (offset) => {
                payload.resolveOffset(offset);
              },
              isStopping: () => stopping,
              through,
              topic: batch.topic,
              partition: batch.partition,
            });
          } catch (error) {
            // The handler says going on is unsafe (lost state): stop for good instead of letting
            // kafkajs retry the batch and restart the consumer without end.
            if (isHubError(error) && error.catastrophic && crashedWith === undefined) {
              crashedWith = error;
              consuming = false;
              logger.error(
                { err: error, code: error.code, group: options.groupId },
                'the consumer stops: a batch cannot be processed safely',
              );
              reportCrash(error);
              void consumer.stop().catch(() => undefined);
            }
            throw error;
          } finally {
            clearInterval(beating);
          }
          // The batch is committed: move the in-memory position too, or the batch comes again.
          payload.resolveOffset(batch.messages[batch.messages.length - 1]?.offset ?? batch.lastOffset());
        },
      });
    },
    async stop() {
      if (stopping) return;
      stopping = true;
      await consumer.stop();
      await consumer.disconnect();
    },
  };
}

/** The step of a plain consumer: the handler, then the commit, so a crash replays a batch and never skips it. */
export function commitAfterHandling(options: Pick<ConsumerOptions, 'handleBatch' | 'markerBatches' | 'onCommitted'>): BatchStep {
  return async (consumer, batch, records, context) => {
    if (records.length > 0 || options.markerBatches === true) await options.handleBatch(records, context);
    // Commit only now, after the handler made its effects durable: a crash before this line
    // replays the batch, never skips it.
    await consumer.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: batch.through }]);
    options.onCommitted?.(batch.topic, batch.partition, batch.through, batch.highWatermark);
  };
}
