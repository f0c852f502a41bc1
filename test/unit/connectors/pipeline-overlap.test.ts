import { describe, expect, it } from 'vitest';
import type { TopicRecords } from '../../../schemas';
import { hospitals } from '../../../connectors';
import { createIntake, type IntakeItem, type RawRecord, type SeenFacts } from '../../../connectors/intake';
import type { OutboundRecord, TransactionalPublisher } from '../../../services/kafka';
import { isHubError } from '../../../services/platform';
import { decodePublished, fixedNow, jsonCodec, memoryDeadLetters, secrets, validRaw } from './fixtures';

/**
 * Overlapping ingest calls (a file import prepares its next batch while Kafka acknowledges the one
 * before): Kafka sends and Redis are fakes whose answers the test releases one by one.
 */
function overlappingWorld(maxWaitingBatches?: number) {
  const sends: { records: readonly OutboundRecord[]; settle: (error?: Error) => void }[] = [];
  const published: OutboundRecord[] = [];
  const seen = new Map<string, string>();
  const publisher: TransactionalPublisher = {
    publish: (batches) =>
      new Promise<void>((resolve, reject) => {
        const records = batches.find((batch) => batch.topic === 'test.hospitals')?.records ?? [];
        sends.push({
          records,
          settle: (error) => {
            if (error === undefined) {
              published.push(...records);
              resolve();
            } else reject(error);
          },
        });
      }),
    close: () => Promise.resolve(),
  };
  const facts: SeenFacts = {
    lookup: (ids) => Promise.resolve(ids.map((id) => seen.get(id))),
    remember: (entries) => {
      for (const e of entries) if (!seen.has(e.eventId)) seen.set(e.eventId, e.contentHash);
      return Promise.resolve();
    },
  };
  const intake = createIntake({
    agency: hospitals,
    secrets,
    publisher,
    codec: jsonCodec<TopicRecords['hospitalSettlements']>('test.hospitals'),
    deadLetters: memoryDeadLetters().writer,
    seen: facts,
    now: () => fixedNow,
    ...(maxWaitingBatches === undefined ? {} : { maxWaitingBatches }),
  });
  /** Lets pending promise callbacks run (the fakes answer at once). */
  const settle = async (): Promise<void> => {
    for (let i = 0; i < 20; i += 1) await Promise.resolve();
  };
  return { intake, sends, published, seen, settle };
}

const settlement = (setl_id: string, extra: Partial<Record<string, unknown>> = {}): RawRecord => ({
  ...validRaw.hospitals,
  setl_id,
  ...extra,
});
const items = (...raws: RawRecord[]): IntakeItem[] => raws.map((raw, i) => ({ raw, rawFormat: 'json', position: `records[${i}]` }));

describe('intake with overlapping batches', () => {
  it('publishes a fact in two overlapping batches once, and sends batches in call order, each after the one before', async () => {
    const world = overlappingWorld();
    const first = world.intake.ingest(items(settlement('S1'), settlement('S2')), 'file');
    const second = world.intake.ingest(items(settlement('S2'), settlement('S3')), 'file');
    await world.settle();
    expect(world.sends).toHaveLength(1); // the second waits for the first's acknowledgement
    world.sends[0]?.settle();
    await world.settle();
    expect(world.sends).toHaveLength(2);
    world.sends[1]?.settle();
    expect((await first).map((o) => o.status)).toEqual(['accepted', 'accepted']);
    expect((await second).map((o) => o.status)).toEqual(['duplicate', 'accepted']);
    expect(world.published.map((r) => decodePublished({ record: r }).setl_id)).toEqual(['S1', 'S2', 'S3']);
    expect(world.seen.size).toBe(3);
  });

  it('refuses other content under a fact still in flight, like one already published', async () => {
    const world = overlappingWorld();
    const first = world.intake.ingest(items(settlement('S1')), 'file');
    const second = world.intake.ingest(items(settlement('S1', { med_type: '14' })), 'file');
    await world.settle();
    world.sends[0]?.settle();
    await world.settle();
    world.sends[1]?.settle();
    await first;
    expect((await second)[0]).toMatchObject({ status: 'rejected', problems: [{ field: 'sourceVersion' }] });
  });

  it('publishes nothing after a failed send of an earlier batch, and a batch that counted on its facts fails too', async () => {
    const world = overlappingWorld();
    const first = world.intake.ingest(items(settlement('S1')), 'file');
    const second = world.intake.ingest(items(settlement('S1'), settlement('S2')), 'file');
    await world.settle();
    world.sends[0]?.settle(new Error('broker down'));
    await expect(first).rejects.toThrow('broker down');
    await expect(second).rejects.toThrow('broker down');
    expect(world.sends).toHaveLength(1); // the second batch was never sent
    expect(world.published).toEqual([]);
    expect(world.seen.size).toBe(0);

    // Once nothing is in flight, the next call starts afresh: the resend is published.
    const retry = world.intake.ingest(items(settlement('S1'), settlement('S2')), 'file');
    await world.settle();
    world.sends[1]?.settle();
    expect((await retry).map((o) => o.status)).toEqual(['accepted', 'accepted']);
    expect(world.seen.size).toBe(2);
  });

  it('holds a batch at the screen until its send starts, and refuses one past the backlog bound at once, doing nothing of it', async () => {
    const world = overlappingWorld(1);
    const first = world.intake.ingest(items(settlement('S1')), 'file');
    await world.settle();
    expect(world.sends).toHaveLength(1);
    // The first is being sent and out of the screen's way: the second is screened and waits for its send
    // (holding the screen), the third waits to be screened, the only place to wait.
    const second = world.intake.ingest(items(settlement('S2')), 'file');
    await world.settle();
    const third = world.intake.ingest(items(settlement('S3')), 'file');
    await world.settle();
    expect(world.sends).toHaveLength(1);
    const refused = await world.intake.ingest(items(settlement('S4')), 'file').catch((error: unknown) => error);
    expect(isHubError(refused, 'OVERLOADED')).toBe(true);
    expect((refused as Error).message).toBe('too many batches for the hospitals intake are waiting (at most 1); try again later');

    for (let sent = 0; sent < 3; sent += 1) {
      world.sends[sent]?.settle();
      await world.settle();
    }
    for (const batch of [first, second, third]) expect((await batch).map((o) => o.status)).toEqual(['accepted']);
    expect(world.published.map((r) => decodePublished({ record: r }).setl_id)).toEqual(['S1', 'S2', 'S3']);
    expect([...world.seen.keys()]).toHaveLength(3);

    // Room again: the refused batch, sent again, is taken.
    const again = world.intake.ingest(items(settlement('S4')), 'file');
    await world.settle();
    world.sends[3]?.settle();
    expect((await again).map((o) => o.status)).toEqual(['accepted']);
  });

  it('remembers a fact only after Kafka acknowledged it', async () => {
    const world = overlappingWorld();
    const pending = world.intake.ingest(items(settlement('S1')), 'file');
    await world.settle();
    expect(world.seen.size).toBe(0);
    world.sends[0]?.settle();
    await pending;
    expect(world.seen.size).toBe(1);
  });
});

describe('identities the hub already stored', () => {
  it('keeps the event id and content hash formulas, which Redis and the topics hold for every published fact', async () => {
    const { createHash } = await import('node:crypto');
    const { FieldReader } = await import('../../../connectors/intake');
    const { derivePersonKey } = await import('../../../services/identity');
    const world = overlappingWorld();
    const pending = world.intake.ingest(items(settlement('S9')), 'file');
    await world.settle();
    world.sends[0]?.settle();
    const [outcome] = await pending;

    const { fact } = hospitals.read(new FieldReader(settlement('S9')), '2019-06-01');
    const eventId = `hospitals:${createHash('sha256').update(hospitals.factKey(fact)).digest('hex').slice(0, 32)}`;
    const personKey = derivePersonKey(String(validRaw.hospitals.certno), secrets.personKeySecret);
    const contentHash = createHash('sha256').update(JSON.stringify(fact)).update(personKey).digest('hex').slice(0, 32);
    expect(outcome).toMatchObject({ status: 'accepted', eventId });
    expect([...world.seen]).toEqual([[eventId, contentHash]]);
  });
});
