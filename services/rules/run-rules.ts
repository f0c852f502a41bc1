import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { kafkaSecurityKeys, type HubConsumer, type HubKafka, type TransactionalConsumerOptions } from '../kafka';
import { connectKafka, kafkaSettingsFromConfig } from '../kafka/runtime';
import { HubError, createLifecycle, loadConfig, type Environment, type Logger, type RoleMain } from '../platform';
import { createLogger, createMetrics, startOpsServer } from '../platform/runtime';
import { topicSpec } from '../../schemas';
import { createRegistryClient } from '../registry/runtime';
import type { PolicyResolver, RulesOutput } from './core/derive';
import { reconcileWithPublished } from './reconcile';
import { filePolicyResolver } from './policy-resolver';
import { foldDependencies, inboundIds, outputIds, rulesTopicNames } from './fold-dependencies';
import { createFoldWorkers } from './fold-workers';
import { createRulesService, type RulesService } from './rules-service';
import { publishedSlots, slotDifferences, stateSlots } from './slots';
import { checkStateLayout, dropAllState, markStateLayout, redisStateStore, stateBehind, stateNamespace } from './state-store';
import type { StateStore } from './state';

/** Port of the health and metrics endpoint of `hub rules` when HUB_OPS_PORT is 0 (the default). */
export const defaultOpsPort = 9401;

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
  'opsPort',
  'opsHost',
  'shutdownGraceMs',
  'rulesWorkers',
  'rulesWorkerHeapMb',
  ...kafkaSecurityKeys,
] as const;

/** The live service: folds batches, `parallel` of them at once. */
export interface LiveRulesService extends RulesService {
  readonly parallel: number;
  close(): Promise<void>;
}

export interface RulesRuntime {
  readonly kafka: HubKafka;
  readonly redis: Redis;
  /** The state under `namespace`, on `redis` (keepThrough, dropOutbox; batches use a connection per partition). */
  readonly state: StateStore;
  readonly groupId: string;
  /** Key namespace of the state in Redis. */
  readonly namespace: string;
  readonly inboundTopics: string[];
  readonly policies: PolicyResolver;
  /** A rules service over this runtime's topics and Redis; `namespace` overrides the state's key namespace. */
  service(mode: 'live' | 'rebuild', namespace?: string): RulesService;
  /**
   * The live service as `hub rules` runs it: folding on HUB_RULES_WORKERS worker threads, or on
   * this thread when that is 0 or when openRules was given policies in code (the workers load the
   * policy files). Started; close it after the consumer that feeds it has stopped. Refuses
   * (STATE_LAYOUT_CHANGED) state in Redis of another layout than this version keeps.
   */
  liveService(): Promise<LiveRulesService>;
  outputs(): Parameters<typeof publishedSlots>[1];
  close(): Promise<void>;
}

/**
 * Refuses to start on state behind the group's committed offsets (lost, or restored from an older
 * copy): an empty state looks like a fresh one, but the group would go on from the end of the
 * topics and derive from facts without their history. Only a rebuild can repair it.
 */
async function checkStateCurrent(
  kafka: HubKafka,
  redis: Redis,
  groupId: string,
  namespace: string,
  topics: readonly string[],
): Promise<void> {
  const lags = await kafka.consumerLag(groupId, topics);
  const behind = await stateBehind(
    redis,
    namespace,
    lags.map((l) => ({ topic: l.topic, partition: l.partition, committed: BigInt(l.committed) })),
  );
  if (behind.length === 0) return;
  const shown = behind
    .slice(0, 8)
    .map((b) => `${b.topic}/${b.partition} folded up to ${b.applied}, committed ${b.committed}`)
    .join('; ');
  throw new HubError(
    'STATE_LOST',
    `the rules state under ${namespace} is behind the offsets group ${groupId} committed ` +
      `(${behind.length} partition(s): ${shown}${behind.length > 8 ? '; …' : ''}): it was lost or restored from an older copy. ` +
      "Stop every 'hub rules' instance and run 'hub rules --rebuild'",
    { catastrophic: true, detail: { partitions: behind.length } },
  );
}

/** Connects the rules service's dependencies; checks that the inbound topics are co-partitioned. */
export async function openRules(env: Environment, logger: Logger, givenPolicies?: PolicyResolver): Promise<RulesRuntime> {
  const config = loadConfig(env, configKeys);
  const policies = givenPolicies ?? filePolicyResolver();
  const kafka = connectKafka(kafkaSettingsFromConfig(config, 'rules'), logger);
  const topicNames = rulesTopicNames(config.topicPrefix);
  await kafka.ensureTopics([...inboundIds, ...outputIds].map((id) => topicSpec(id, config.topicPrefix)));
  const counts = await Promise.all(inboundIds.map(async (id) => [topicNames[id], (await kafka.endOffsets(topicNames[id])).size] as const));
  if (new Set(counts.map(([, n]) => n)).size !== 1) {
    await kafka.close();
    throw new HubError(
      'CONFIG_INVALID',
      "the inbound topics must have equal partition counts to keep one person's facts together: " +
        counts.map(([t, n]) => `${t}=${n}`).join(', '),
      { catastrophic: true },
    );
  }
  const partitions = counts[0]?.[1] ?? 0;
  const fold = foldDependencies(config, createRegistryClient(config.schemaRegistryUrl));
  const { redis, encoders } = fold;
  const groupId = `${config.topicPrefix}hub-rules`;
  const stateKeys = stateNamespace(config.topicPrefix);
  const committedOffset = (topic: string, partition: number): Promise<bigint> => kafka.committedOffset(groupId, topic, partition);
  const service = (mode: 'live' | 'rebuild', namespace = stateKeys): RulesService =>
    createRulesService({
      state: redisStateStore({ redis, redisFor: (partition) => fold.redisFor(partition), namespace }),
      policies,
      topicNames,
      decoders: fold.decoders,
      encoders,
      logger,
      mode,
      committedOffset,
    });
  return {
    kafka,
    redis,
    state: redisStateStore({ redis, namespace: stateKeys }),
    groupId,
    policies,
    namespace: stateKeys,
    inboundTopics: inboundIds.map((id) => topicNames[id]),
    service,
    async liveService() {
      await checkStateLayout(redis, stateKeys, partitions);
      await checkStateCurrent(
        kafka,
        redis,
        groupId,
        stateKeys,
        inboundIds.map((id) => topicNames[id]),
      );
      // Workers read the policy files themselves; policies given in code stay on this thread.
      if (config.rulesWorkers === 0 || givenPolicies !== undefined)
        return Object.assign(service('live'), { parallel: 1, close: () => Promise.resolve() });
      const workers = createFoldWorkers({
        count: config.rulesWorkers,
        heapMb: config.rulesWorkerHeapMb,
        data: { env: { ...env }, namespace: stateKeys },
        logger,
        committedOffset,
      });
      try {
        await workers.start();
      } catch (error) {
        await workers.close();
        throw error;
      }
      return workers;
    },
    outputs: () => ({ adjustments: encoders.benefitAdjustments, subsidies: encoders.subsidyCorrections, selfPay: encoders.selfPay }),
    async close() {
      await kafka.close();
      fold.close();
    },
  };
}

/**
 * `hub rules`: consumes the four inbound topics in one consumer group with co-partitioned
 * assignment and publishes benefit adjustments, subsidy corrections and self-pay to date, each
 * batch's outputs committed with its input offsets in one Kafka transaction.
 * `hub rules --rebuild`: drops the Redis state, folds every inbound topic again without publishing,
 * compares the result with what was published, and hands the group on at the end of the topics.
 */
export const runRules: RoleMain = async (args, io) => {
  const unknown = args.filter((a) => a !== '--rebuild');
  if (unknown.length > 0) throw new HubError('USAGE', `unexpected argument '${unknown[0] ?? ''}'\nusage: hub rules [--rebuild]`);
  const config = loadConfig(io.env, configKeys);
  const logger = createLogger({ level: config.logLevel, role: 'rules' });
  const runtime = await openRules(io.env, logger);
  if (args.includes('--rebuild')) {
    try {
      return await rebuild(runtime, logger, io.stdout);
    } finally {
      await runtime.close();
    }
  }

  const lifecycle = createLifecycle(logger, config.shutdownGraceMs);
  const metrics = createMetrics('rules');
  let service: LiveRulesService;
  try {
    service = await runtime.liveService();
  } catch (error) {
    // Refused (STATE_LOST, STATE_LAYOUT_CHANGED): close the connections, or they keep the process alive.
    await lifecycle.shutdown('refused to start');
    await runtime.close();
    throw error;
  }
  const committedAt = new Map<string, number>();
  // Polled at start, at each assignment and every 10 s; commits set it in between (onCommitted).
  const pollLag = (): void => {
    const asked = Date.now();
    void runtime.kafka.consumerLag(runtime.groupId, runtime.inboundTopics).then(
      (lags) => {
        for (const lag of lags) {
          if ((committedAt.get(`${lag.topic}/${lag.partition}`) ?? 0) >= asked - 2_000) continue;
          metrics.consumerLag.set({ group: runtime.groupId, topic: lag.topic, partition: String(lag.partition) }, lag.lag);
        }
      },
      () => undefined,
    );
  };
  const options = rulesConsumerOptions(runtime, service, logger);
  const consumer = runtime.kafka.createTransactionalConsumer({
    ...options,
    onAssignment: (assigned) => {
      options.onAssignment?.(assigned);
      pollLag();
    },
    // The lag as of each commit: it reads 0 as soon as the last batch is committed, not at the next poll.
    onCommitted: (topic, partition, next, highWatermark) => {
      committedAt.set(`${topic}/${partition}`, Date.now());
      metrics.consumerLag.set(
        { group: runtime.groupId, topic, partition: String(partition) },
        Math.max(0, Number(BigInt(highWatermark) - BigInt(next))),
      );
    },
  });
  lifecycle.onShutdown('kafka and redis', () => runtime.close());
  lifecycle.onShutdown('rules workers', () => service.close());
  const ops = await startOpsServer({
    port: config.opsPort === 0 ? defaultOpsPort : config.opsPort,
    host: config.opsHost,
    metrics,
    // Ready means assigned and consuming: a member rebalancing, or whose consumer gave up, is not.
    readiness: async () => {
      const redis = await runtime.redis.ping().then(
        () => 'ok',
        (e: unknown) => String(e),
      );
      const status = consumer.status();
      const kafka =
        status.crashed !== undefined
          ? `crashed: ${status.crashed.message}`
          : status.consuming
            ? 'ok'
            : 'not consuming (joining or rebalancing)';
      return { ok: redis === 'ok' && kafka === 'ok', checks: { redis, kafka, partitions: String(status.assigned) } };
    },
  });
  lifecycle.onShutdown('ops server', () => ops.close());
  lifecycle.onShutdown('consumer', () => consumer.stop());
  // The poll covers partitions this member commits nothing on; its answer must not overwrite the
  // gauge of a partition committed since shortly before the poll was asked: a transaction's offsets
  // become visible to the admin only once its markers are written, so the answer may predate it.
  const lagTimer = setInterval(pollLag, 10_000);
  lagTimer.unref();
  lifecycle.onShutdown('lag timer', () => {
    clearInterval(lagTimer);
    return Promise.resolve();
  });
  await consumer.start();
  pollLag();
  logger.info({ group: runtime.groupId, ops: ops.port }, 'rules service running');
  // A consumer that gave up consumes nothing more: exit non-zero for a supervisor to restart it,
  // rather than stay up answering health checks with the lag frozen.
  const crashed = await Promise.race([lifecycle.stopped.then(() => undefined), consumer.crashed]);
  await lifecycle.shutdown(crashed === undefined ? 'stopped' : 'consumer crashed');
  if (crashed === undefined) return 0;
  throw new HubError('CONSUMER_CRASHED', `the Kafka consumer stopped: ${crashed.message}`, { cause: crashed, catastrophic: true });
};

/** The consumer of a live rules service: co-partitioned, transactional, from the beginning. */
export function rulesConsumerOptions(runtime: RulesRuntime, service: LiveRulesService, logger: Logger): TransactionalConsumerOptions {
  return {
    groupId: runtime.groupId,
    topics: runtime.inboundTopics,
    fromBeginning: true,
    coPartitioned: true,
    // Each batch waits on Redis and on a Kafka transaction (several round trips); with partitions
    // handled one at a time a record waited for every other partition's batch of the same fetch
    // (p99 1.2 s at 1,000/s). Partition numbers are independent (own state keys, own producer).
    // Two more batches than can be folded at once keep the folding busy while others wait on Redis
    // or commit their transactions: on the bench region that folded about a tenth faster than one
    // more (medians of 4 rounds each, 11,800 against 10,500 events/s), at the same memory.
    partitionsConsumedConcurrently: service.parallel + 2,
    // A 4 MiB fetch of one partition is 10,000 settlements and more, each for a person whose facts
    // are loaded; in transactions of 5,000 the service folds a million person-years in a 256 MiB heap.
    maxRecordsPerTransaction: 5_000,
    transactionalIdPrefix: runtime.groupId,
    handleBatch: async (records, context) => {
      const state = runtime.state.partition(context.partition);
      // The batch's commit moves past the transaction markers after its records: so does the state.
      const markersUpTo = BigInt(context.through) - 1n;
      const last = records[records.length - 1];
      if (last === undefined) {
        await state.keepThrough(context.topic, markersUpTo);
        return { outputs: [] };
      }
      const batch = await service.handleBatch(records);
      if (markersUpTo > BigInt(last.offset)) await state.keepThrough(context.topic, markersUpTo);
      // Once Kafka holds them, the published entries are dropped: the next batch finds an empty
      // outbox and asks Kafka nothing. Should this be lost, the next batch asks Kafka instead.
      return { outputs: batch.outputs, offsets: batch.offsets, committed: () => state.dropOutbox(batch.published) };
    },
    onAssignment: (assigned) => {
      logger.info({ partitions: assigned.length }, 'partitions assigned');
    },
  };
}

/** Starts a live rules service in this process (the CLI role adds signals, health and metrics). */
export async function startRules(
  env: Environment,
  logger: Logger,
): Promise<{ runtime: RulesRuntime; consumer: HubConsumer; stop(): Promise<void> }> {
  const runtime = await openRules(env, logger);
  let service: LiveRulesService;
  try {
    service = await runtime.liveService();
  } catch (error) {
    await runtime.close();
    throw error;
  }
  const consumer = runtime.kafka.createTransactionalConsumer(rulesConsumerOptions(runtime, service, logger));
  await consumer.start();
  return {
    runtime,
    consumer,
    stop: async () => {
      await consumer.stop();
      await service.close();
      await runtime.close();
    },
  };
}

/** Publishes a rebuild's records (not in a transaction: a rebuild that stops half way is run again). */
async function publishOutputs(runtime: RulesRuntime, outputs: readonly RulesOutput[]): Promise<void> {
  if (outputs.length === 0) return;
  const codecs = runtime.outputs();
  const producer = await runtime.kafka.createProducer();
  try {
    const send = async <T extends { personKey: string }>(
      codec: { topic: string; encode(record: T): Promise<Buffer> },
      records: readonly T[],
    ): Promise<void> => {
      for (let from = 0; from < records.length; from += 500) {
        const slice = records.slice(from, from + 500);
        await producer.send(
          codec.topic,
          await Promise.all(slice.map(async (record) => ({ key: record.personKey, value: await codec.encode(record) }))),
        );
      }
    };
    await send(
      codecs.adjustments,
      outputs.flatMap((o) => (o.topic === 'benefitAdjustments' ? [o.record] : [])),
    );
    await send(
      codecs.subsidies,
      outputs.flatMap((o) => (o.topic === 'subsidyCorrections' ? [o.record] : [])),
    );
    await send(
      codecs.selfPay,
      outputs.flatMap((o) => (o.topic === 'selfPay' ? [o.record] : [])),
    );
  } finally {
    await producer.close();
  }
}

/** Rebuilds the state from the topics; exported for tests. Returns the exit code. */
export async function rebuild(runtime: RulesRuntime, logger: Logger, out: NodeJS.WritableStream): Promise<number> {
  const members = await runtime.kafka.groupMemberCount(runtime.groupId);
  if (members > 0) {
    throw new HubError('USAGE', `${members} 'hub rules' instance(s) are running in group ${runtime.groupId}: stop them before a rebuild`);
  }
  const dropped = await dropAllState(runtime.redis, runtime.namespace);
  await markStateLayout(runtime.redis, runtime.namespace);
  out.write(`dropped ${dropped} state keys\n`);
  const ends = new Map(
    await Promise.all(runtime.inboundTopics.map(async (topic) => [topic, await runtime.kafka.endOffsets(topic)] as const)),
  );
  const remaining = new Set<string>();
  for (const [topic, partitions] of ends)
    for (const [partition, end] of partitions) if (end !== '0') remaining.add(`${topic}/${partition}`);
  const total = [...ends.values()].reduce((sum, partitions) => sum + [...partitions.values()].reduce((s, e) => s + Number(e), 0), 0);
  const started = Date.now();
  const service = runtime.service('rebuild');
  let folded = 0;
  await new Promise<void>((resolve, reject) => {
    if (remaining.size === 0) {
      resolve();
      return;
    }
    const consumer = runtime.kafka.createConsumer({
      groupId: `${runtime.groupId}-rebuild-${randomUUID().slice(0, 8)}`,
      topics: runtime.inboundTopics,
      fromBeginning: true,
      coPartitioned: true,
      // The topics end in transaction markers (the intake writes in transactions): a batch of
      // markers alone can be the one that reaches the end.
      markerBatches: true,
      handleBatch: async (records, context) => {
        const end = BigInt(ends.get(context.topic)?.get(context.partition) ?? '0');
        const within = records.filter((r) => BigInt(r.offset) < end);
        if (within.length > 0) await service.handleBatch(within);
        folded += within.length;
        if (BigInt(context.through) >= end && remaining.delete(`${context.topic}/${context.partition}`) && remaining.size === 0) {
          setImmediate(() => {
            void consumer.stop().then(resolve, reject);
          });
        }
      },
    });
    consumer.start().catch(reject);
  });
  const seconds = (Date.now() - started) / 1000;
  out.write(`folded ${folded} of ${total} inbound records in ${seconds.toFixed(1)} s\n`);

  // The topics are the record of what agencies and hospitals were told: the state takes over each
  // slot's published record, and what the facts call for and the topics lack is published now,
  // before the group is handed on (a crash in between leaves a rebuild to run again, which finds
  // those records published and publishes nothing more).
  const before = await publishedSlots(runtime.kafka, runtime.outputs());
  const reconciled = await reconcileWithPublished({
    redis: runtime.redis,
    namespace: runtime.namespace,
    policies: runtime.policies,
    published: before.latest,
    now: Date.now(),
  });
  await publishOutputs(runtime, reconciled.outputs);
  out.write(
    `${before.slots.size} output slots were published (${before.records} records); ` +
      `${reconciled.outputs.length} record(s) published now for slots whose rebuilt values differed\n`,
  );
  // The group continues from the end of each topic, past its last markers: so does the state.
  for (const [topic, partitions] of ends) {
    for (const [partition, end] of partitions) await runtime.state.partition(partition).keepThrough(topic, BigInt(end) - 1n);
  }
  await runtime.kafka.setGroupOffsets(runtime.groupId, ends);
  out.write(`group ${runtime.groupId} continues from the end of the topics\n`);

  const state = await stateSlots(runtime.redis, runtime.namespace);
  const published = reconciled.outputs.length === 0 ? before : await publishedSlots(runtime.kafka, runtime.outputs());
  const differences = slotDifferences(state, published.slots);
  out.write(`${state.size} output slots rebuilt; ${published.slots.size} published (${published.records} records)\n`);
  if (differences.length === 0) {
    out.write('the rebuilt state equals what was published\n');
    return 0;
  }
  logger.warn({ differences: differences.length }, 'rebuilt state differs from what was published');
  out.write(
    `${differences.length} slot(s) differ from what was published:\n${differences
      .slice(0, 50)
      .map((d) => `  ${d}`)
      .join('\n')}\n`,
  );
  return 1;
}
