import type { Redis } from 'ioredis';
import { topics, topicSpec } from '../../schemas';
import type { HubKafka, HubConsumer } from '../kafka';
import { HubError, type Logger } from '../platform';
import { createTopicCodec, type RegistryClient } from '../registry';
import { idDirectoryKey, lookupSealedIds } from './sealed-ids';

/**
 * The sealed ID number (idCipher) of every person the inbound topics have named, by person key,
 * in one Redis hash. The rules state keeps facts, not identities, but a warning must carry the
 * sealed number so that delivery can open it for the agency entitled to it. Only sealed numbers
 * are kept (AES-256-GCM, bound to the person key): the clear number never reaches Redis.
 *
 * Fed by its own consumer group on the status and settlement topics (every warned person has a
 * settlement); a run first waits until that group has caught up with the topics' ends.
 */
export interface IdDirectory {
  /** Joins the directory's consumer group (once; a second call does nothing). */
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Resolves once the group has consumed every record written before the call. */
  caughtUp(timeoutMs?: number): Promise<void>;
  /** Sealed numbers by person key; absent keys are missing from the map. */
  lookup(personKeys: readonly string[]): Promise<Map<string, string>>;
}

const sourceIds = ['civilAffairsStatus', 'ruralRevitalizationStatus', 'hospitalSettlements'] as const;

export function createIdDirectory(options: {
  kafka: HubKafka;
  redis: Redis;
  registry: RegistryClient;
  namespace: string;
  groupId: string;
  logger: Logger;
}): IdDirectory {
  const { kafka, redis, registry, namespace, groupId, logger } = options;
  const codecs = new Map(
    sourceIds.map((id) => {
      const name = kafka.topicName(topics[id].name);
      return [name, createTopicCodec(registry, id, name)] as const;
    }),
  );
  const topicNames = [...codecs.keys()];
  let consumer: HubConsumer | undefined;
  let starting: Promise<void> | undefined;
  let topicsEnsured: Promise<void> | undefined;
  const ensureTopics = (): Promise<void> =>
    (topicsEnsured ??= kafka.ensureTopics(sourceIds.map((id) => topicSpec(id, kafka.settings.topicPrefix))));
  return {
    start() {
      starting ??= (async () => {
        await ensureTopics();
        consumer = kafka.createConsumer({
          groupId,
          topics: topicNames,
          fromBeginning: true,
          handleBatch: async (records) => {
            const pairs: string[] = [];
            for (const record of records) {
              const codec = codecs.get(record.topic);
              if (codec === undefined || record.value === null) continue;
              const value = await codec.decode(record.value).catch((error: unknown) => {
                // A record the connectors wrote is decodable; one that is not has no identity to offer.
                logger.warn({ err: error, topic: record.topic, offset: record.offset }, 'id directory skips an undecodable record');
                return undefined;
              });
              if (value !== undefined) pairs.push(value.personKey, value.idCipher);
            }
            if (pairs.length > 0) await redis.hset(idDirectoryKey(namespace), ...pairs);
          },
        });
        await consumer.start();
      })();
      return starting;
    },
    async stop() {
      await starting?.catch(() => undefined);
      await consumer?.stop();
      consumer = undefined;
      starting = undefined;
    },
    async caughtUp(timeoutMs = 120_000) {
      await ensureTopics();
      const ends = new Map<string, bigint>();
      for (const name of topicNames)
        for (const [partition, end] of await kafka.endOffsets(name)) ends.set(`${name}/${partition}`, BigInt(end));
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const lags = await kafka.consumerLag(groupId, topicNames);
        const committed = new Map(lags.map((l) => [`${l.topic}/${l.partition}`, BigInt(l.committed)]));
        if ([...ends].every(([at, end]) => end === 0n || (committed.get(at) ?? -1n) >= end)) return;
        if (Date.now() > deadline)
          throw new HubError('KAFKA_UNAVAILABLE', `the id directory did not catch up with the inbound topics within ${timeoutMs} ms`);
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    },
    lookup: (personKeys) => lookupSealedIds(redis, namespace, personKeys),
  };
}
