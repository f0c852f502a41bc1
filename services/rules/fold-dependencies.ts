import { Redis } from 'ioredis';
import { inboundTopicIds, topics, type InboundTopicId, type TopicRecords } from '../../schemas';
import type { HubConfig } from '../platform';
// Not '../registry', whose index loads @confluentinc/schemaregistry: fold workers stay lean.
import { createTopicCodec, type TopicCodec } from '../registry';
import type { RegistryClient } from '../registry';
import type { OutputTopicId } from './rules-service';

export const inboundIds: readonly InboundTopicId[] = inboundTopicIds;
export const outputIds: readonly OutputTopicId[] = ['benefitAdjustments', 'subsidyCorrections', 'selfPay', 'deadLetters'];

/** The full name (prefix included) of each topic the rules service reads or writes. */
export function rulesTopicNames(topicPrefix: string): Readonly<Record<InboundTopicId | OutputTopicId, string>> {
  return Object.fromEntries([...inboundIds, ...outputIds].map((id) => [id, `${topicPrefix}${topics[id].name}`])) as Record<
    InboundTopicId | OutputTopicId,
    string
  >;
}

/**
 * What folding facts needs apart from Kafka: Redis connections, the topics' codecs and full names.
 * The main thread (in-process folding, rebuilds) and each fold worker make their own.
 */
export interface FoldDependencies {
  readonly redis: Redis;
  /**
   * One connection per input partition, made when first needed: batches of different partitions
   * run at once, and each one's WATCH must stay on its own connection.
   */
  redisFor(partition: number): Redis;
  readonly topicNames: Readonly<Record<InboundTopicId | OutputTopicId, string>>;
  readonly decoders: { readonly [K in InboundTopicId]: TopicCodec<TopicRecords[K]> };
  readonly encoders: { readonly [K in OutputTopicId]: TopicCodec<TopicRecords[K]> };
  close(): void;
}

export function foldDependencies(config: Pick<HubConfig, 'topicPrefix' | 'redisUrl'>, registry: RegistryClient): FoldDependencies {
  const redis = new Redis(config.redisUrl, { maxRetriesPerRequest: 5 });
  const partitionConnections = new Map<number, Redis>();
  const topicNames = rulesTopicNames(config.topicPrefix);
  return {
    redis,
    redisFor(partition) {
      let connection = partitionConnections.get(partition);
      if (connection === undefined) {
        connection = redis.duplicate();
        partitionConnections.set(partition, connection);
      }
      return connection;
    },
    topicNames,
    decoders: {
      civilAffairsStatus: createTopicCodec(registry, 'civilAffairsStatus', topicNames.civilAffairsStatus),
      ruralRevitalizationStatus: createTopicCodec(registry, 'ruralRevitalizationStatus', topicNames.ruralRevitalizationStatus),
      hospitalSettlements: createTopicCodec(registry, 'hospitalSettlements', topicNames.hospitalSettlements),
      taxContributions: createTopicCodec(registry, 'taxContributions', topicNames.taxContributions),
    },
    encoders: {
      benefitAdjustments: createTopicCodec(registry, 'benefitAdjustments', topicNames.benefitAdjustments),
      subsidyCorrections: createTopicCodec(registry, 'subsidyCorrections', topicNames.subsidyCorrections),
      selfPay: createTopicCodec(registry, 'selfPay', topicNames.selfPay),
      deadLetters: createTopicCodec(registry, 'deadLetters', topicNames.deadLetters),
    },
    close() {
      redis.disconnect();
      for (const connection of partitionConnections.values()) connection.disconnect();
      partitionConnections.clear();
    },
  };
}
