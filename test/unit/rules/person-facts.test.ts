import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { engineSettlements, engineStatuses, medicalTypeOf } from '../../../services/rules';
import {
  supersedes,
  type StoredFact,
  type StoredSettlement,
  type StoredStatus,
  type StoredWithdrawal,
} from '../../../services/rules/core/person-facts';

const status = (over: Partial<StoredStatus>): StoredStatus => ({
  kind: 'status',
  eventId: 'e',
  version: 1,
  category: 'DIBAO',
  action: 'CERTIFY',
  from: '2019-03-01',
  to: null,
  ...over,
});

const settlement = (key: string, over: Partial<StoredSettlement> = {}): StoredSettlement => ({
  kind: 'settlement',
  eventId: `ev-${key}`,
  key,
  reversesKey: null,
  fixmedinsCode: 'H1',
  setlId: key,
  admdvs: '330302',
  insuredType: 'RESIDENT',
  medType: '21',
  settledAt: '2019-04-02',
  setlTime: 0,
  totalFen: 100,
  fullOwnPayFen: 0,
  overLimitFen: 0,
  preSelfPayFen: 0,
  policyScopeFen: 100,
  basicPaidFen: 50,
  settledCriticalIllnessFen: 0,
  settledAssistanceFen: 0,
  ...over,
});

describe("folding a person's facts", () => {
  it('a certification holds over [validFrom, validTo)', () => {
    expect(engineStatuses([status({})])).toEqual([{ category: 'DIBAO', from: '2019-03-01', to: null }]);
  });

  it('a revocation under another record id ends an open certification of the same category at its end date', () => {
    const statuses = engineStatuses([
      status({ eventId: 'a' }),
      status({ eventId: 'b', action: 'REVOKE', from: '2019-03-01', to: '2019-09-01' }),
    ]);
    expect(statuses).toEqual([
      { category: 'DIBAO', from: '2019-03-01', to: '2019-09-01' },
      { category: 'DIBAO', from: '2019-03-01', to: '2019-09-01' },
    ]);
  });

  it('a revocation does not touch a re-certification that starts after it, nor another category', () => {
    const statuses = engineStatuses([
      status({ eventId: 'a', from: '2019-01-01' }),
      status({ eventId: 'b', action: 'REVOKE', from: '2019-01-01', to: '2019-05-01' }),
      status({ eventId: 'c', from: '2019-08-01' }),
      status({ eventId: 'd', category: 'TEKUN', from: '2019-02-01' }),
    ]);
    expect(statuses).toContainEqual({ category: 'DIBAO', from: '2019-08-01', to: null });
    expect(statuses).toContainEqual({ category: 'TEKUN', from: '2019-02-01', to: null });
    expect(statuses).not.toContainEqual({ category: 'DIBAO', from: '2019-01-01', to: null });
  });

  it('risk elimination (风险消除) ends a MONITORED status', () => {
    expect(
      engineStatuses([
        status({ eventId: 'a', category: 'MONITORED', from: '2021-06-01' }),
        status({ eventId: 'b', category: 'MONITORED', action: 'RISK_ELIMINATED', from: '2021-06-01', to: '2022-03-15' }),
      ]).every((s) => s.to === '2022-03-15'),
    ).toBe(true);
  });

  it('a higher source version replaces a lower one whatever the arrival order; a resent settlement stays the first', () => {
    const v1 = status({ eventId: 'x1', version: 1 });
    const v2 = status({ eventId: 'x2', version: 2, to: '2019-06-01' });
    expect(supersedes(v2, v1)).toBe(true);
    expect(supersedes(v1, v2)).toBe(false);
    expect(supersedes(settlement('S1'), settlement('S1'))).toBe(false);
    expect(supersedes(settlement('S1'), undefined)).toBe(true);
  });

  it('folding in any order converges to the same statuses', () => {
    const facts: StoredFact[] = [
      status({ eventId: 'a', version: 1 }),
      status({ eventId: 'a2', version: 2, to: '2019-10-01' }),
      status({ eventId: 'b', category: 'TEKUN', from: '2019-05-01' }),
      status({ eventId: 'c', action: 'REVOKE', from: '2019-03-01', to: '2019-07-01' }),
    ];
    const fold = (order: StoredFact[]): string => {
      const byField = new Map<string, StoredFact>();
      for (const fact of order) {
        const field = fact.eventId.slice(0, 1);
        if (supersedes(fact, byField.get(field))) byField.set(field, fact);
      }
      return JSON.stringify(engineStatuses(byField.values()));
    };
    const expected = fold(facts);
    fc.assert(
      fc.property(fc.shuffledSubarray(facts, { minLength: facts.length, maxLength: facts.length }), (order) => fold(order) === expected),
    );
  });

  it('holds a reversal back until its original is known', () => {
    const reversal = settlement('R1', { reversesKey: 'S1' });
    expect(engineSettlements([reversal])).toEqual([]);
    expect(engineSettlements([reversal, settlement('S1')]).map((s) => [s.id, s.reversesId])).toEqual([
      ['R1', 'S1'],
      ['S1', undefined],
    ]);
  });

  it("passes a settlement's 病种编码 to the engine, and none when it has none (issue 12 item 5)", () => {
    expect(engineSettlements([settlement('S1', { medType: '14', diseaseCode: 'M00103' })])[0]?.diseaseCode).toBe('M00103');
    expect(engineSettlements([settlement('S1', { diseaseCode: null }), settlement('S2')]).map((s) => 'diseaseCode' in s)).toEqual([
      false,
      false,
    ]);
  });

  it('groups national medical types as the policies count them', () => {
    expect(['21', '22', '24', '2114'].map(medicalTypeOf)).toEqual(['INPATIENT', 'INPATIENT', 'INPATIENT', 'INPATIENT']);
    expect(['14', '15', '1401'].map(medicalTypeOf)).toEqual(['OUTPATIENT_CHRONIC', 'OUTPATIENT_CHRONIC', 'OUTPATIENT_CHRONIC']);
    expect(['11', '13', '41', '51'].map(medicalTypeOf)).toEqual([
      'OUTPATIENT_GENERAL',
      'OUTPATIENT_GENERAL',
      'OUTPATIENT_GENERAL',
      'OUTPATIENT_GENERAL',
    ]);
  });

  it(
    'a withdrawal replaces the version it names and every older one, and no older version brings the record ' + 'back (issue 10 item 6)',
    () => {
      const withdrawal: StoredWithdrawal = { kind: 'withdrawal', eventId: 'w', version: 2 };
      expect(supersedes(withdrawal, status({ version: 1 }))).toBe(true);
      expect(supersedes(status({ version: 1 }), withdrawal)).toBe(false);
      // At the same version the withdrawal wins, whichever came first: that version names another person.
      expect(supersedes(withdrawal, status({ version: 2, eventId: 'a' }))).toBe(true);
      expect(supersedes(status({ version: 2, eventId: 'a' }), withdrawal)).toBe(false);
      // A newer version for this person again (corrected back) replaces the withdrawal.
      expect(supersedes(status({ version: 3 }), withdrawal)).toBe(true);
      expect(engineStatuses([withdrawal, status({ eventId: 'other' })])).toEqual([{ category: 'DIBAO', from: '2019-03-01', to: null }]);
    },
  );
});
