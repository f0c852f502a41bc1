import { describe, expect, it } from 'vitest';
import { kafkaAdmin, type AdminPort } from '../../../services/kafka/admin';
import { topicReader, type ReaderConsumerPort } from '../../../services/kafka/reader';
import { brokerError, fakeTransactionalProducer } from './fakes';

/** An admin stand-in answering from tables the test sets. */
function fakeAdmin(answers: Partial<Record<keyof AdminPort, (...args: never[]) => unknown>>): AdminPort {
  return answers as unknown as AdminPort;
}

const ends = [
  { partition: 0, offset: '9', high: '9', low: '2' },
  { partition: 1, offset: '5', high: '5', low: '0' },
];

describe('Kafka admin', () => {
  it("counts a group's lag from its committed offset, or from the partition's start when it has committed none", async () => {
    const admin = kafkaAdmin({
      admin: () =>
        Promise.resolve(
          fakeAdmin({
            fetchOffsets: () =>
              Promise.resolve([
                {
                  topic: 't',
                  partitions: [
                    { partition: 0, offset: '-1' },
                    { partition: 1, offset: '4' },
                  ],
                },
              ]),
            fetchTopicOffsets: () => Promise.resolve(ends),
          }),
        ),
      newProducer: () => fakeTransactionalProducer(),
      partitions: 6,
      replication: 1,
    });
    expect(await admin.consumerLag('g', ['t'])).toEqual([
      { topic: 't', partition: 0, committed: '-1', end: '9', lag: 7 },
      { topic: 't', partition: 1, committed: '4', end: '5', lag: 1 },
    ]);
  });

  it("asks for a new topic's offsets again while its leader is being elected", async () => {
    let calls = 0;
    const admin = kafkaAdmin({
      admin: () =>
        Promise.resolve(
          fakeAdmin({
            fetchTopicOffsets: () => {
              calls += 1;
              return calls < 3 ? Promise.reject(brokerError('LEADER_NOT_AVAILABLE')) : Promise.resolve(ends);
            },
          }),
        ),
      newProducer: () => fakeTransactionalProducer(),
      partitions: 6,
      replication: 1,
      settleWaitMs: 1,
    });
    expect(await admin.endOffsets('t')).toEqual(
      new Map([
        [0, '9'],
        [1, '5'],
      ]),
    );
    expect(calls).toBe(3);
  });

  it('creates only the missing topics, with the configured partitions and replication unless a spec says otherwise', async () => {
    const created: unknown[] = [];
    const admin = kafkaAdmin({
      admin: () =>
        Promise.resolve(
          fakeAdmin({
            listTopics: () => Promise.resolve(['a']),
            createTopics: (request: never) => {
              created.push(request);
              return Promise.resolve(true);
            },
          }),
        ),
      newProducer: () => fakeTransactionalProducer(),
      partitions: 6,
      replication: 3,
    });
    await admin.ensureTopics([{ name: 'a' }, { name: 'b', config: { 'retention.ms': '-1' } }, { name: 'c', partitions: 1 }]);
    expect(created).toEqual([
      {
        waitForLeaders: true,
        topics: [
          { topic: 'b', numPartitions: 6, replicationFactor: 3, configEntries: [{ name: 'retention.ms', value: '-1' }] },
          { topic: 'c', numPartitions: 1, replicationFactor: 3, configEntries: [] },
        ],
      },
    ]);
  });

  it('takes a group that does not exist as deleted, and passes any other refusal on', async () => {
    const refusal = (type: string) => Object.assign(new Error('Error in DeleteGroups'), { groups: [{ groupId: 'g', error: { type } }] });
    for (const [type, outcome] of [
      ['GROUP_ID_NOT_FOUND', 'deleted'],
      ['NON_EMPTY_GROUP', 'refused'],
    ] as const) {
      const admin = kafkaAdmin({
        admin: () => Promise.resolve(fakeAdmin({ deleteGroups: () => Promise.reject(refusal(type)) })),
        newProducer: () => fakeTransactionalProducer(),
        partitions: 1,
        replication: 1,
      });
      expect(
        await admin.deleteGroup('g').then(
          () => 'deleted',
          () => 'refused',
        ),
      ).toBe(outcome);
    }
  });

  it("sets a group's offsets in one transaction, and refuses while the group has members", async () => {
    const producer = fakeTransactionalProducer();
    let members = 1;
    const admin = kafkaAdmin({
      admin: () =>
        Promise.resolve(
          fakeAdmin({ describeGroups: () => Promise.resolve({ groups: [{ members: Array.from({ length: members }, () => ({})) }] }) }),
        ),
      newProducer: () => producer,
      partitions: 1,
      replication: 1,
    });
    const offsets = new Map([
      [
        'a',
        new Map([
          [0, '5'],
          [1, '7'],
        ]),
      ],
      ['b', new Map([[0, '2']])],
    ]);
    await expect(admin.setGroupOffsets('g', offsets)).rejects.toMatchObject({ code: 'USAGE' });
    members = 0;
    await admin.setGroupOffsets('g', offsets);
    expect(producer.transactions.map((t) => [t.outcome, t.offsets])).toEqual([
      [
        'committed',
        [
          {
            consumerGroupId: 'g',
            topics: [
              {
                topic: 'a',
                partitions: [
                  { partition: 0, offset: '5' },
                  { partition: 1, offset: '7' },
                ],
              },
              { topic: 'b', partitions: [{ partition: 0, offset: '2' }] },
            ],
          },
        ],
      ],
    ]);
    expect(producer.connected).toBe(false);
  });
});

describe('topic reader', () => {
  it(
    'reads every partition up to its end at call time, counting the transaction markers kafkajs skips, in ' + 'partition and offset order',
    async () => {
      type EachBatch = (payload: {
        batch: {
          topic: string;
          partition: number;
          lastOffset(): string;
          messages: { offset: string; key: Buffer; value: Buffer; headers: Record<string, never>; timestamp: string }[];
        };
      }) => Promise<void>;
      let disconnected = false;
      const message = (offset: number) => ({
        offset: String(offset),
        key: Buffer.from(`k${offset}`),
        value: Buffer.from('v'),
        headers: {},
        timestamp: '0',
      });
      const reader: ReaderConsumerPort = {
        connect: () => Promise.resolve(),
        subscribe: () => Promise.resolve(),
        disconnect: () => {
          disconnected = true;
          return Promise.resolve();
        },
        on: () => () => undefined,
        events: {} as ReaderConsumerPort['events'],
        run: async (config) => {
          const eachBatch = config?.eachBatch as unknown as EachBatch;
          // Partition 1: records 0-2, then a marker at 3 (its end is 4); a record written after the call at 4.
          await eachBatch({ batch: { topic: 't', partition: 1, lastOffset: () => '4', messages: [0, 1, 2, 4].map(message) } });
          await eachBatch({ batch: { topic: 't', partition: 0, lastOffset: () => '1', messages: [1, 0].map(message) } });
        },
      };
      const records = await topicReader({
        admin: () =>
          Promise.resolve(
            fakeAdmin({
              fetchTopicOffsets: () =>
                Promise.resolve([
                  { partition: 0, offset: '2', high: '2', low: '0' },
                  { partition: 1, offset: '4', high: '4', low: '0' },
                  { partition: 2, offset: '3', high: '3', low: '3' },
                ]),
            }),
          ),
        newReader: () => reader,
        idleMs: 60_000,
      }).readAll('t');
      expect(records.map((r) => `${r.partition}@${r.offset}`)).toEqual(['0@0', '0@1', '1@0', '1@1', '1@2']);
      expect(disconnected).toBe(true);
    },
  );

  it('counts the quiet that ends a read from the group join, not from the subscription, however long the join takes', async () => {
    type EachBatch = (payload: {
      batch: {
        topic: string;
        partition: number;
        lastOffset(): string;
        messages: { offset: string; key: Buffer; value: Buffer; headers: Record<string, never>; timestamp: string }[];
      };
    }) => Promise<void>;
    const listeners: (() => void)[] = [];
    const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
    const reader: ReaderConsumerPort = {
      connect: () => Promise.resolve(),
      subscribe: () => Promise.resolve(),
      disconnect: () => Promise.resolve(),
      on: ((_event: string, listener: () => void) => {
        listeners.push(listener);
        return () => undefined;
      }) as unknown as ReaderConsumerPort['on'],
      events: { GROUP_JOIN: 'consumer.group_join' } as ReaderConsumerPort['events'],
      run: (config) => {
        const eachBatch = config?.eachBatch as unknown as EachBatch;
        // The join takes three idle times; the first fetch follows it at once. The end offset (1) is
        // not reached, so only the quiet after the batch ends the read.
        void (async () => {
          await sleep(90);
          for (const listener of listeners) listener();
          await sleep(5);
          const message = { offset: '0', key: Buffer.from('k'), value: Buffer.from('v'), headers: {}, timestamp: '0' };
          await eachBatch({ batch: { topic: 't', partition: 0, lastOffset: () => '0', messages: [message] } });
        })();
        return Promise.resolve();
      },
    };
    const records = await topicReader({
      admin: () =>
        Promise.resolve(fakeAdmin({ fetchTopicOffsets: () => Promise.resolve([{ partition: 0, offset: '2', high: '2', low: '0' }]) })),
      newReader: () => reader,
      idleMs: 30,
    }).readAll('t');
    expect(records.map((r) => `${r.partition}@${r.offset}`)).toEqual(['0@0']);
  });
});
