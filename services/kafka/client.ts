import { randomUUID } from 'node:crypto';
import { Kafka, Partitioners, logLevel as KafkaLogLevel, type Admin, type Producer } from 'kafkajs';
import type { HubConfig, Logger } from '../platform';
import { kafkaAdmin, type KafkaAdmin } from './admin';
import { coPartitionedAssigner } from './co-partitioned-assigner';
import { commitAfterHandling, groupMember, groupTimings, type BatchStep, type ConsumerOptions, type HubConsumer } from './consumer';
import { kafkaLogCreator } from './kafka-log';
import { connectOrUnavailable, hubProducer, transactionalPublisher, type HubProducer, type TransactionalPublisher } from './producer';
import { topicReader, type TopicReader } from './reader';
import { kafkaClientSecurity, kafkaSecurityFromConfig, type kafkaSecurityKeys, type KafkaSecurity } from './security';
import { transactionalConsumer, type TransactionalConsumerOptions } from './transactional-consumer';

/**
 * The hub's only contact with a Kafka client library. Everything else speaks in the types of this
 * folder (bytes in, bytes out, string offsets), so moving to another client touches this folder alone.
 * This file connects the roles: producer.ts, consumer.ts, transactional-consumer.ts, admin.ts, reader.ts.
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

/** The configuration a role loads to connect: its own keys list these beside kafkaSecurityKeys. */
type KafkaConnectionConfig = Pick<
  HubConfig,
  'kafkaBrokers' | 'kafkaClientId' | 'topicPrefix' | 'topicPartitions' | 'topicReplication' | (typeof kafkaSecurityKeys)[number]
> &
  Partial<Pick<HubConfig, 'kafkaSessionTimeoutMs'>>;

/**
 * A role's connection settings from validated configuration: its client id is the configured one
 * with the role's name after it. The session timeout is taken when the role loaded that key.
 */
export function kafkaSettingsFromConfig(config: KafkaConnectionConfig, role: string): KafkaSettings {
  return {
    brokers: config.kafkaBrokers,
    clientId: `${config.kafkaClientId}-${role}`,
    topicPrefix: config.topicPrefix,
    partitions: config.topicPartitions,
    replication: config.topicReplication,
    ...(config.kafkaSessionTimeoutMs === undefined ? {} : { sessionTimeoutMs: config.kafkaSessionTimeoutMs }),
    security: kafkaSecurityFromConfig(config),
  };
}

export interface HubKafka extends KafkaAdmin, TopicReader {
  readonly settings: KafkaSettings;
  /** The full name of a topic, prefix included. */
  topicName(name: string): string;
  createProducer(): Promise<HubProducer>;
  /**
   * A producer whose sends are transactions (see TransactionalPublisher). The id must be unique among
   * live publishers: a second publisher with the same id fences the first.
   */
  createTransactionalPublisher(transactionalId: string): Promise<TransactionalPublisher>;
  createConsumer(options: ConsumerOptions): HubConsumer;
  /** A consumer whose outputs and offsets commit atomically (consume-transform-produce). */
  createTransactionalConsumer(options: TransactionalConsumerOptions): HubConsumer;
  close(): Promise<void>;
}

export function connectKafka(settings: KafkaSettings, logger: Logger): HubKafka {
  const kafka = new Kafka({
    clientId: settings.clientId,
    brokers: [...settings.brokers],
    logLevel: KafkaLogLevel.WARN,
    logCreator: kafkaLogCreator(logger),
    retry: { retries: 8, initialRetryTime: 200 },
    ...kafkaClientSecurity(settings.security),
  });
  const transactionalProducer = (transactionalId: string): Producer =>
    kafka.producer({
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
      await connectOrUnavailable(created, settings.brokers);
      admin = created;
    }
    return admin;
  };
  const open: { close(): Promise<void> }[] = [];
  const { sessionTimeout, heartbeatInterval } = groupTimings(settings.sessionTimeoutMs);
  const member = (
    options: Omit<ConsumerOptions, 'handleBatch'>,
    step: BatchStep,
    onJoin?: (assigned: readonly { topic: string; partition: number }[]) => void,
  ): HubConsumer => {
    const consumer = kafka.consumer({
      groupId: options.groupId,
      allowAutoTopicCreation: false,
      sessionTimeout,
      heartbeatInterval,
      maxBytesPerPartition: 4 * 1024 * 1024,
      ...(options.coPartitioned === true ? { partitionAssigners: [coPartitionedAssigner] } : {}),
    });
    const joined = groupMember(consumer, options, step, { logger, heartbeatIntervalMs: heartbeatInterval }, onJoin);
    open.push({ close: () => joined.stop() });
    return joined;
  };

  return {
    settings,
    topicName: (name) => `${settings.topicPrefix}${name}`,
    ...kafkaAdmin({
      admin: getAdmin,
      newProducer: transactionalProducer,
      partitions: settings.partitions,
      replication: settings.replication,
    }),
    // A throwaway group that commits nothing, so reading leaves no trace on the cluster.
    ...topicReader({
      admin: getAdmin,
      newReader: (maxWaitMs) =>
        kafka.consumer({ groupId: `hub-read-${randomUUID()}`, allowAutoTopicCreation: false, maxWaitTimeInMs: maxWaitMs }),
    }),

    async createProducer() {
      // Idempotent: the broker drops retried duplicates. One request in flight keeps order on retry.
      const producer = kafka.producer({
        idempotent: true,
        maxInFlightRequests: 1,
        allowAutoTopicCreation: false,
        createPartitioner: Partitioners.DefaultPartitioner,
      });
      await connectOrUnavailable(producer, settings.brokers);
      const created = hubProducer(producer);
      open.push(created);
      return created;
    },

    async createTransactionalPublisher(transactionalId) {
      const producer = transactionalProducer(transactionalId);
      await connectOrUnavailable(producer, settings.brokers);
      const publisher = transactionalPublisher(producer);
      open.push(publisher);
      return publisher;
    },

    createConsumer(options) {
      return member(options, commitAfterHandling(options));
    },

    createTransactionalConsumer(options) {
      const consumer = transactionalConsumer(options, {
        member: (step, onJoin) => member(options, step, onJoin),
        newProducer: transactionalProducer,
        logger,
      });
      open.push({ close: () => consumer.stop() });
      return consumer;
    },

    async close() {
      for (const item of open.splice(0).reverse()) {
        try {
          await item.close();
        } catch (error) {
          logger.warn({ err: error }, 'closing a Kafka client failed');
        }
      }
      if (admin !== undefined) await admin.disconnect();
      admin = undefined;
    },
  };
}
