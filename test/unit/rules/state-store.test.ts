import { describe, expect, it } from 'vitest';
import type { OutboundBatch } from '../../../services/kafka';
import { decodeOutbox, decodePerson, encodeOutbox, encodePerson, joinByTopic, type PersonState } from '../../../services/rules/state-store';

const bytes = (batches: readonly OutboundBatch[]) =>
  batches.map((b) => ({ topic: b.topic, records: b.records.map((r) => ({ key: r.key, value: [...r.value] })) }));

describe('an outbox entry', () => {
  it('gives back the topics, keys and bytes it was made of, in order', () => {
    const batches = [
      {
        topic: 'p.benefits.adjustments',
        records: [
          { key: 'k1', value: Buffer.from([0, 0, 0, 0, 3, 9, 255]) },
          { key: '人员', value: Buffer.alloc(0) },
        ],
      },
      { topic: 'p.hub.dead-letters', records: [{ key: '', value: Buffer.alloc(70_000, 7) }] },
      { topic: 'p.benefits.self-pay', records: [] },
    ];
    expect(bytes(decodeOutbox(encodeOutbox(batches)))).toEqual(bytes(batches));
    expect(decodeOutbox(encodeOutbox([]))).toEqual([]);
  });

  it('that is cut short is refused, not read as fewer records', () => {
    const entry = encodeOutbox([{ topic: 't', records: [{ key: 'k', value: Buffer.from('abcdef') }] }]);
    const cut = () => decodeOutbox(entry.subarray(0, entry.length - 1));
    expect(cut).toThrow(/truncated at byte \d+ of \d+/);
    expect(cut).toThrow(expect.objectContaining({ code: 'PROCESSING_FAILED' }));
  });

  it("entries of several batches join per topic, keeping each topic's order", () => {
    const joined = joinByTopic([
      { topic: 'a', records: [{ key: '1', value: Buffer.from('1') }] },
      { topic: 'b', records: [{ key: '2', value: Buffer.from('2') }] },
      { topic: 'a', records: [{ key: '3', value: Buffer.from('3') }] },
    ]);
    expect(joined.map((b) => [b.topic, b.records.map((r) => r.key)])).toEqual([
      ['a', ['1', '3']],
      ['b', ['2']],
    ]);
  });
});

describe('a stored person (one Avro value)', () => {
  it('decodes to the facts and published slots it was encoded from', () => {
    const state: PersonState = {
      facts: new Map([
        [
          's:civil-affairs/DIBAO',
          { kind: 'status', eventId: 'e1', version: 2, category: 'DIBAO', action: 'CERTIFY', from: '2020-03-01', to: null },
        ],
        [
          'h:H61040200001/S-1',
          {
            kind: 'settlement',
            eventId: 'e3',
            key: 'H61040200001/S-1',
            reversesKey: null,
            fixmedinsCode: 'H61040200001',
            setlId: 'S-1',
            admdvs: '610402',
            insuredType: 'RESIDENT',
            medType: '21',
            settledAt: '2020-04-02',
            setlTime: 1_585_792_800_000,
            totalFen: 5_000_000_000,
            fullOwnPayFen: 200_000,
            overLimitFen: 100_000,
            preSelfPayFen: 200_000,
            policyScopeFen: 4_500_000,
            basicPaidFen: 2_500_000,
            settledCriticalIllnessFen: 600_000,
            settledAssistanceFen: 0,
            diseaseCode: 'M00103',
          },
        ],
        [
          'h:H61040200001/S-1R',
          {
            kind: 'settlement',
            eventId: 'e4',
            key: 'H61040200001/S-1R',
            reversesKey: 'H61040200001/S-1',
            fixmedinsCode: 'H61040200001',
            setlId: 'S-1R',
            admdvs: '610402',
            insuredType: 'RESIDENT',
            medType: '21',
            settledAt: '2020-04-03',
            setlTime: 1_585_879_200_000,
            totalFen: -5_000_000_000,
            fullOwnPayFen: -200_000,
            overLimitFen: -100_000,
            preSelfPayFen: -200_000,
            policyScopeFen: -4_500_000,
            basicPaidFen: -2_500_000,
            settledCriticalIllnessFen: -600_000,
            settledAssistanceFen: 0,
            diseaseCode: null,
          },
        ],
        [
          'c:610402/2020/R1',
          {
            kind: 'contribution',
            eventId: 'e2',
            version: 1,
            key: '610402/2020/R1',
            admdvs: '610402',
            insuranceYear: 2020,
            insuredType: 'RESIDENT',
            refund: false,
            contributionDueFen: 28_000,
            subsidisedFen: 0,
            paidAt: '2019-12-01',
          },
        ],
      ]),
      emitted: new Map([
        [
          'y:xianyang-2020',
          {
            eventId: 'ytd-1',
            values: {
              kind: 'selfPay',
              medfeeFen: 100,
              basicFen: 50,
              criticalIllnessFen: 0,
              assistanceFen: 0,
              selfPayTotalFen: 50,
              selfPayInScopeFen: 50,
              settlementCount: 1,
              lastSettledAt: 1_650_000_000_000,
              categoriesDigest: 7,
            },
          },
        ],
        [
          'a:H/S-1',
          {
            eventId: 'adj-1',
            values: {
              kind: 'adjustment',
              dueCriticalIllnessFen: -300,
              dueAssistanceFen: 0,
              settledCriticalIllnessFen: 1_000_000_000_000_000,
              settledAssistanceFen: 0,
              descriptionDigest: 9,
            },
          },
        ],
        ['u:SW-1', { eventId: 'sub-1', values: { kind: 'subsidy', entitledSubsidyFen: 28_000, receivedSubsidyFen: 0, categoryDigest: 3 } }],
        ['x:abc', { eventId: 'dl-1', values: { kind: 'problem' } }],
      ]),
    };
    const back = decodePerson(encodePerson(state));
    const plain = (entries: Iterable<[string, object]>) =>
      [...entries].map(([k, v]): [string, object] => [k, { ...v }]).sort(([a], [b]) => a.localeCompare(b));
    expect(plain(back.facts)).toStrictEqual(plain(state.facts));
    expect(plain(back.emitted)).toStrictEqual(plain(state.emitted));
  });

  it('keeps a withdrawn status or contribution record as a withdrawal under its own field, with its version (issue 10 item 6)', () => {
    const state: PersonState = {
      facts: new Map([
        ['s:civil-affairs/MZ-1', { kind: 'withdrawal', eventId: 'w1', version: 2 }],
        ['c:SW-1', { kind: 'withdrawal', eventId: 'w2', version: 3 }],
        [
          's:civil-affairs/MZ-2',
          { kind: 'status', eventId: 'e1', version: 1, category: 'TEKUN', action: 'CERTIFY', from: '2022-01-01', to: null },
        ],
      ]),
      emitted: new Map(),
    };
    const back = decodePerson(encodePerson(state));
    expect([...back.facts].sort(([a], [b]) => a.localeCompare(b))).toStrictEqual([...state.facts].sort(([a], [b]) => a.localeCompare(b)));
  });

  it('that was never stored has no facts and nothing published', () => {
    const none = decodePerson(null);
    expect(none.facts.size).toBe(0);
    expect(none.emitted.size).toBe(0);
  });
});
