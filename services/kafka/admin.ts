import type { Admin } from 'kafkajs';
import { HubError, describeError } from '../platform';
import { inTransaction, retryConcurrentTransactions, type TransactionalProducerPort } from './transactions';

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

/** Topics, groups and offsets: what the hub asks of the cluster outside producing and consuming. */
export interface KafkaAdmin {
  /** Creates missing topics with the configured partitions and replication; leaves existing ones. */
  ensureTopics(specs: readonly TopicSpec[]): Promise<void>;
  /** The names of the cluster's topics that start with `prefix`. */
  topicsStartingWith(prefix: string): Promise<string[]>;
  /** Deletes topics (a bench's or a test's own, by their prefix). */
  deleteTopics(names: readonly string[]): Promise<void>;
  /** The ids of the cluster's consumer groups that start with `prefix`. */
  groupsStartingWith(prefix: string): Promise<string[]>;
  /** Committed offset, end offset and lag of a consumer group per partition. */
  consumerLag(groupId: string, topics: readonly string[]): Promise<PartitionLag[]>;
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
}

/** The part of a kafkajs admin client the hub uses (a fake in the unit tests). */
export type AdminPort = Pick<
  Admin,
  'listTopics' | 'createTopics' | 'deleteTopics' | 'listGroups' | 'fetchOffsets' | 'fetchTopicOffsets' | 'deleteGroups' | 'describeGroups'
>;

export interface AdminDependencies {
  /** The connected admin client (connected on first use). */
  readonly admin: () => Promise<AdminPort>;
  /** A transactional producer, not yet connected. */
  readonly newProducer: (transactionalId: string) => TransactionalProducerPort;
  /** Partitions and replication of a topic created without its own count. */
  readonly partitions: number;
  readonly replication: number;
  /** Wait between attempts while a new topic's leadership settles (default 250 ms). */
  readonly settleWaitMs?: number;
}

/** Errors a broker gives while a new topic's leadership is still spreading through the metadata. */
const settlingErrors = new Set(['NOT_LEADER_FOR_PARTITION', 'LEADER_NOT_AVAILABLE', 'UNKNOWN_TOPIC_OR_PARTITION']);

/**
 * Asks the brokers for a topic's offsets, again for a few seconds while it is still settling: just
 * after creation a broker may answer from metadata that does not yet know the new leader.
 */
export async function fetchTopicOffsetsSettled(
  admin: Pick<AdminPort, 'fetchTopicOffsets'>,
  topic: string,
  waitMs = 250,
): Promise<Array<{ partition: number; offset: string; high: string; low: string }>> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await admin.fetchTopicOffsets(topic);
    } catch (error) {
      const type = (error as { type?: unknown }).type;
      if (typeof type !== 'string' || !settlingErrors.has(type) || attempt >= 20) throw error;
      await new Promise((resolve) => setTimeout(resolve, waitMs));
    }
  }
}

export function kafkaAdmin(deps: AdminDependencies): KafkaAdmin {
  const { admin } = deps;
  const offsetsOf = async (topic: string) => fetchTopicOffsetsSettled(await admin(), topic, deps.settleWaitMs);
  return {
    async ensureTopics(specs) {
      const client = await admin();
      const existing = new Set(await client.listTopics());
      const missing = specs.filter((spec) => !existing.has(spec.name));
      if (missing.length === 0) return;
      await client.createTopics({
        waitForLeaders: true,
        topics: missing.map((spec) => ({
          topic: spec.name,
          numPartitions: spec.partitions ?? deps.partitions,
          replicationFactor: deps.replication,
          configEntries: Object.entries(spec.config ?? {}).map(([name, value]) => ({ name, value })),
        })),
      });
    },

    async topicsStartingWith(prefix) {
      return (await (await admin()).listTopics()).filter((name) => name.startsWith(prefix));
    },

    async deleteTopics(names) {
      if (names.length > 0) await (await admin()).deleteTopics({ topics: [...names] });
    },

    async groupsStartingWith(prefix) {
      return (await (await admin()).listGroups()).groups.map((group) => group.groupId).filter((id) => id.startsWith(prefix));
    },

    async consumerLag(groupId, topics) {
      const client = await admin();
      const result: PartitionLag[] = [];
      const committed = await client.fetchOffsets({ groupId, topics: [...topics] });
      for (const topic of committed) {
        const ends = await offsetsOf(topic.topic);
        for (const partition of topic.partitions) {
          const end = ends.find((e) => e.partition === partition.partition)?.high ?? '0';
          const at = partition.offset === '-1' ? (ends.find((e) => e.partition === partition.partition)?.low ?? '0') : partition.offset;
          result.push({
            topic: topic.topic,
            partition: partition.partition,
            committed: partition.offset,
            end,
            lag: Number(BigInt(end) - BigInt(at)),
          });
        }
      }
      return result;
    },

    async deleteGroup(groupId) {
      const client = await admin();
      try {
        await client.deleteGroups([groupId]);
      } catch (error) {
        // kafkajs names the reason per group, not in the message ("Error in DeleteGroups").
        const reasons = ((error as { groups?: { error?: { type?: string } }[] }).groups ?? []).map((g) => g.error?.type ?? '');
        if (!/GROUP_ID_NOT_FOUND|does not exist/i.test(`${describeError(error)} ${reasons.join(' ')}`)) throw error;
      }
    },

    async committedOffset(groupId, topic, partition) {
      const [entry] = await (await admin()).fetchOffsets({ groupId, topics: [topic] });
      const found = entry?.partitions.find((p) => p.partition === partition);
      return BigInt(found?.offset ?? '-1');
    },

    async endOffsets(topic) {
      return new Map((await offsetsOf(topic)).map((entry) => [entry.partition, entry.high]));
    },

    async setGroupOffsets(groupId, offsets) {
      const { groups } = await (await admin()).describeGroups([groupId]);
      const members = groups[0]?.members.length ?? 0;
      if (members > 0)
        throw new HubError('USAGE', `group ${groupId} has ${members} active member(s): its offsets can only be set while it has none`);
      // One transaction commits every topic's offsets, as the rules service commits its own. The
      // admin's setOffsets joins the group with a consumer and waits out an empty fetch per topic
      // (5 s each, a rebuild's longest step on empty topics).
      const producer = deps.newProducer(`${groupId}-set-offsets`);
      await producer.connect();
      try {
        await inTransaction(producer, (transaction) =>
          retryConcurrentTransactions(() =>
            transaction.sendOffsets({
              consumerGroupId: groupId,
              topics: [...offsets].map(([topic, partitions]) => ({
                topic,
                partitions: [...partitions].map(([partition, offset]) => ({ partition, offset })),
              })),
            }),
          ),
        );
      } finally {
        await producer.disconnect();
      }
    },

    async groupMemberCount(groupId) {
      const { groups } = await (await admin()).describeGroups([groupId]);
      return groups[0]?.members.length ?? 0;
    },
  };
}
