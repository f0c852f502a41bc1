import { describe, expect, it } from 'vitest';
import type { BatchContext, BatchStep, HubConsumer } from '../../../services/kafka/consumer';
import type { InboundRecord } from '../../../services/kafka/records';
import {
  transactionalConsumer,
  type TransactionalBatch,
  type TransactionalConsumerOptions,
} from '../../../services/kafka/transactional-consumer';
import { brokerError, fakeTransactionalProducer, recordingLogger } from './fakes';

const inbound = (topic: string, partition: number, offset: number): InboundRecord => ({
  topic,
  partition,
  offset: String(offset),
  key: `person-${offset}`,
  value: Buffer.from(`v${offset}`),
  headers: {},
  timestamp: 0,
});

/** The loop over a fake group member: the test hands it batches and assignments itself. */
function loop(options: Partial<TransactionalConsumerOptions> & Pick<TransactionalConsumerOptions, 'handleBatch'>) {
  let step: BatchStep | undefined;
  let join: ((assigned: readonly { topic: string; partition: number }[]) => void) | undefined;
  const producers: ReturnType<typeof fakeTransactionalProducer>[] = [];
  const resolved: string[] = [];
  const committed: string[] = [];
  const { logger, lines } = recordingLogger();
  const consumer = transactionalConsumer(
    {
      groupId: 'rules',
      topics: ['facts', 'other'],
      fromBeginning: true,
      transactionalIdPrefix: 'rules-tx',
      onCommitted: (topic, partition, next) => {
        committed.push(`${topic}/${partition}@${next}`);
      },
      ...options,
    },
    {
      member: (s, j) => {
        step = s;
        join = j;
        return {
          start: () => Promise.resolve(),
          stop: () => Promise.resolve(),
          status: () => ({ consuming: true, assigned: 0 }),
          crashed: new Promise<Error>(() => undefined),
        } satisfies HubConsumer;
      },
      newProducer: (id) => {
        const producer = fakeTransactionalProducer(id);
        producers.push(producer);
        return producer;
      },
      logger,
    },
  );
  const batch = (topic: string, partition: number, records: readonly InboundRecord[], through: string): Promise<void> => {
    const context: BatchContext = {
      heartbeat: () => Promise.resolve(),
      resolveOffset: (offset) => {
        resolved.push(offset);
      },
      isStopping: () => false,
      through,
      topic,
      partition,
    };
    if (step === undefined) throw new Error('no step');
    return step({} as never, { topic, partition, highWatermark: through, through }, records, context);
  };
  return {
    consumer,
    producers,
    resolved,
    committed,
    lines,
    batch,
    assign: (partitions: number[]) => join?.(partitions.map((partition) => ({ topic: 'facts', partition }))),
  };
}

const publishOne = (records: readonly InboundRecord[]): Promise<TransactionalBatch> =>
  Promise.resolve({ outputs: [{ topic: 'out', records: records.map((r) => ({ key: r.key ?? '', value: Buffer.from('o') })) }] });

describe('consume-transform-produce loop', () => {
  it("commits a batch's outputs and its offset past the markers in one transaction of the partition number's producer", async () => {
    const world = loop({ handleBatch: publishOne });
    world.assign([2]);
    await world.batch('facts', 2, [inbound('facts', 2, 10), inbound('facts', 2, 11)], '13');
    expect(world.producers.map((p) => p.id)).toEqual(['rules-tx-p2']);
    const [transaction] = world.producers[0]?.transactions ?? [];
    expect(transaction?.outcome).toBe('committed');
    expect(transaction?.sent.flat().map((entry) => [entry.topic, entry.messages.map((m) => m.key)])).toEqual([
      ['out', ['person-10', 'person-11']],
    ]);
    expect(transaction?.offsets).toEqual([
      { consumerGroupId: 'rules', topics: [{ topic: 'facts', partitions: [{ partition: 2, offset: '13' }] }] },
    ]);
    expect(world.committed).toEqual(['facts/2@13']);
  });

  it("adds the handler's offsets of other topics, and never moves the batch's own topic back", async () => {
    const world = loop({
      handleBatch: () =>
        Promise.resolve({
          outputs: [],
          offsets: [
            { topic: 'other', offset: '7' },
            { topic: 'facts', offset: '3' },
          ],
        }),
    });
    world.assign([0]);
    await world.batch('facts', 0, [inbound('facts', 0, 5)], '6');
    expect(world.producers[0]?.transactions[0]?.offsets[0]?.topics).toEqual([
      { topic: 'facts', partitions: [{ partition: 0, offset: '6' }] },
      { topic: 'other', partitions: [{ partition: 0, offset: '7' }] },
    ]);
  });

  it('splits a batch into transactions of at most maxRecordsPerTransaction; only the last commits past the markers', async () => {
    const seen: string[][] = [];
    const world = loop({
      maxRecordsPerTransaction: 2,
      handleBatch: (records, context) => {
        seen.push([...records.map((r) => r.offset), `through ${context.through}`]);
        return publishOne(records);
      },
    });
    world.assign([1]);
    await world.batch(
      'facts',
      1,
      [1, 2, 3, 4, 5].map((o) => inbound('facts', 1, o)),
      '7',
    );
    expect(seen).toEqual([
      ['1', '2', 'through 3'],
      ['3', '4', 'through 5'],
      ['5', 'through 7'],
    ]);
    expect(world.producers[0]?.transactions.map((t) => t.offsets[0]?.topics[0]?.partitions[0]?.offset)).toEqual(['3', '5', '7']);
    expect(world.resolved).toEqual(['2', '4']);
  });

  it('hands a batch of transaction markers alone to the handler and commits past it', async () => {
    const seen: number[] = [];
    const world = loop({
      handleBatch: (records) => {
        seen.push(records.length);
        return Promise.resolve({ outputs: [] });
      },
    });
    world.assign([0]);
    await world.batch('facts', 0, [], '9');
    expect(seen).toEqual([0]);
    expect(world.producers[0]?.transactions[0]?.offsets[0]?.topics[0]?.partitions[0]?.offset).toBe('9');
  });

  it(
    'gives up a batch whose partition number was revoked while it was handled, without a producer (the new ' + 'owner publishes it)',
    async () => {
      const world = loop({ handleBatch: publishOne });
      world.assign([]);
      await expect(world.batch('facts', 3, [inbound('facts', 3, 0)], '1')).rejects.toMatchObject({ code: 'PRODUCER_FENCED' });
      expect(world.producers).toHaveLength(0);
    },
  );

  it('after a failed transaction aborts it, drops the producer and starts a new one for the retried batch', async () => {
    const world = loop({ handleBatch: publishOne });
    world.assign([0]);
    await world.batch('facts', 0, [inbound('facts', 0, 0)], '1');
    const producer = world.producers[0];
    producer?.failCommit.push(brokerError('INVALID_PRODUCER_EPOCH'));
    await expect(world.batch('facts', 0, [inbound('facts', 0, 1)], '2')).rejects.toMatchObject({ code: 'PRODUCER_FENCED' });
    expect(producer?.transactions.map((t) => t.outcome)).toEqual(['committed', 'aborted']);
    expect(producer?.connected).toBe(false);
    expect(world.lines.filter((line) => line.level === 'warn').map((line) => line.msg)).toEqual([
      'transaction failed and was aborted; the batch will be retried with a new producer',
    ]);
    await world.batch('facts', 0, [inbound('facts', 0, 1)], '2');
    expect(world.producers.map((p) => [p.id, p.transactions.map((t) => t.outcome)])).toEqual([
      ['rules-tx-p0', ['committed', 'aborted']],
      ['rules-tx-p0', ['committed']],
    ]);
  });

  it('lets batches of one partition number take turns: the second is handled after the first committed', async () => {
    const order: string[] = [];
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const world = loop({
      handleBatch: async (records) => {
        const name = records[0]?.topic ?? '?';
        order.push(`handle ${name}`);
        if (name === 'facts') await gate;
        return {
          outputs: [],
          committed: () => {
            order.push(`committed ${name}`);
            return Promise.resolve();
          },
        };
      },
    });
    world.assign([4]);
    const first = world.batch('facts', 4, [inbound('facts', 4, 0)], '1');
    const second = world.batch('other', 4, [inbound('other', 4, 0)], '1');
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(order).toEqual(['handle facts']);
    release();
    await Promise.all([first, second]);
    expect(order).toEqual(['handle facts', 'committed facts', 'handle other', 'committed other']);
  });

  it('forgets the producer of a number it lost at the next assignment, and disconnects every producer on stop', async () => {
    const world = loop({ handleBatch: publishOne });
    world.assign([0, 1]);
    await world.batch('facts', 0, [inbound('facts', 0, 0)], '1');
    await world.batch('facts', 1, [inbound('facts', 1, 0)], '1');
    world.assign([1]);
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(world.producers.map((p) => [p.id, p.connected])).toEqual([
      ['rules-tx-p0', false],
      ['rules-tx-p1', true],
    ]);
    await world.consumer.stop();
    expect(world.producers.map((p) => p.connected)).toEqual([false, false]);
  });
});
