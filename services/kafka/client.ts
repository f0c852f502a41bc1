import { randomUUID } from 'node:crypto';
import { coPartitionedAssigner } from './co-partitioned-assigner';
import { Kafka, Partitioners, logLevel as KafkaLogLevel, type Admin, type Consumer, type Producer, type Transaction, type IHeaders, type KafkaMessage, type LogEntry } from 'kafkajs';
import { HubError, describeError, isHubError, type Logger } from '../platform';
import { kafkaClientSecurity, type KafkaSecurity } from './security';

/**
 * The hub's only contact with a Kafka client library. Everything else speaks in the types below
 * (bytes in, bytes out, string offsets), so moving to another client touches this folder alone.
 */
export interface KafkaSettings {
  readonly brokers: readonly string[];
  readonly clientId: string;
  readonly topicPrefix: string;
  readonly partitions: number;
  readonly replication: number;
  /**
   * How long a silent group member keeps its partitions (default 10 s): a member killed with -9 is
   * replaced after this long. Members heartbeat every tenth of it, inside long batches too.
   */
  readonly sessionTimeoutMs?: number;
  /** SASL credentials and TLS (see security.ts); absent: plaintext, anonymous. */
  readonly security?: KafkaSecurity;
}

export interface OutboundRecord {
  /** The person key, so that one person's records share a partition and keep their order. */
  readonly key: string;
  readonly value: Buffer;
  readonly headers?: Readonly<Record<string, string>>;
}

export interface InboundRecord {
  readonly topic: string;
  readonly partition: number;
  /** Kafka offsets are 64-bit; kept as decimal strings. */
  readonly offset: string;
  readonly key: string | null;
  readonly value: Buffer | null;
  readonly headers: Readonly<Record<string, string>>;
  readonly timestamp: number;
}

export interface HubProducer {
  /** Sends and waits for all in-sync replicas; retries are idempotent (no duplicates on retry). */
  send(topic: string, records: readonly OutboundRecord[]): Promise<void>;
  close(): Promise<void>;
}

/**
 * Publishes batches in Kafka transactions: every record of one `publish` call becomes visible to
 * readers (read-committed, as every hub consumer is) together, or none does. Calls run one at a time.
 */
export interface TransactionalPublisher {
  /** One transaction; produce requests split by bytes below the broker's message.max.bytes. Rejects after aborting. */
  publish(batches: readonly OutboundBatch[]): Promise<void>;
  close(): Promise<void>;
}

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

/** Records a transactional handler wants published, per topic. */
export interface OutboundBatch {
  readonly topic: string;
  readonly records: readonly OutboundRecord[];
}

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

export interface TopicSpec {
  readonly name: string;
  readonly partitions?: number;
  readonly config?: Readonly<Record<string, string>>;
}

export interface PartitionLag {
  readonly topic: string;
  readonly partition: number;
  readonly committed: string;
  readonly end: string;
  readonly lag: number;
}

export interface HubKafka {
  readonly settings: KafkaSettings;
  /** The full name of a topic, prefix included. */
  topicName(name: string): string;
  /** Creates missing topics with the configured partitions and replication; leaves existing ones. */
  ensureTopics(specs: readonly TopicSpec[]): Promise<void>;
  createProducer(): Promise<HubProducer>;
  /**
   * A producer whose sends are transactions (see TransactionalPublisher). The id must be unique among
   * live publishers: a second publisher with the same id fences the first.
   */
  createTransactionalPublisher(transactionalId: string): Promise<TransactionalPublisher>;
  createConsumer(options: ConsumerOptions): HubConsumer;
  /** A consumer whose outputs and offsets commit atomically (consume-transform-produce). */
  createTransactionalConsumer(options: TransactionalConsumerOptions): HubConsumer;
  /** Committed offset, end offset and lag of a consumer group per partition. */
  consumerLag(groupId: string, topics: readonly string[]): Promise<PartitionLag[]>;
  /** Reads every record of a topic from the beginning up to its end offsets at call time. */
  readAll(topic: string): Promise<InboundRecord[]>;
  /** The offset a group has committed for one partition (-1 when none). */
  committedOffset(groupId: string, topic: string, partition: number): Promise<bigint>;
  /** Deletes a consumer group's committed offsets (a rebuild starts it over). */
  deleteGroup(groupId: string): Promise<void>;
  /** The end offset (next offset to be written) of every partition of a topic. */
  endOffsets(topic: string): Promise<Map<number, string>>;
  /** Sets a group's committed offsets, per topic and partition, at once (the group must have no active members). */
  setGroupOffsets(groupId: string, offsets: ReadonlyMap<string, ReadonlyMap<number, string>>): Promise<void>;
  /** How many members a group has right now (0 when it is empty or unknown). */
  groupMemberCount(groupId: string): Promise<number>;
  close(): Promise<void>;
}

function toInbound(topic: string, partition: number, message: KafkaMessage): InboundRecord {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(message.headers ?? {})) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? String(value[0]) : String(value);
  }
  return {
    topic,
    partition,
    offset: message.offset,
    key: message.key === null ? null : message.key.toString('utf8'),
    value: message.value,
    headers,
    timestamp: Number(message.timestamp),
  };
}

/**
 * Answers a broker gives in routine operation, which kafkajs logs at error or warn level: the group
 * rebalancing, a member unknown to the coordinator (on leave, or after a restart), a transaction
 * step while the previous transaction's markers are being written (retried here). Not operators' business.
 */
const routine = /rebalanc|not aware of this member|concurrent operation on the same transaction|CONCURRENT_TRANSACTIONS|UNKNOWN_MEMBER_ID|REBALANCE_IN_PROGRESS/;

function kafkaLogger(logger: Logger) {
  return () => (entry: LogEntry): void => {
    const { message, ...rest } = entry.log;
    const fields = { kafka: entry.namespace, ...rest };
    const error = (rest as { error?: unknown; type?: unknown }).error;
    const type = (rest as { type?: unknown }).type;
    if (entry.level <= KafkaLogLevel.WARN && routine.test(`${message} ${typeof error === 'string' ? error : ''} ${typeof type === 'string' ? type : ''}`)) logger.debug(fields, message);
    else if (entry.level <= KafkaLogLevel.ERROR) logger.error(fields, message);
    // Bounded retries are a choice here (a request must not hang on a lost broker); the notice is expected.
    else if (entry.level === KafkaLogLevel.WARN && !message.startsWith('Limiting retries for the idempotent producer')) logger.warn(fields, message);
    else logger.debug(fields, message);
  };
}

function toMessage(record: OutboundRecord): { key: string; value: Buffer; headers?: IHeaders } {
  return record.headers === undefined ? { key: record.key, value: record.value } : { key: record.key, value: record.value, headers: { ...record.headers } };
}

function nextOffset(records: readonly InboundRecord[]): string {
  const last = records[records.length - 1];
  return last === undefined ? '0' : (BigInt(last.offset) + 1n).toString();
}

/**
 * Runs a transaction step again while the broker answers CONCURRENT_TRANSACTIONS, which it does
 * routinely while the previous transaction's markers are still being written. kafkajs retries this
 * for produce requests but not for AddOffsetsToTxn (kafkajs issue #430), so the hub does.
 */
async function retryConcurrentTransactions<T>(step: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await step();
    } catch (error) {
      const type = (error as { type?: unknown }).type;
      if (type !== 'CONCURRENT_TRANSACTIONS' || attempt >= 50) throw error;
      await new Promise((resolve) => setTimeout(resolve, Math.min(20 * attempt, 200)));
    }
  }
}

/** Runs `steps` in one transaction of `producer` and commits it; aborts it when a step or the commit fails. */
async function inTransaction(producer: Producer, steps: (transaction: Transaction) => Promise<void>): Promise<void> {
  const transaction = await producer.transaction();
  try {
    await steps(transaction);
    await retryConcurrentTransactions(() => transaction.commit());
  } catch (error) {
    await transaction.abort().catch(() => undefined);
    throw error;
  }
}

/**
 * A batch's outputs as produce requests: all topics in one request, split so that no request (and
 * so no partition's record batch) comes near the broker's 1 MiB message.max.bytes; a large input
 * batch's outputs in one request were refused as "larger than the max message size".
 */
const maxRequestBytes = 512 * 1024;
function produceRequests(outputs: readonly OutboundBatch[]): { topic: string; messages: ReturnType<typeof toMessage>[] }[][] {
  const requests: { topic: string; messages: ReturnType<typeof toMessage>[] }[][] = [];
  let current: { topic: string; messages: ReturnType<typeof toMessage>[] }[] = [];
  let bytes = 0;
  for (const output of outputs) {
    let entry: { topic: string; messages: ReturnType<typeof toMessage>[] } | undefined;
    for (const record of output.records) {
      const size = record.value.length + Buffer.byteLength(record.key) + 64;
      if (bytes + size > maxRequestBytes && bytes > 0) {
        requests.push(current);
        current = [];
        entry = undefined;
        bytes = 0;
      }
      if (entry === undefined) {
        entry = { topic: output.topic, messages: [] };
        current.push(entry);
      }
      entry.messages.push(toMessage(record));
      bytes += size;
    }
  }
  if (current.length > 0) requests.push(current);
  return requests;
}

/** Errors a broker gives while a new topic's leadership is still spreading through the metadata. */
const settlingErrors = new Set(['NOT_LEADER_FOR_PARTITION', 'LEADER_NOT_AVAILABLE', 'UNKNOWN_TOPIC_OR_PARTITION']);

/**
 * Asks the brokers for a topic's offsets, again for a few seconds while it is still settling: just
 * after creation a broker may answer from metadata that does not yet know the new leader.
 */
async function fetchTopicOffsetsSettled(admin: Admin, topic: string): Promise<Array<{ partition: number; offset: string; high: string; low: string }>> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await admin.fetchTopicOffsets(topic);
    } catch (error) {
      const type = (error as { type?: unknown }).type;
      if (typeof type !== 'string' || !settlingErrors.has(type) || attempt >= 20) throw error;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}

type BatchStep = (consumer: Consumer, batch: { topic: string; partition: number; highWatermark: string; through: string }, records: readonly InboundRecord[], context: BatchContext) => Promise<void>;

/** The error kafkajs reports, or what it wraps: the broker's type, for telling fencing apart. */
function errorTypes(error: unknown): string[] {
  const types: string[] = [];
  for (let at: unknown = error, depth = 0; at !== undefined && at !== null && depth < 5; depth += 1) {
    const { type, name } = at as { type?: unknown; name?: unknown };
    if (typeof type === 'string') types.push(type);
    if (typeof name === 'string') types.push(name);
    at = (at as { cause?: unknown }).cause;
  }
  return types;
}

export function connectKafka(settings: KafkaSettings, logger: Logger): HubKafka {
  const kafka = new Kafka({
    clientId: settings.clientId,
    brokers: [...settings.brokers],
    logLevel: KafkaLogLevel.WARN,
    logCreator: kafkaLogger(logger),
    retry: { retries: 8, initialRetryTime: 200 },
    ...kafkaClientSecurity(settings.security),
  });
  const transactionalProducer = (transactionalId: string): Producer => kafka.producer({
    transactionalId,
    createPartitioner: Partitioners.DefaultPartitioner,
    // A transaction begun right after the previous one's commit is often answered
    // CONCURRENT_TRANSACTIONS while the broker writes the markers (a few ms); the client-wide
    // 200 ms first back-off made that wait the largest part of a record's latency.
    retry: { retries: 12, initialRetryTime: 10, maxRetryTime: 2_000 },
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
  });
  let admin: Admin | undefined;
  const getAdmin = async (): Promise<Admin> => {
    if (admin === undefined) {
      const created = kafka.admin();
      try {
        await created.connect();
      } catch (error) {
        throw new HubError('KAFKA_UNAVAILABLE', `cannot reach Kafka at ${settings.brokers.join(',')}: ${describeError(error)}`, { cause: error });
      }
      admin = created;
    }
    return admin;
  };
  const open: { close(): Promise<void> }[] = [];

  /** A consumer group member that feeds each partition's batches, in order, to `step`. */
  const sessionTimeout = settings.sessionTimeoutMs ?? 10_000;
  // A tenth of the session: a member misses several heartbeats before it is expelled.
  const heartbeatInterval = Math.max(500, Math.floor(sessionTimeout / 10));
  const runGroup = (
    options: Omit<ConsumerOptions, 'handleBatch'>,
    step: BatchStep,
    onJoin?: (assigned: readonly { topic: string; partition: number }[]) => void,
  ): HubConsumer => {
    const consumer: Consumer = kafka.consumer({
      groupId: options.groupId,
      allowAutoTopicCreation: false,
      sessionTimeout,
      heartbeatInterval,
      maxBytesPerPartition: 4 * 1024 * 1024,
      ...(options.coPartitioned === true ? { partitionAssigners: [coPartitionedAssigner] } : {}),
    });
    let stopping = false;
    let consuming = false;
    let assigned = 0;
    let crashedWith: Error | undefined;
    let reportCrash: (error: Error) => void = () => undefined;
    const crashed = new Promise<Error>((resolve) => { reportCrash = resolve; });
    const member: HubConsumer = {
      status: () => ({ consuming: consuming && crashedWith === undefined, assigned, ...(crashedWith === undefined ? {} : { crashed: crashedWith }) }),
      crashed,
      async start() {
        consumer.on(consumer.events.GROUP_JOIN, (event) => {
          const partitions = Object.entries(event.payload.memberAssignment).flatMap(([topic, numbers]) => numbers.map((partition) => ({ topic, partition })));
          consuming = true;
          assigned = partitions.length;
          onJoin?.(partitions);
          options.onAssignment?.(partitions);
        });
        consumer.on(consumer.events.REBALANCING, () => { consuming = false; });
        consumer.on(consumer.events.STOP, () => { consuming = false; });
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
          const context: BatchContext = { heartbeat: () => Promise.resolve(), resolveOffset: () => undefined, isStopping: () => stopping, through, topic, partition };
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
            const beating = setInterval(() => { heartbeat().catch(() => undefined); }, heartbeatInterval);
            try {
              // The batch may end in transaction markers after its last record (lastOffset counts them):
              // its commit moves past them too, or the group's lag never reaches 0 on such a topic.
              const through = [BigInt(batch.lastOffset()) + 1n, BigInt(nextOffset(records))].reduce((x, y) => (x > y ? x : y)).toString();
              await step(consumer, { topic: batch.topic, partition: batch.partition, highWatermark: batch.highWatermark, through }, records, {
                heartbeat, resolveOffset: (offset) => { payload.resolveOffset(offset); }, isStopping: () => stopping, through, topic: batch.topic, partition: batch.partition,
              });
            } catch (error) {
              // The handler says going on is unsafe (lost state): stop for good instead of letting
              // kafkajs retry the batch and restart the consumer without end.
              if (isHubError(error) && error.catastrophic && crashedWith === undefined) {
                crashedWith = error;
                consuming = false;
                logger.error({ err: error, code: error.code, group: options.groupId }, 'the consumer stops: a batch cannot be processed safely');
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
    open.push({ close: () => member.stop() });
    return member;
  };

  return {
    settings,
    topicName: (name) => `${settings.topicPrefix}${name}`,

    async ensureTopics(specs) {
      const client = await getAdmin();
      const existing = new Set(await client.listTopics());
      const missing = specs.filter((spec) => !existing.has(spec.name));
      if (missing.length === 0) return;
      await client.createTopics({
        waitForLeaders: true,
        topics: missing.map((spec) => ({
          topic: spec.name,
          numPartitions: spec.partitions ?? settings.partitions,
          replicationFactor: settings.replication,
          configEntries: Object.entries(spec.config ?? {}).map(([name, value]) => ({ name, value })),
        })),
      });
    },

    async createProducer() {
      // Idempotent: the broker drops retried duplicates. One request in flight keeps order on retry.
      const producer: Producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner });
      try {
        await producer.connect();
      } catch (error) {
        throw new HubError('KAFKA_UNAVAILABLE', `cannot reach Kafka at ${settings.brokers.join(',')}: ${describeError(error)}`, { cause: error });
      }
      const hubProducer: HubProducer = {
        async send(topic, records) {
          if (records.length === 0) return;
          await producer.send({
            topic,
            acks: -1,
            messages: records.map(toMessage),
          });
        },
        close: () => producer.disconnect(),
      };
      open.push(hubProducer);
      return hubProducer;
    },

    async createTransactionalPublisher(transactionalId) {
      const producer = transactionalProducer(transactionalId);
      try {
        await producer.connect();
      } catch (error) {
        throw new HubError('KAFKA_UNAVAILABLE', `cannot reach Kafka at ${settings.brokers.join(',')}: ${describeError(error)}`, { cause: error });
      }
      // kafkajs runs one transaction per producer at a time; calls queue here instead of failing.
      let turn: Promise<unknown> = Promise.resolve();
      const publisher: TransactionalPublisher = {
        publish(batches) {
          const requests = produceRequests(batches.filter((batch) => batch.records.length > 0));
          if (requests.length === 0) return Promise.resolve();
          const run = turn.then(() => inTransaction(producer, async (transaction) => {
            for (const topicMessages of requests) await retryConcurrentTransactions(() => transaction.sendBatch({ acks: -1, topicMessages }));
          }));
          turn = run.catch(() => undefined);
          return run;
        },
        close: () => producer.disconnect(),
      };
      open.push(publisher);
      return publisher;
    },

    createConsumer(options) {
      return runGroup(options, async (consumer, batch, records, context) => {
        if (records.length > 0 || options.markerBatches === true) await options.handleBatch(records, context);
        // Commit only now, after the handler made its effects durable: a crash before this line
        // replays the batch, never skips it.
        await consumer.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: batch.through }]);
        options.onCommitted?.(batch.topic, batch.partition, batch.through, batch.highWatermark);
      });
    },

    createTransactionalConsumer(options) {
      const producers = new Map<number, Producer>();
      /** The partition numbers assigned to this member at its last join. */
      const assignedNumbers = new Set<number>();
      const producerFor = async (partition: number): Promise<Producer> => {
        let producer = producers.get(partition);
        if (producer === undefined) {
          producer = transactionalProducer(`${options.transactionalIdPrefix}-p${partition}`);
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
        await producer.disconnect().catch((error: unknown) => { logger.debug({ err: error, partition }, 'disconnecting a transactional producer failed'); });
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
      const transact = async (batch: { topic: string; partition: number; highWatermark: string }, records: readonly InboundRecord[], context: BatchContext): Promise<void> => {
        const handled = await options.handleBatch(records, context);
        // A number revoked while its batch was being handled belongs to another member now: a new
        // producer would fence the new owner's. The batch is given up (kafkajs drops it as stale).
        if (!assignedNumbers.has(batch.partition)) {
          throw new HubError('PRODUCER_FENCED', `partition number ${batch.partition} was revoked while its batch of ${batch.topic} was handled; the new owner publishes it`);
        }
        const producer = await producerFor(batch.partition);
        // The batch's own topic up to its end (past the markers after it), or further when the
        // handler says so; other topics as it says.
        const next = new Map<string, bigint>([[batch.topic, BigInt(context.through)]]);
        for (const o of handled.offsets ?? []) if (BigInt(o.offset) > (next.get(o.topic) ?? -1n)) next.set(o.topic, BigInt(o.offset));
        const offsets = [...next].map(([topic, offset]) => ({ topic, offset: offset.toString() }));
        try {
          await inTransaction(producer, async (transaction) => {
            for (const topicMessages of produceRequests(handled.outputs)) {
              await retryConcurrentTransactions(() => transaction.sendBatch({ acks: -1, topicMessages }));
            }
            await retryConcurrentTransactions(() => transaction.sendOffsets({
              consumerGroupId: options.groupId,
              topics: offsets.map((o) => ({ topic: o.topic, partitions: [{ partition: batch.partition, offset: o.offset }] })),
            }));
          });
        } catch (error) {
          // The producer may be fenced (another member took the partition number and gave it
          // back): a new one must be started, and the batch tried again. kafkajs gives up on a
          // non-retriable error and leaves the process up consuming nothing; the hub's error is retriable.
          await dropProducer(batch.partition);
          const types = errorTypes(error);
          logger.warn({ err: error, topic: batch.topic, partition: batch.partition, types }, 'transaction failed and was aborted; the batch will be retried with a new producer');
          throw new HubError('PRODUCER_FENCED', `transaction of ${batch.topic}/${batch.partition} failed (${types.join(', ') || describeError(error)}): ${describeError(error)}`, { cause: error });
        }
        options.onCommitted?.(batch.topic, batch.partition, context.through, batch.highWatermark);
        if (handled.committed !== undefined) {
          await handled.committed().catch((error: unknown) => { logger.warn({ err: error, topic: batch.topic, partition: batch.partition }, 'the step after a committed transaction failed'); });
        }
      };
      const limit = options.maxRecordsPerTransaction ?? Number.POSITIVE_INFINITY;
      const consumer = runGroup(options, async (_consumer, batch, all, context) => {
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
      }, (assigned) => {
        // Producers of numbers this member lost are fenced by the new owner: forget them, after
        // any batch of that number still in hand.
        const kept = new Set(assigned.map((a) => a.partition));
        assignedNumbers.clear();
        for (const partition of kept) assignedNumbers.add(partition);
        for (const partition of [...producers.keys()]) {
          if (!kept.has(partition)) void inTurn(partition, () => dropProducer(partition)).catch(() => undefined);
        }
      });
      const member: HubConsumer = {
        status: () => consumer.status(),
        crashed: consumer.crashed,
        start: () => consumer.start(),
        async stop() {
          await consumer.stop();
          for (const producer of producers.values()) await producer.disconnect();
          producers.clear();
        },
      };
      open.push({ close: () => member.stop() });
      return member;
    },

    async consumerLag(groupId, topics) {
      const client = await getAdmin();
      const result: PartitionLag[] = [];
      const committed = await client.fetchOffsets({ groupId, topics: [...topics] });
      for (const topic of committed) {
        const ends = await fetchTopicOffsetsSettled(client, topic.topic);
        for (const partition of topic.partitions) {
          const end = ends.find((e) => e.partition === partition.partition)?.high ?? '0';
          const at = partition.offset === '-1' ? (ends.find((e) => e.partition === partition.partition)?.low ?? '0') : partition.offset;
          result.push({ topic: topic.topic, partition: partition.partition, committed: partition.offset, end, lag: Number(BigInt(end) - BigInt(at)) });
        }
      }
      return result;
    },

    async readAll(topic) {
      const client = await getAdmin();
      const ends = await fetchTopicOffsetsSettled(client, topic);
      const remaining = new Map(ends.filter((e) => BigInt(e.high) > BigInt(e.low)).map((e) => [e.partition, BigInt(e.high)]));
      const records: InboundRecord[] = [];
      if (remaining.size === 0) return records;
      // A throwaway group that commits nothing, so reading leaves no trace on the cluster.
      // A short fetch wait: a read-committed fetch that finds a partition's last transaction not yet
      // marked committed is held by the broker for the whole wait (5 s by default), longer than the
      // idle time below, and the read ended without that transaction's records.
      const reader = kafka.consumer({ groupId: `hub-read-${randomUUID()}`, allowAutoTopicCreation: false, maxWaitTimeInMs: 250 });
      await reader.connect();
      await reader.subscribe({ topics: [topic], fromBeginning: true });
      await new Promise<void>((resolve, reject) => {
        // A transactional topic ends in commit markers, which a read-committed consumer never
        // delivers: progress counts them (batch.lastOffset() does), and a reader that hears nothing
        // for a while has read everything that is readable.
        let idle: NodeJS.Timeout | undefined;
        const settle = (): void => {
          if (idle !== undefined) clearTimeout(idle);
          if (remaining.size === 0) { resolve(); return; }
          idle = setTimeout(resolve, 2_000);
        };
        settle();
        reader.run({
          autoCommit: false,
          eachBatch: async ({ batch }) => {
            const end = remaining.get(batch.partition);
            for (const message of batch.messages) {
              if (end === undefined || BigInt(message.offset) >= end) continue;
              records.push(toInbound(batch.topic, batch.partition, message));
            }
            if (end !== undefined && BigInt(batch.lastOffset()) + 1n >= end) remaining.delete(batch.partition);
            settle();
            return Promise.resolve();
          },
        }).catch(reject);
      });
      await reader.disconnect();
      return records.sort((a, b) => a.partition - b.partition || Number(BigInt(a.offset) - BigInt(b.offset)));
    },

    async deleteGroup(groupId) {
      const client = await getAdmin();
      try {
        await client.deleteGroups([groupId]);
      } catch (error) {
        // kafkajs names the reason per group, not in the message ("Error in DeleteGroups").
        const reasons = ((error as { groups?: { error?: { type?: string } }[] }).groups ?? []).map((g) => g.error?.type ?? '');
        if (!/GROUP_ID_NOT_FOUND|does not exist/i.test(`${describeError(error)} ${reasons.join(' ')}`)) throw error;
      }
    },

    async committedOffset(groupId, topic, partition) {
      const client = await getAdmin();
      const [entry] = await client.fetchOffsets({ groupId, topics: [topic] });
      const found = entry?.partitions.find((p) => p.partition === partition);
      return BigInt(found?.offset ?? '-1');
    },

    async endOffsets(topic) {
      const client = await getAdmin();
      return new Map((await fetchTopicOffsetsSettled(client, topic)).map((entry) => [entry.partition, entry.high]));
    },

    async setGroupOffsets(groupId, offsets) {
      const client = await getAdmin();
      const { groups } = await client.describeGroups([groupId]);
      const members = groups[0]?.members.length ?? 0;
      if (members > 0) throw new HubError('USAGE', `group ${groupId} has ${members} active member(s): its offsets can only be set while it has none`);
      // One transaction commits every topic's offsets, as the rules service commits its own. The
      // admin's setOffsets joins the group with a consumer and waits out an empty fetch per topic
      // (5 s each, a rebuild's longest step on empty topics).
      const producer = transactionalProducer(`${groupId}-set-offsets`);
      await producer.connect();
      try {
        await inTransaction(producer, (transaction) => retryConcurrentTransactions(() => transaction.sendOffsets({
          consumerGroupId: groupId,
          topics: [...offsets].map(([topic, partitions]) => ({ topic, partitions: [...partitions].map(([partition, offset]) => ({ partition, offset })) })),
        })));
      } finally {
        await producer.disconnect();
      }
    },

    async groupMemberCount(groupId) {
      const client = await getAdmin();
      const { groups } = await client.describeGroups([groupId]);
      return groups[0]?.members.length ?? 0;
    },

    async close() {
      for (const item of open.splice(0).reverse()) {
        try { await item.close(); } catch (error) { logger.warn({ err: error }, 'closing a Kafka client failed'); }
      }
      if (admin !== undefined) await admin.disconnect();
      admin = undefined;
    },
  };
}
