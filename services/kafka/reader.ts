import type { Consumer } from 'kafkajs';
import { HubError } from '../platform';
import { fetchTopicOffsetsSettled, type AdminPort } from './admin';
import { toInbound, type InboundRecord } from './records';

/** Reads a topic whole. */
export interface TopicReader {
  /** Reads every record of a topic from the beginning up to its end offsets at call time. */
  readAll(topic: string): Promise<InboundRecord[]>;
  /**
   * Follows a topic from its end in a throwaway group that commits nothing, handing each fetched
   * batch's records to `onRecords` as it arrives; resolves once the reader has joined its group.
   */
  follow(topic: string, onRecords: (records: readonly InboundRecord[]) => void): Promise<{ stop(): Promise<void> }>;
}

/** The part of a kafkajs consumer a reader uses (a fake in the unit tests). */
export type ReaderConsumerPort = Pick<Consumer, 'connect' | 'subscribe' | 'run' | 'disconnect' | 'on' | 'events'>;

export interface TopicReaderDependencies {
  readonly admin: () => Promise<Pick<AdminPort, 'fetchTopicOffsets'>>;
  /**
   * A consumer of a throwaway group that commits nothing, so reading leaves no trace on the
   * cluster, with a short fetch wait: a read-committed fetch that finds a partition's last
   * transaction not yet marked committed is held by the broker for the whole wait (5 s by default),
   * longer than the idle time below, and the read ended without that transaction's records.
   */
  readonly newReader: (maxWaitMs: number) => ReaderConsumerPort;
  /** How long a reader that hears nothing takes it has read everything readable (default 2 s). */
  readonly idleMs?: number;
}

/** How long a reader may take to join its throwaway group before a read gives up. */
const joinTimeoutMs = 60_000;

export function topicReader(deps: TopicReaderDependencies): TopicReader {
  return {
    async readAll(topic) {
      const ends = await fetchTopicOffsetsSettled(await deps.admin(), topic);
      const remaining = new Map(ends.filter((e) => BigInt(e.high) > BigInt(e.low)).map((e) => [e.partition, BigInt(e.high)]));
      const records: InboundRecord[] = [];
      if (remaining.size === 0) return records;
      const reader = deps.newReader(250);
      await reader.connect();
      await reader.subscribe({ topics: [topic], fromBeginning: true });
      await new Promise<void>((resolve, reject) => {
        // A transactional topic ends in commit markers, which a read-committed consumer never
        // delivers: progress counts them (batch.lastOffset() does), and a reader that hears nothing
        // for a while has read everything that is readable. The quiet is counted from the group
        // join (or the first batch), not from the subscription: on a loaded machine the join alone
        // takes longer than the idle time, and the read ended before it had fetched anything.
        let idle: NodeJS.Timeout | undefined;
        const joinCap = setTimeout(() => {
          reject(new HubError('UNAVAILABLE', `reading ${topic}: the reader did not join its group within ${joinTimeoutMs / 1000} s`));
        }, joinTimeoutMs);
        const done = (): void => {
          clearTimeout(joinCap);
          resolve();
        };
        const settle = (): void => {
          clearTimeout(joinCap);
          if (idle !== undefined) clearTimeout(idle);
          if (remaining.size === 0) {
            done();
            return;
          }
          idle = setTimeout(done, deps.idleMs ?? 2_000);
        };
        reader.on(reader.events.GROUP_JOIN, settle);
        reader
          .run({
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
          })
          .catch(reject);
      });
      await reader.disconnect();
      return records.sort((a, b) => a.partition - b.partition || Number(BigInt(a.offset) - BigInt(b.offset)));
    },

    async follow(topic, onRecords) {
      // A fetch returns at once when records are there; the short wait bounds how long an empty
      // read-committed fetch holds a record that arrives meanwhile.
      const reader = deps.newReader(100);
      await reader.connect();
      await reader.subscribe({ topics: [topic], fromBeginning: false });
      const joined = new Promise<void>((resolve) => {
        reader.on(reader.events.GROUP_JOIN, () => resolve());
      });
      await reader.run({
        autoCommit: false,
        eachBatch: ({ batch }) => {
          onRecords(batch.messages.map((message) => toInbound(batch.topic, batch.partition, message)));
          return Promise.resolve();
        },
      });
      await joined;
      return { stop: () => reader.disconnect() };
    },
  };
}
