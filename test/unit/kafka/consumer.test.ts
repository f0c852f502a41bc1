import { describe, expect, it } from 'vitest';
import { commitAfterHandling, groupMember, groupTimings, type GroupConsumerPort } from '../../../services/kafka/consumer';
import { HubError } from '../../../services/platform';
import { recordingLogger } from './fakes';

type Listener = (event: { payload: Record<string, unknown> }) => void;
type EachBatch = (payload: Record<string, unknown>) => Promise<void>;

/** A kafkajs consumer stand-in: the test fires its events and hands batches to eachBatch. */
function fakeConsumer() {
  const listeners = new Map<string, Listener[]>();
  const commits: unknown[] = [];
  let eachBatch: EachBatch | undefined;
  let stopped = 0;
  const events = { GROUP_JOIN: 'join', REBALANCING: 'rebalancing', STOP: 'stop', CRASH: 'crash', END_BATCH_PROCESS: 'end-batch' };
  const consumer = {
    events,
    on(event: string, listener: Listener) {
      listeners.set(event, [...(listeners.get(event) ?? []), listener]);
      return () => undefined;
    },
    connect: () => Promise.resolve(),
    subscribe: () => Promise.resolve(),
    run(config: { eachBatch: EachBatch }) {
      eachBatch = config.eachBatch;
      return Promise.resolve();
    },
    stop() {
      stopped += 1;
      return Promise.resolve();
    },
    disconnect: () => Promise.resolve(),
    commitOffsets(offsets: unknown) {
      commits.push(offsets);
      return Promise.resolve();
    },
  };
  const fire = (event: keyof typeof events, payload: Record<string, unknown>): void => {
    for (const listener of listeners.get(events[event]) ?? []) listener({ payload });
  };
  /** A fetched batch: messages at `offsets`, the last offset kafkajs reports (markers count). */
  const deliver = (topic: string, partition: number, offsets: number[], lastOffset: number): Promise<void> => {
    const resolved: string[] = [];
    if (eachBatch === undefined) throw new Error('not running');
    return eachBatch({
      batch: {
        topic,
        partition,
        highWatermark: String(lastOffset + 1),
        lastOffset: () => String(lastOffset),
        messages: offsets.map((offset) => ({
          offset: String(offset),
          key: Buffer.from(`k${offset}`),
          value: Buffer.from('v'),
          headers: {},
          timestamp: '0',
        })),
      },
      isRunning: () => true,
      isStale: () => false,
      heartbeat: () => Promise.resolve(),
      resolveOffset: (offset: string) => {
        resolved.push(offset);
      },
    });
  };
  return { port: consumer as unknown as GroupConsumerPort, commits, fire, deliver, stopped: () => stopped };
}

describe('consumer group member', () => {
  it('heartbeats every tenth of the session timeout, not more often than every 500 ms', () => {
    expect(groupTimings(undefined)).toEqual({ sessionTimeout: 10_000, heartbeatInterval: 1_000 });
    expect(groupTimings(3_000)).toEqual({ sessionTimeout: 3_000, heartbeatInterval: 500 });
  });

  it('commits a batch after its handler, past the transaction markers after its last record', async () => {
    const fake = fakeConsumer();
    const handled: string[][] = [];
    const committed: string[] = [];
    const member = groupMember(
      fake.port,
      { groupId: 'g', topics: ['t'], fromBeginning: true },
      commitAfterHandling({
        handleBatch: (records, context) => {
          handled.push([...records.map((r) => r.offset), `through ${context.through}`]);
          return Promise.resolve();
        },
        onCommitted: (topic, partition, next, high) => {
          committed.push(`${topic}/${partition}@${next} of ${high}`);
        },
      }),
      { logger: recordingLogger().logger, heartbeatIntervalMs: 1_000 },
    );
    await member.start();
    await fake.deliver('t', 1, [4, 5], 6);
    expect(handled).toEqual([['4', '5', 'through 7']]);
    expect(fake.commits).toEqual([[{ topic: 't', partition: 1, offset: '7' }]]);
    expect(committed).toEqual(['t/1@7 of 7']);
  });

  it('does not commit a batch whose handler failed, so it comes again', async () => {
    const fake = fakeConsumer();
    const member = groupMember(
      fake.port,
      { groupId: 'g', topics: ['t'], fromBeginning: true },
      commitAfterHandling({
        handleBatch: () => Promise.reject(new HubError('REDIS_UNAVAILABLE', 'down')),
      }),
      { logger: recordingLogger().logger, heartbeatIntervalMs: 1_000 },
    );
    await member.start();
    await expect(fake.deliver('t', 0, [0], 0)).rejects.toThrow('down');
    expect(fake.commits).toEqual([]);
    expect(member.status().crashed).toBeUndefined();
  });

  it('commits past a batch of transaction markers alone, handing it to the handler only when asked', async () => {
    for (const markerBatches of [false, true]) {
      const fake = fakeConsumer();
      let calls = 0;
      const member = groupMember(
        fake.port,
        { groupId: 'g', topics: ['t'], fromBeginning: true },
        commitAfterHandling({
          markerBatches,
          handleBatch: () => {
            calls += 1;
            return Promise.resolve();
          },
        }),
        { logger: recordingLogger().logger, heartbeatIntervalMs: 1_000 },
      );
      await member.start();
      fake.fire('END_BATCH_PROCESS', { topic: 't', partition: 2, batchSize: 0, lastOffset: '11' });
      await new Promise((resolve) => setTimeout(resolve, 0));
      expect([calls, fake.commits]).toEqual([markerBatches ? 1 : 0, [[{ topic: 't', partition: 2, offset: '12' }]]]);
    }
  });

  it('stops for good on a catastrophic HubError and reports it through crashed', async () => {
    const fake = fakeConsumer();
    const { logger, lines } = recordingLogger();
    const lost = new HubError('STATE_LOST', 'state behind the offsets', { catastrophic: true });
    const member = groupMember(
      fake.port,
      { groupId: 'g', topics: ['t'], fromBeginning: true },
      commitAfterHandling({ handleBatch: () => Promise.reject(lost) }),
      { logger, heartbeatIntervalMs: 1_000 },
    );
    await member.start();
    fake.fire('GROUP_JOIN', { memberAssignment: { t: [0, 1] } });
    expect(member.status()).toEqual({ consuming: true, assigned: 2 });
    await expect(fake.deliver('t', 0, [0], 0)).rejects.toBe(lost);
    expect(await member.crashed).toBe(lost);
    expect(member.status()).toEqual({ consuming: false, assigned: 2, crashed: lost });
    expect(fake.stopped()).toBe(1);
    expect(lines.filter((line) => line.level === 'error').map((line) => line.msg)).toEqual([
      'the consumer stops: a batch cannot be processed safely',
    ]);
  });

  it('is not consuming while the group rebalances, and reports a crash kafkajs will not restart', async () => {
    const fake = fakeConsumer();
    const member = groupMember(
      fake.port,
      { groupId: 'g', topics: ['t'], fromBeginning: true },
      commitAfterHandling({ handleBatch: () => Promise.resolve() }),
      { logger: recordingLogger().logger, heartbeatIntervalMs: 1_000 },
    );
    await member.start();
    fake.fire('GROUP_JOIN', { memberAssignment: { t: [0] } });
    fake.fire('REBALANCING', {});
    expect(member.status().consuming).toBe(false);
    fake.fire('GROUP_JOIN', { memberAssignment: { t: [0] } });
    fake.fire('CRASH', { error: new Error('retriable'), restart: true });
    expect(member.status().crashed).toBeUndefined();
    const fatal = new Error('not retriable');
    fake.fire('CRASH', { error: fatal, restart: false });
    expect(await member.crashed).toBe(fatal);
  });
});
