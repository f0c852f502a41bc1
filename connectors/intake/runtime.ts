import { Redis } from 'ioredis';
import { topicSpec, topics } from '../../schemas';
import { randomUUID } from 'node:crypto';
import {
  createDeadLetterWriter,
  kafkaSecurityKeys,
  type HubKafka,
  type HubProducer,
  type TransactionalPublisher,
} from '../../services/kafka';
import { connectKafka, kafkaSettingsFromConfig } from '../../services/kafka/runtime';
import { loadConfig, type Environment, type Logger } from '../../services/platform';
import { createTopicCodec, valueSubject } from '../../services/registry';
import { createRegistryClient } from '../../services/registry/runtime';
import type { AgencyDefinition, InboundTopicId } from './agency';
import { createIntake, type Intake } from './pipeline';
import { redisSeenFacts } from './seen-facts';
import { redisSourceVersions } from './source-versions';

/** An intake wired to the real services, and what to close when done. */
export interface IntakeRuntime {
  readonly intake: Intake;
  readonly kafka: HubKafka;
  readonly producer: HubProducer;
  /** Publishes each intake batch (facts and dead letters) in one transaction. */
  readonly publisher: TransactionalPublisher;
  readonly redis: Redis;
  close(): Promise<void>;
}

/**
 * Opens an agency's intake against the configured Kafka, registry and Redis. Creates the agency's
 * topic and the dead-letter topic when missing (schemas must be registered: `hub schemas register`).
 */
export async function openIntake<K extends InboundTopicId>(
  agency: AgencyDefinition<K>,
  env: Environment,
  logger: Logger,
): Promise<IntakeRuntime> {
  const config = loadConfig(env, [
    'kafkaBrokers',
    'kafkaClientId',
    'topicPrefix',
    'topicPartitions',
    'topicReplication',
    'schemaRegistryUrl',
    'redisUrl',
    'personKeySecret',
    'idEncryptionKey',
    ...kafkaSecurityKeys,
  ]);
  const kafka = connectKafka(kafkaSettingsFromConfig(config, agency.id), logger);
  const topicName = kafka.topicName(topics[agency.topic].name);
  const deadLetterTopic = kafka.topicName(topics.deadLetters.name);
  await kafka.ensureTopics([topicSpec(agency.topic, config.topicPrefix), topicSpec('deadLetters', config.topicPrefix)]);
  const registry = createRegistryClient(config.schemaRegistryUrl);
  const producer = await kafka.createProducer();
  // One transactional id per process: connectors of one agency may run side by side, and an intake
  // has no consumed offsets a successor would have to fence, so the id needs no stability.
  const publisher = await kafka.createTransactionalPublisher(`${kafka.topicName(`intake-${agency.id}`)}-${randomUUID()}`);
  const redis = new Redis(config.redisUrl, { maxRetriesPerRequest: 3, lazyConnect: false });
  const deadLetterCodec = createTopicCodec(registry, 'deadLetters', deadLetterTopic);
  const intake = createIntake({
    agency,
    secrets: { personKeySecret: config.personKeySecret, idEncryptionKey: config.idEncryptionKey },
    publisher,
    codec: createTopicCodec(registry, agency.topic, topicName),
    deadLetters: createDeadLetterWriter({
      producer,
      topic: deadLetterTopic,
      encode: (letter) => deadLetterCodec.encode(letter),
      source: `${agency.id}:connector`,
    }),
    seen: redisSeenFacts(redis, topicName),
    ...(agency.withdrawal === undefined ? {} : { sources: redisSourceVersions(redis, topicName, agency.id) }),
    // As the codec's fast encoder decides: a plain Avro schema with a numeric id needs no registry to encode.
    async writerSchema() {
      const metadata = await registry.getLatestSchemaMetadata(valueSubject(topicName));
      const plain =
        (metadata.schemaType ?? 'AVRO') === 'AVRO' &&
        (metadata.references ?? []).length === 0 &&
        (metadata.ruleSet?.domainRules ?? []).length === 0 &&
        (metadata.ruleSet?.migrationRules ?? []).length === 0 &&
        (metadata.ruleSet?.encodingRules ?? []).length === 0;
      return plain && typeof metadata.id === 'number' ? { id: metadata.id, schema: metadata.schema } : null;
    },
  });
  return {
    intake,
    kafka,
    producer,
    publisher,
    redis,
    async close() {
      await kafka.close();
      redis.disconnect();
    },
  };
}

// The heavy face of the intake, beside openIntake above: file imports (ExcelJS, the prepare worker
// threads), `hub import` and the connectors' heap cap (a child process).
export {
  importFile,
  importedBefore,
  describeSummary,
  maskIdNumber,
  defaultReportPath,
  type ImportSummary,
  type ImportFileOptions,
} from './file-import';
export {
  detectEncoding,
  readFileRows,
  formatOfFileName,
  type FileFormat,
  type EncodingChoice,
  type TextEncoding,
  type FileRow,
} from './file-formats';
export { importCommand, exitRowsRejected } from './import-command';
export { defaultConnectorHeapMb, heapCapCommand, heapCapped } from './heap-cap';
