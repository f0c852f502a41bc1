import { Redis } from 'ioredis';
import { inboundTopicIds, topics, topicSpec, type DeliveryReceipt, type QuarterlyWarning } from '../../schemas';
import { agencyEndpoints, type AgencyEndpoint } from '../../connectors/agency-delivery';
import { deliveryQueue, type DeliverySettings } from '../../connectors/agency-delivery/runtime';
import { kafkaSecurityKeys, type HubKafka, type HubProducer } from '../kafka';
import { connectKafka, kafkaSettingsFromConfig } from '../kafka/runtime';
import { HubError, loadConfig, type Environment, type HubConfig, type Logger } from '../platform';
import { listPolicies, loadPolicy, type Policy } from '../policy';
import { createTopicCodec, type TopicCodec } from '../registry';
import { createRegistryClient } from '../registry/runtime';
import { filePolicyResolver, type PolicyResolver } from '../rules';
import type { AgencyCode } from '../../schemas';
import { createIdDirectory, type IdDirectory } from './id-directory';
import type { PersonYear } from './person-years';
import { runWarnings, warnPersons, type RunDependencies, type RunSummary } from './warning-run';
import { createWarningWorkers } from './warning-workers';

const configKeys = [
  'kafkaBrokers',
  'kafkaClientId',
  'kafkaSessionTimeoutMs',
  'topicPrefix',
  'topicPartitions',
  'topicReplication',
  'schemaRegistryUrl',
  'redisUrl',
  'logLevel',
  'idEncryptionKey',
  'warningsGraceDays',
  'warningsWorkers',
  'warningsRegions',
  'deliveryAttempts',
  'deliveryBackoffMs',
  'deliveryTimeoutMs',
  'deliveryConcurrency',
  'deliveryBatchSize',
  ...kafkaSecurityKeys,
] as const;

/** Where the warnings service keeps its own keys in Redis (apart from the rules state it reads). */
export const warningsNamespace = (topicPrefix: string): string => `hub:warnings:${topicPrefix}`;

/** BullMQ's key prefix for this hub's queues. */
export const bullPrefix = (topicPrefix: string): string => `hub:bull:${topicPrefix}`;

/** Everything a warning run, the scheduler and delivery need, connected once. */
export interface WarningsRuntime {
  readonly config: Readonly<Pick<HubConfig, (typeof configKeys)[number]>>;
  readonly kafka: HubKafka;
  readonly redis: Redis;
  /** A connection for BullMQ (which needs maxRetriesPerRequest null on its blocking connections). */
  readonly bullConnection: Redis;
  readonly namespace: string;
  readonly policies: readonly Policy[];
  readonly resolver: PolicyResolver;
  readonly directory: IdDirectory;
  readonly endpoints: ReadonlyMap<AgencyCode, AgencyEndpoint>;
  readonly delivery: DeliverySettings;
  readonly warningsCodec: TopicCodec<QuarterlyWarning>;
  readonly receiptsCodec: TopicCodec<DeliveryReceipt>;
  producer(): Promise<HubProducer>;
  policy(id: string): Policy;
  /** Runs one region-period now (a rerun on purpose when the period ran before). */
  run(policyId: string, period: string, options: { dryRun: boolean; afterPublish?: (page: number) => void }): Promise<RunSummary>;
  /** How many input partitions the rules state is kept under: as many as the inbound topics have. */
  statePartitions(): Promise<number>;
  /** Starts the run's worker threads now rather than at the first run (HUB_WARNINGS_WORKERS). */
  startWorkers(): Promise<void>;
  /** The immediate alert for some people of an open period (warnPersons). */
  warnNow(policyId: string, period: string, persons: readonly PersonYear[]): Promise<RunSummary>;
  publishReceipts(receipts: readonly DeliveryReceipt[]): Promise<void>;
  close(): Promise<void>;
}

export async function openWarnings(env: Environment, logger: Logger, givenPolicies?: readonly Policy[]): Promise<WarningsRuntime> {
  const config = loadConfig(env, configKeys);
  const policies = givenPolicies ?? listPolicies().map(loadPolicy);
  const resolver = filePolicyResolver(policies);
  const endpoints = agencyEndpoints(env);
  const kafka = connectKafka(kafkaSettingsFromConfig(config, 'warnings'), logger);
  const warningsTopic = kafka.topicName(topics.quarterlyWarnings.name);
  const receiptsTopic = kafka.topicName(topics.deliveryReceipts.name);
  await kafka.ensureTopics([topicSpec('quarterlyWarnings', config.topicPrefix), topicSpec('deliveryReceipts', config.topicPrefix)]);
  const redis = new Redis(config.redisUrl, { maxRetriesPerRequest: 5 });
  const bullConnection = new Redis(config.redisUrl, { maxRetriesPerRequest: null });
  const registry = createRegistryClient(config.schemaRegistryUrl);
  const namespace = warningsNamespace(config.topicPrefix);
  const directory = createIdDirectory({ kafka, redis, registry, namespace, groupId: `${config.topicPrefix}hub-warnings-ids`, logger });
  const warningsCodec = createTopicCodec(registry, 'quarterlyWarnings', warningsTopic);
  const receiptsCodec = createTopicCodec(registry, 'deliveryReceipts', receiptsTopic);
  let producer: Promise<HubProducer> | undefined;
  const getProducer = (): Promise<HubProducer> => (producer ??= kafka.createProducer());
  const policy = (id: string): Policy => {
    const found = policies.find((p) => p.id === id);
    if (found === undefined)
      throw new HubError('POLICY_NOT_FOUND', `no policy ${id}; the regions are ${policies.map((p) => p.id).join(', ')}`);
    return found;
  };
  // The rules state is kept under one `{p<n>}` per input partition: as many as the inbound topics have.
  const statePartitions = async (): Promise<number> => {
    let partitions = config.topicPartitions;
    const existing = new Set(await kafka.topicsStartingWith(config.topicPrefix));
    for (const id of inboundTopicIds) {
      const topic = kafka.topicName(topics[id].name);
      if (existing.has(topic)) partitions = Math.max(partitions, (await kafka.endOffsets(topic)).size);
    }
    return partitions;
  };
  // Workers load the shipped policies: a runtime given policies of its own judges on this thread.
  const workers =
    config.warningsWorkers > 0 && givenPolicies === undefined
      ? createWarningWorkers({ count: config.warningsWorkers, env, namespace, logger })
      : undefined;
  const runDependencies = async (dryRun: boolean): Promise<RunDependencies> => ({
    redis,
    ...(workers === undefined ? {} : { workers }),
    partitions: await statePartitions(),
    topicPrefix: config.topicPrefix,
    namespace,
    policies: resolver,
    directory,
    logger,
    topic: warningsTopic,
    encode: (record) => warningsCodec.encode(record),
    ...(dryRun ? {} : { producer: await getProducer() }),
  });
  return {
    config,
    kafka,
    redis,
    bullConnection,
    namespace,
    policies,
    resolver,
    directory,
    endpoints,
    warningsCodec,
    receiptsCodec,
    policy,
    delivery: {
      connection: bullConnection,
      prefix: bullPrefix(config.topicPrefix),
      attempts: config.deliveryAttempts,
      backoffMs: config.deliveryBackoffMs,
      timeoutMs: config.deliveryTimeoutMs,
      concurrency: config.deliveryConcurrency,
      batchSize: config.deliveryBatchSize,
    },
    producer: getProducer,
    async warnNow(policyId, period, persons) {
      return warnPersons(await runDependencies(false), policy(policyId), period, persons);
    },
    async run(policyId, period, options) {
      // A run outside `hub warnings` (the CLI) feeds the directory itself until it closes; the run
      // waits for it to catch up (at once when the topics are empty), not for the group to form.
      if (!options.dryRun)
        void directory.start().catch((error: unknown) => {
          logger.error({ err: error }, 'id directory did not start');
        });
      const deps = await runDependencies(options.dryRun);
      return runWarnings(
        options.afterPublish === undefined ? deps : { ...deps, afterPublish: options.afterPublish },
        policy(policyId),
        period,
        { dryRun: options.dryRun },
      );
    },
    async publishReceipts(receipts) {
      if (receipts.length === 0) return;
      const encoded = await Promise.all(
        receipts.map(async (r) => ({ key: r.personKey ?? r.warningId, value: await receiptsCodec.encode(r) })),
      );
      await (await getProducer()).send(receiptsTopic, encoded);
    },
    statePartitions,
    async startWorkers() {
      await workers?.start();
    },
    async close() {
      await workers?.close();
      await directory.stop();
      if (producer !== undefined) await (await producer).close();
      await kafka.close();
      redis.disconnect();
      bullConnection.disconnect();
    },
  };
}

/** The delivery queue of a runtime, for the CLI. */
export const openDeliveryQueue = (runtime: WarningsRuntime) => deliveryQueue(runtime.delivery);

// The heavy face of warnings, beside openWarnings above: the command, the service and its schedules.
export { runWarningsCommand, describe as describeRun, table as runTable } from './warnings-command';
export { startWarningsService, type RunningWarnings } from './service';
export { registerSchedulers, runDue, runQueue, runWorker, schedulerId, runQueueName } from './scheduler';
