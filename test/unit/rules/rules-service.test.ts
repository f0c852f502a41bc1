import { describe, expect, it, vi } from 'vitest';
import { inboundTopicIds } from '../../../schemas';
import type { InboundRecord } from '../../../services/kafka';
import { deadLetterId } from '../../../services/kafka/dead-letter';
import { isHubError } from '../../../services/platform';
import { createLogger } from '../../../services/platform/runtime';
import { createRulesService, decodePerson, filePolicyResolver, type RulesDependencies } from '../../../services/rules';
import { MemoryState } from '../../support/rules-memory-state';
import { dibao, settlement, shanghai } from '../../support/xianyang-person';

const policies = filePolicyResolver();
const now = shanghai('2020-05-01T00:00:00');
const outputIds = ['benefitAdjustments', 'subsidyCorrections', 'selfPay', 'deadLetters'] as const;
const topicNames = Object.fromEntries([...inboundTopicIds, ...outputIds].map((id) => [id, `t.${id}`])) as RulesDependencies['topicNames'];
const hs = topicNames.hospitalSettlements;
const ca = topicNames.civilAffairsStatus;

/** A codec as JSON: what the service hands the codecs and gets back, without a registry. */
const json = {
  decode: (value: Buffer) => Promise.resolve(JSON.parse(value.toString('utf8')) as never),
  encode: (record: object) => Promise.resolve(Buffer.from(JSON.stringify(record), 'utf8')),
};
const bad = { decode: () => Promise.reject(new Error('unknown schema id 99')) };
const decoders = { civilAffairsStatus: json, ruralRevitalizationStatus: json, hospitalSettlements: json, taxContributions: json };

function service(state: MemoryState, more: Partial<RulesDependencies> = {}) {
  const logger = createLogger({ level: 'silent', role: 'rules' });
  const warn = vi.spyOn(logger, 'warn');
  const deps: RulesDependencies = {
    state,
    policies,
    topicNames,
    decoders,
    encoders: { benefitAdjustments: json, subsidyCorrections: json, selfPay: json, deadLetters: json },
    logger,
    now: () => now,
    ...more,
  };
  return { rules: createRulesService(deps), warn };
}

const april = settlement({ eventId: 'hs-1', setl_id: 'S1' });

const record = (topic: string, offset: number, value: object | null): InboundRecord => ({
  topic,
  partition: 0,
  offset: String(offset),
  key: null,
  value: value === null ? null : Buffer.from(JSON.stringify(value), 'utf8'),
  headers: {},
  timestamp: 1_700_000_000_000 + offset,
});

/** The id services/kafka gives the dead letter of the settlement topic's record at an offset. */
const letterAt = (offset: number): string =>
  deadLetterId({
    origin: 'rules',
    errorCode: '',
    errorMessage: '',
    rawFormat: 'avro',
    raw: Buffer.alloc(0),
    sourceTopic: hs,
    sourcePartition: 0,
    sourceOffset: String(offset),
  });

/** Each output topic's records, decoded: [topic, eventId, ...what tells them apart]. */
const published = (outputs: readonly { topic: string; records: readonly { key: string; value: Buffer }[] }[]) =>
  outputs.flatMap((batch) =>
    batch.records.map((r) => {
      const value = JSON.parse(r.value.toString('utf8')) as Record<string, unknown>;
      return [batch.topic, r.key, value.eventId, value.deltaFen ?? value.selfPayTotalFen ?? value.errorCode];
    }),
  );

describe('createRulesService handleBatch, on a state in memory', () => {
  it('folds a batch and commits the people, the outbox entry and the offset in one write', async () => {
    const state = new MemoryState();
    const { rules } = service(state);
    const batch = await rules.handleBatch([record(hs, 0, april), record(hs, 1, null)]);
    // A record without a value is dead-lettered as it is read, before the people are folded.
    expect(published(batch.outputs)).toStrictEqual([
      ['t.deadLetters', 'rules', letterAt(1), 'DESERIALIZE_FAILED'],
      ['t.selfPay', 'pk-1', 'ytd-288281f1c95defd1d8f4538a9a813b73', 1_900_000],
    ]);
    expect(batch.offsets).toStrictEqual([]);
    expect(batch.published).toStrictEqual([`1|${hs}@1`]);
    expect(state.calls).toStrictEqual([
      `p0 begin ${hs}`,
      'p0 outboxOutputs ',
      'p0 loadPersons pk-1',
      `p0 commit ${hs}@1 seq 1 persons pk-1`,
    ]);
    expect(state.applied.get(hs)).toBe(1n);
    expect(state.seq).toBe(1);
    expect(state.outbox.get(`1|${hs}@1`)).toStrictEqual(batch.outputs);
    expect([...decodePerson(state.persons.get('pk-1') ?? null).facts.keys()]).toStrictEqual(['h:H610400001/S1']);
  });

  it('publishes a pending entry of another topic before what the batch derives, with its offsets', async () => {
    const state = new MemoryState();
    const committedOffset = vi.fn((_topic: string, _partition: number) => Promise.resolve(0n));
    const { rules } = service(state, { committedOffset });
    const first = await rules.handleBatch([record(hs, 0, april)]);
    // Its transaction failed: the entry is still in the outbox, and Kafka committed nothing of hs.
    state.calls.length = 0;
    const second = await rules.handleBatch([record(ca, 0, dibao)]);
    expect(committedOffset.mock.calls).toStrictEqual([[hs, 0]]);
    expect(published(second.outputs)).toStrictEqual([
      ['t.selfPay', 'pk-1', 'ytd-288281f1c95defd1d8f4538a9a813b73', 1_900_000],
      ['t.selfPay', 'pk-1', 'ytd-d7166b2b3c2e0a504475c956fb08bf65', 1_525_000],
      ['t.benefitAdjustments', 'pk-1', 'adj-7b16abec597ff46e4550ef5877563454', 375_000],
    ]);
    expect(second.offsets).toStrictEqual([{ topic: hs, offset: '1' }]);
    expect(second.published).toStrictEqual([...first.published, `2|${ca}@0`]);
    expect(state.calls).toStrictEqual([
      `p0 begin ${ca}`,
      `p0 outboxOutputs 1|${hs}@0`,
      'p0 loadPersons pk-1',
      `p0 commit ${ca}@0 seq 2 persons pk-1`,
    ]);
    // Once the transaction committed, the consumer drops the entries; a redelivery folds nothing.
    await state.partition(0).dropOutbox(second.published);
    state.calls.length = 0;
    const again = await rules.handleBatch([record(ca, 0, dibao)]);
    expect(again).toStrictEqual({ outputs: [], offsets: [], published: [] });
    expect(state.calls).toStrictEqual([`p0 begin ${ca}`, 'p0 outboxOutputs ', 'p0 release', 'p0 dropOutbox ']);
  });

  it("drops an entry Kafka committed in the batch's write, and folds again when the state changed under it", async () => {
    const state = new MemoryState();
    const { rules, warn } = service(state, { committedOffset: () => Promise.resolve(1n) });
    await rules.handleBatch([record(hs, 0, april)]);
    state.calls.length = 0;
    state.interfere = () => {
      state.touch();
    };
    const batch = await rules.handleBatch([record(ca, 0, { ...dibao, eventId: 'ca-2' }), record(ca, 1, { ...dibao, eventId: 'ca-1' })]);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(state.calls.filter((c) => c.includes('commit'))).toStrictEqual([
      `p0 commit ${ca}@1 seq 2 persons pk-1`,
      `p0 commit ${ca}@1 seq 2 persons pk-1`,
    ]);
    expect(batch.offsets).toStrictEqual([]);
    expect(batch.published).toStrictEqual([`2|${ca}@1`]);
    expect([...state.outbox.keys()]).toStrictEqual([`2|${ca}@1`]);
  });

  it('dead-letters a record its codec refuses', async () => {
    const state = new MemoryState();
    const { rules } = service(state, { decoders: { ...decoders, hospitalSettlements: bad } });
    const batch = await rules.handleBatch([record(hs, 0, april)]);
    expect(published(batch.outputs)).toStrictEqual([['t.deadLetters', 'rules', letterAt(0), 'DESERIALIZE_FAILED']]);
    const letter = JSON.parse(batch.outputs[0]?.records[0]?.value.toString('utf8') ?? '{}') as Record<string, unknown>;
    expect(letter).toMatchObject({ errorMessage: 'unknown schema id 99', sourceTopic: hs, sourceOffset: '0', recordedAt: now });
    expect(state.persons.size).toBe(0);
    expect(state.applied.get(hs)).toBe(0n);
  });

  it('refuses state lost under the running service', async () => {
    const state = new MemoryState();
    const { rules } = service(state, { committedOffset: () => Promise.resolve(5n) });
    const lost = await rules.handleBatch([record(hs, 9, april)]).catch((error: unknown) => error);
    expect(isHubError(lost) && lost.code).toBe('STATE_LOST');
    expect(state.calls).toStrictEqual([`p0 begin ${hs}`, 'p0 outboxOutputs ', 'p0 release']);
  });

  it('records nothing to publish in a rebuild', async () => {
    const state = new MemoryState();
    const { rules } = service(state, { mode: 'rebuild' });
    expect(await rules.handleBatch([record(hs, 0, april)])).toStrictEqual({ outputs: [], offsets: [], published: [] });
    expect(state.outbox.size).toBe(0);
    expect(state.applied.get(hs)).toBe(0n);
    expect(state.persons.has('pk-1')).toBe(true);
  });
});
