import { createHash } from 'node:crypto';
import type { CivilAffairsStatusChange, HospitalSettlement } from '../../../schemas';
import { describe, expect, it } from 'vitest';
import { deadLetterId } from '../../../services/kafka/dead-letter';
import { filePolicyResolver, type PersonState } from '../../../services/rules';
import { dibao, settlement, shanghai } from '../../support/xianyang-person';
import { foldBatch, sha256Hex, type BatchItem, type FoldOutput, type InboundPosition } from '../../../services/rules/core';

const policies = filePolicyResolver();
const now = shanghai('2020-05-01T00:00:00');

let offset = 0;
const at = (topic: string): InboundPosition => {
  offset += 1;
  return { topic, partition: 3, offset: String(offset), timestamp: 1_700_000_000_000 + offset, value: Buffer.from(`raw ${offset}`) };
};
const settled = (record: HospitalSettlement): BatchItem => ({ inbound: at('hs'), fact: { topic: 'hospitalSettlements', record } });
const certified = (record: CivilAffairsStatusChange): BatchItem => ({ inbound: at('ca'), fact: { topic: 'civilAffairsStatus', record } });

const summary = (outputs: readonly FoldOutput[]) =>
  outputs.map((o) =>
    o.topic === 'deadLetters'
      ? [o.topic, o.record.eventId, o.record.errorCode, o.record.errorMessage]
      : o.topic === 'benefitAdjustments'
        ? [o.topic, o.record.eventId, o.record.dueCriticalIllnessFen, o.record.dueAssistanceFen, o.record.deltaFen]
        : o.topic === 'selfPay'
          ? [o.topic, o.record.eventId, o.record.criticalIllnessFen, o.record.selfPayTotalFen]
          : [o.topic, o.record.eventId],
  );

const empty = (): PersonState => ({ facts: new Map(), emitted: new Map() });

function fold(items: readonly BatchItem[], state: PersonState, time: number) {
  const folded = foldBatch(items, new Map([['pk-1', state]]), { policies, now: time });
  return { summary: summary(folded.outputs), outputs: folded.outputs, state: folded.persons.get('pk-1'), reported: folded.reported };
}

describe('the rules fold (pure core)', () => {
  it('folds a settlement, re-opens it at a back-dated DIBAO certification and reports a bad reversal once', () => {
    offset = 0;
    // 45,000 − 25,000 = 20,000 yuan eligible; 60% × (20,000 − 10,000) = 6,000 yuan: what was settled.
    // Self-pay: 50,000 − 25,000 − 6,000 = 19,000 yuan.
    const first = fold([settled(settlement({ eventId: 'hs-1', setl_id: 'S1' }))], empty(), now);
    expect(first.summary).toStrictEqual([['selfPay', 'ytd-288281f1c95defd1d8f4538a9a813b73', 600_000, 1_900_000]]);
    expect([...(first.state?.facts.keys() ?? [])]).toStrictEqual(['h:H610400001/S1']);
    expect([...(first.state?.emitted.keys() ?? [])]).toStrictEqual(['y:xianyang-2020']);

    // DIBAO from 1 March re-opens the April settlement: 65% × (20,000 − 5,000) = 9,750 yuan due,
    // 3,750 yuan more. A reversal with a negative total is left out and dead-lettered; a record
    // that could not be decoded is dead-lettered first.
    const reversal = settlement({ eventId: 'hs-2', setl_id: 'S1R', is_reversal: true, orig_setl_id: 'S1', medfee_sumamt: -4_000_000 });
    const second = fold([certified(dibao), settled(reversal), { inbound: at('hs'), failure: 'not Avro' }], first.state ?? empty(), now + 1);
    const badReversal = 'reversal H610400001/S1R of H610400001/S1 left out: medfee_sumamt: -4000000 is negative';
    expect(second.summary).toStrictEqual([
      ['deadLetters', 'dl-23dadf518edd8b687d5691851e1412cd', 'DESERIALIZE_FAILED', 'not Avro'],
      ['benefitAdjustments', 'adj-7b16abec597ff46e4550ef5877563454', 975_000, 0, 375_000],
      ['selfPay', 'ytd-d7166b2b3c2e0a504475c956fb08bf65', 975_000, 1_525_000],
      ['deadLetters', 'dl-91920a198390a0aab82013a7656732b7', 'INPUT_INVALID', badReversal],
    ]);
    expect(second.reported).toStrictEqual([{ personKey: 'pk-1', policyId: 'xianyang-2020', code: 'INPUT_INVALID', message: badReversal }]);
    expect(second.outputs[1]?.record).toMatchObject({
      personKey: 'pk-1',
      policyId: 'xianyang-2020',
      setlId: 'S1',
      settledCriticalIllnessFen: 600_000,
      causedBy: ['ca-1', 'hs-2'],
      occurredAt: shanghai('2020-04-20T09:00:00'),
      recordedAt: now + 1,
    });
    const [undecodable, , , leftOut] = second.outputs;
    expect(undecodable?.record).toMatchObject({ sourceTopic: 'hs', sourcePartition: 3, sourceOffset: '4', rawFormat: 'avro' });
    expect(leftOut?.topic === 'deadLetters' && leftOut.record).toMatchObject({
      sourceTopic: null,
      sourceRecordId: 'pk-1',
      field: 'medfee_sumamt',
      rawFormat: 'json',
      raw: Buffer.from('{"personKey":"pk-1","eventId":"hs-2"}'),
    });
    // The id services/kafka's deadLetterId gives a letter without a topic position.
    const fingerprint = `pk-1\u0000${badReversal}`;
    expect(leftOut?.record.eventId).toBe(
      deadLetterId({ origin: 'rules', errorCode: '', errorMessage: '', rawFormat: 'json', raw: Buffer.alloc(0), fingerprint }),
    );

    // A second April settlement under DIBAO: the year's 40,000 yuan give 65% × 25,000 + 75% × 10,000
    // = 23,750 yuan, 14,000 of them for this one (8,000 more than settled). The left-out reversal
    // is still left out, and not reported again.
    const may = settlement({ eventId: 'hs-3', setl_id: 'S2', setl_time: shanghai('2020-04-25T10:00:00') });
    const third = fold([settled(may)], second.state ?? empty(), now + 2);
    expect(third.summary).toStrictEqual([
      ['benefitAdjustments', 'adj-9c00d3218f8c3e45af5abf9eb0061431', 1_400_000, 0, 800_000],
      ['selfPay', 'ytd-eff88bbe64d890e534a4cea094b81149', 2_375_000, 2_625_000],
    ]);
    expect(third.reported).toStrictEqual([]);
  });

  it('leaves a resent record out silently, and another record under the same setl_id out with a dead letter', () => {
    offset = 0;
    const first = fold([settled(settlement({ eventId: 'hs-1', setl_id: 'S1' }))], empty(), now);
    const again = fold(
      [settled(settlement({ eventId: 'hs-1', setl_id: 'S1' })), settled(settlement({ eventId: 'hs-9', setl_id: 'S1' }))],
      first.state ?? empty(),
      now,
    );
    expect(again.summary).toStrictEqual([
      [
        'deadLetters',
        'dl-61228ff7871904b5ef5091b8831dec39',
        'INPUT_INVALID',
        'H610400001/S1 is already the settlement folded for this person; this other record under the same setl_id is left out',
      ],
    ]);
    expect(again.state).toBeUndefined();
  });

  it('names its dead letters as services/kafka does, and hashes as node:crypto does', () => {
    const position: InboundPosition = { topic: 'in.hs', partition: 2, offset: '17', timestamp: 0, value: null };
    const failed = foldBatch([{ inbound: position, failure: 'bad' }], new Map(), { policies, now }).outputs[0];
    expect(failed?.record.eventId).toBe(
      deadLetterId({
        origin: 'rules',
        errorCode: '',
        errorMessage: '',
        rawFormat: 'avro',
        raw: Buffer.alloc(0),
        ...position,
        sourcePartition: 2,
        sourceOffset: '17',
        sourceTopic: 'in.hs',
      }),
    );
    for (const text of ['', 'abc', '低保 特困 \u0000 😀', 'x'.repeat(55), 'y'.repeat(56), 'z'.repeat(64), '咸阳'.repeat(500)])
      expect(sha256Hex(text)).toBe(createHash('sha256').update(text).digest('hex'));
  });
});
