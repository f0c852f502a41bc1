import { Partitioners, type PartitionMetadata } from 'kafkajs';
import { HubError, createTurns, describeError } from '../platform';
import { produceRequests, toMessage, type OutboundBatch, type OutboundRecord, type WireMessage } from './records';
import { inTransaction, sendInTransaction, type TransactionalProducerPort } from './transactions';

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

/** The part of a kafkajs idempotent producer the hub uses. */
export interface ProducerPort {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  send(request: { topic: string; acks: number; messages: WireMessage[] }): Promise<unknown>;
}

/** Connects a client, or says which brokers could not be reached (KAFKA_UNAVAILABLE). */
export async function connectOrUnavailable(client: { connect(): Promise<void> }, brokers: readonly string[]): Promise<void> {
  try {
    await client.connect();
  } catch (error) {
    throw new HubError('KAFKA_UNAVAILABLE', `cannot reach Kafka at ${brokers.join(',')}: ${describeError(error)}`, { cause: error });
  }
}

/** A connected producer as a HubProducer: every send waits for all in-sync replicas. */
export function hubProducer(producer: ProducerPort): HubProducer {
  return {
    async send(topic, records) {
      if (records.length === 0) return;
      await producer.send({ topic, acks: -1, messages: records.map(toMessage) });
    },
    close: () => producer.disconnect(),
  };
}

/** A connected transactional producer as a TransactionalPublisher. */
export function transactionalPublisher(producer: TransactionalProducerPort): TransactionalPublisher {
  // kafkajs runs one transaction per producer at a time; calls queue here instead of failing.
  const turns = createTurns();
  return {
    publish(batches) {
      const requests = produceRequests(batches.filter((batch) => batch.records.length > 0));
      if (requests.length === 0) return Promise.resolve();
      return turns.take(() => inTransaction(producer, (transaction) => sendInTransaction(transaction, requests)));
    },
    close: () => producer.disconnect(),
  };
}

/**
 * The partition the hub's producers (kafkajs's default partitioner, murmur2 of the key, as Java's)
 * give a key on a topic of `partitions` partitions.
 */
export function partitionOfKey(partitions: number): (key: string) => number {
  const partitioner = Partitioners.DefaultPartitioner();
  const partitionMetadata: PartitionMetadata[] = Array.from({ length: partitions }, (_, partitionId) => ({
    partitionErrorCode: 0,
    partitionId,
    leader: 0,
    replicas: [0],
    isr: [0],
    offlineReplicas: [],
  }));
  return (key) => partitioner({ topic: 'any', partitionMetadata, message: { key, value: null } });
}
