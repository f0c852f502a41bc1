import { describe, expect, it } from 'vitest';
import { derivePerson, filePolicyResolver, type EmittedSlot, type SlotField } from '../../../services/rules';
import { textDigest } from '../../../services/rules/core/slot-values';
import type { StoredContribution, StoredFact, StoredSettlement, StoredStatus } from '../../../services/rules/core/person-facts';

const policies = filePolicyResolver();
const now = Date.parse('2020-05-01T00:00:00+08:00');

/** Xianyang 2020 (seed 003): deductible 10,000 yuan, 60% up to 30,000; DIBAO: 5,000 and 65%. */
const april: StoredSettlement = {
  kind: 'settlement',
  eventId: 'hs-1',
  key: 'H610400001/S1',
  reversesKey: null,
  fixmedinsCode: 'H610400001',
  setlId: 'S1',
  admdvs: '610402',
  insuredType: 'RESIDENT',
  medType: '21',
  settledAt: '2020-04-02',
  setlTime: Date.parse('2020-04-02T10:00:00+08:00'),
  totalFen: 5_000_000,
  fullOwnPayFen: 200_000,
  overLimitFen: 100_000,
  preSelfPayFen: 200_000,
  policyScopeFen: 4_500_000,
  basicPaidFen: 2_500_000,
  settledCriticalIllnessFen: 600_000,
  settledAssistanceFen: 0,
};
const dibaoFromMarch: StoredStatus = {
  kind: 'status',
  eventId: 'ca-1',
  version: 1,
  category: 'DIBAO',
  action: 'CERTIFY',
  from: '2020-03-01',
  to: null,
};

function derive(facts: StoredFact[], emitted: Map<SlotField, EmittedSlot> = new Map()) {
  return derivePerson({
    personKey: 'pk1',
    facts,
    emitted,
    causes: [{ eventId: 'ca-1', occurredAt: now, description: 'DIBAO certified' }],
    policies,
    now,
  });
}

describe("deriving a person's outputs", () => {
  it('publishes nothing for a settlement the hospital settled correctly, but the self-pay to date', () => {
    // eligible 45,000 − 25,000 = 20,000; standard: 60% × (20,000 − 10,000) = 6,000 yuan = what was settled.
    const { outputs } = derive([april]);
    expect(outputs.map((o) => o.topic)).toEqual(['selfPay']);
    expect(outputs[0]?.record).toMatchObject({
      policyId: 'xianyang-2020',
      criticalIllnessFen: 600_000,
      selfPayTotalFen: 5_000_000 - 2_500_000 - 600_000,
    });
  });

  it("a DIBAO certification back-dated to March pays the April settlement's difference", () => {
    // DIBAO: 65% × (20,000 − 5,000) = 9,750 yuan due; 6,000 settled: 补支付 3,750 yuan.
    const { outputs, emitted } = derive([april, dibaoFromMarch]);
    const adjustment = outputs.find((o) => o.topic === 'benefitAdjustments')?.record;
    expect(adjustment).toMatchObject({
      setlId: 'S1',
      settledCriticalIllnessFen: 600_000,
      dueCriticalIllnessFen: 975_000,
      deltaFen: 375_000,
      kind: 'SUPPLEMENTARY_PAYMENT',
      categoryApplied: 'DIBAO',
      causedBy: ['ca-1'],
      supersedes: null,
    });
    // The reason names the certification from the facts, not the record that happened to arrive last.
    expect(adjustment?.reason).toContain('DIBAO applies on 2020-04-02');
    expect(adjustment?.reason).toContain('DIBAO certified 2020-03-01–open');
    // Kept: due and settled amounts, and the digest of category and reason (a change of either republishes).
    expect(emitted.get('a:H610400001/S1')?.values).toEqual({
      kind: 'adjustment',
      dueCriticalIllnessFen: 975_000,
      dueAssistanceFen: 0,
      settledCriticalIllnessFen: 600_000,
      settledAssistanceFen: 0,
      descriptionDigest: textDigest(`DIBAO\u0000${adjustment?.reason ?? ''}`),
    });
  });

  it('derives the same event ids as the stored layout always has (an id hashes the slot values in their stored order)', () => {
    const first = derive([april, dibaoFromMarch]);
    const revoked: StoredStatus = { ...dibaoFromMarch, eventId: 'ca-2', version: 2, action: 'REVOKE', to: '2020-03-15' };
    const second = derive([april, revoked], first.emitted);
    expect([...first.outputs, ...second.outputs].map((o) => [o.topic, o.record.eventId])).toStrictEqual([
      ['benefitAdjustments', 'adj-495b0fb35288a5606e21a28e755768df'],
      ['selfPay', 'ytd-9869a25a0c48f4e8ea72198802636f94'],
      ['benefitAdjustments', 'adj-bba73ac108cb0b581b848ac7aaa2c455'],
      ['selfPay', 'ytd-c4c073333ae368bc95495a661d6c78dd'],
    ]);
  });

  it('publishes an adjustment once: a second derivation with nothing changed publishes nothing', () => {
    const first = derive([april, dibaoFromMarch]);
    expect(derive([april, dibaoFromMarch], first.emitted).outputs).toEqual([]);
  });

  it('a revocation back to the settled figures supersedes the earlier adjustment', () => {
    const first = derive([april, dibaoFromMarch]);
    const revoked: StoredStatus = { ...dibaoFromMarch, eventId: 'ca-2', version: 2, action: 'REVOKE', to: '2020-03-15' };
    const second = derive([april, revoked], first.emitted);
    const adjustment = second.outputs.find((o) => o.topic === 'benefitAdjustments')?.record;
    expect(adjustment).toMatchObject({ dueCriticalIllnessFen: 600_000, deltaFen: 0, kind: 'SETTLED_CORRECTLY', categoryApplied: null });
    expect(adjustment && 'supersedes' in adjustment ? adjustment.supersedes : undefined).toBe(
      first.emitted.get('a:H610400001/S1')?.eventId,
    );
  });

  it('a reversal (冲销) cancels the settlement: nothing settled, nothing due', () => {
    const first = derive([april, dibaoFromMarch]);
    const reversal: StoredSettlement = {
      ...april,
      eventId: 'hs-2',
      key: 'H610400001/R1',
      setlId: 'R1',
      reversesKey: 'H610400001/S1',
      settledAt: '2020-04-20',
    };
    const second = derive([april, dibaoFromMarch, reversal], first.emitted);
    expect(second.outputs.find((o) => o.topic === 'benefitAdjustments')?.record).toMatchObject({
      settledCriticalIllnessFen: 0,
      dueCriticalIllnessFen: 0,
      deltaFen: 0,
      kind: 'SETTLED_CORRECTLY',
      reason: expect.stringContaining('reversed') as unknown,
    });
    expect(second.outputs.find((o) => o.topic === 'selfPay')?.record).toMatchObject({
      settlementCount: 0,
      medfeeFen: 0,
      selfPayTotalFen: 0,
    });
  });

  it('reports a settlement in a division no policy covers instead of guessing', () => {
    const { outputs, problems } = derive([{ ...april, admdvs: '110105' }]);
    expect(outputs).toEqual([]);
    expect(problems).toEqual([
      { policyId: '', code: 'POLICY_NOT_FOUND', message: 'no policy for division 110105 on 2020-04-02 (settlement H610400001/S1)' },
    ]);
  });

  it("computes an employee under a residents' policy without a critical-illness tier, instead of reporting a problem (issue 16)", () => {
    // Xianyang's critical-illness cover is for residents only (003); an employee is still in scope:
    // basic insurance as settled, no critical-illness tier (DIBAO tilts nothing for them), no
    // assistance rule in the file, so critical illness due 0 against the 6,000 yuan settled.
    const employee: StoredSettlement = { ...april, insuredType: 'EMPLOYEE' };
    const { outputs, problems } = derive([employee, dibaoFromMarch]);
    expect(problems).toEqual([]);
    expect(outputs.find((o) => o.topic === 'selfPay')?.record).toMatchObject({
      policyId: 'xianyang-2020',
      criticalIllnessFen: 0,
      assistanceFen: 0,
      selfPayTotalFen: 5_000_000 - 2_500_000,
      categories: ['DIBAO'],
    });
    expect(outputs.find((o) => o.topic === 'benefitAdjustments')?.record).toMatchObject({
      setlId: 'S1',
      dueCriticalIllnessFen: 0,
      settledCriticalIllnessFen: 600_000,
      kind: 'OVERPAID_FOR_REVIEW',
      categoryApplied: null,
    });
    // A resident in the same region is still computed with the tilt.
    expect(derive([april]).problems).toEqual([]);
  });

  describe('a bad fact is left out, reported once, and the rest of the person-year computed (issue 10 item 5)', () => {
    const reversalOf = (
      original: StoredSettlement,
      setlId: string,
      day: string,
      changes: Partial<StoredSettlement> = {},
    ): StoredSettlement => ({
      ...original,
      eventId: `hs-${setlId}`,
      key: `H610400001/${setlId}`,
      setlId,
      reversesKey: original.key,
      settledAt: day,
      ...changes,
    });
    const may: StoredSettlement = {
      ...april,
      eventId: 'hs-5',
      key: 'H610400001/S5',
      setlId: 'S5',
      settledAt: '2020-05-02',
      setlTime: Date.parse('2020-05-02T10:00:00+08:00'),
    };

    it('a reversal whose amounts differ from its original is left out: the settlement stands and DIBAO still pays its difference', () => {
      const short = reversalOf(april, 'R1', '2020-04-20', { totalFen: 4_000_000, policyScopeFen: 3_500_000 });
      const { outputs, problems } = derive([april, dibaoFromMarch, short]);
      expect(outputs.find((o) => o.topic === 'benefitAdjustments')?.record).toMatchObject({
        setlId: 'S1',
        dueCriticalIllnessFen: 975_000,
        deltaFen: 375_000,
      });
      expect(problems).toEqual([
        {
          policyId: 'xianyang-2020',
          code: 'REVERSAL_MISMATCH',
          message:
            'reversal H610400001/R1 of H610400001/S1 left out: medfee_sumamt: a reversal repeats the amounts ' +
            'of H610400001/S1 (5000000), got 4000000',
          fact: { eventId: 'hs-R1', field: 'medfee_sumamt' },
        },
      ]);
    });

    it('a second reversal of a settlement is left out; the first cancels it and the other settlements are computed', () => {
      const first = reversalOf(april, 'R1', '2020-04-20');
      const second = reversalOf(april, 'R2', '2020-04-25');
      const { outputs, problems } = derive([april, may, dibaoFromMarch, second, first]);
      const adjustments = outputs.filter((o) => o.topic === 'benefitAdjustments').map((o) => o.record);
      // S1 reversed; S5 alone under DIBAO: 65% × (20,000 − 5,000) = 9,750 yuan due, 6,000 settled.
      expect(adjustments).toMatchObject([{ setlId: 'S5', dueCriticalIllnessFen: 975_000, deltaFen: 375_000 }]);
      expect(problems).toEqual([
        {
          policyId: 'xianyang-2020',
          code: 'REVERSAL_DUPLICATE',
          message: 'reversal H610400001/R2 of H610400001/S1 left out: orig_setl_id: "H610400001/S1" is already reversed by H610400001/R1',
          fact: { eventId: 'hs-R2', field: 'orig_setl_id' },
        },
      ]);
    });

    it(
      'a reversal that does not repeat what the funds paid, or names a reversal, is left out; one whose ' +
        'original is unknown waits without a word',
      () => {
        const paidOther = reversalOf(april, 'R1', '2020-04-20', { settledCriticalIllnessFen: 500_000 });
        const ofReversal = reversalOf(paidOther, 'R2', '2020-04-21');
        const orphan = reversalOf({ ...april, key: 'H610400001/S9' }, 'R9', '2020-04-22');
        const { outputs, problems } = derive([april, dibaoFromMarch, paidOther, ofReversal, orphan]);
        expect(outputs.find((o) => o.topic === 'benefitAdjustments')?.record).toMatchObject({ setlId: 'S1', deltaFen: 375_000 });
        expect(problems.map((p) => [p.code, p.message])).toEqual([
          [
            'REVERSAL_MISMATCH',
            'reversal H610400001/R1 of H610400001/S1 left out: hifmi_pay: a reversal repeats the hifmi_pay of ' +
              'H610400001/S1 (600000), got 500000',
          ],
          [
            'INPUT_INVALID',
            'reversal H610400001/R2 of H610400001/R1 left out: orig_setl_id: H610400001/R1 is itself a reversal, not a settlement',
          ],
        ]);
      },
    );

    it('a reversal dated before its original is left out', () => {
      const { problems } = derive([april, dibaoFromMarch, reversalOf(april, 'R1', '2020-03-20')]);
      expect(problems.map((p) => p.code)).toEqual(['REVERSAL_MISMATCH']);
    });
  });

  it('answers a subsidy correction of a contribution record taken from the person with one owing nothing, once (issue 10 item 6)', () => {
    const contribution: StoredContribution = {
      kind: 'contribution',
      eventId: 'sw-1',
      version: 1,
      key: 'SW-1',
      admdvs: '341002',
      insuranceYear: 2022,
      insuredType: 'RESIDENT',
      refund: false,
      contributionDueFen: 32_000,
      subsidisedFen: 0,
      paidAt: '2022-01-10',
    };
    const tekun: StoredStatus = {
      kind: 'status',
      eventId: 'ca-9',
      version: 1,
      category: 'TEKUN',
      action: 'CERTIFY',
      from: '2022-01-01',
      to: null,
    };
    const first = derive([contribution, tekun]);
    // TEKUN in Huangshan: subsidised in full (004 三(二)2).
    expect(first.outputs.map((o) => o.record)).toMatchObject([
      { contributionRecordId: 'SW-1', entitledSubsidyFen: 32_000, deltaFen: 32_000, kind: 'UNDER_SUBSIDISED' },
    ]);
    const withdrawn = derivePerson({
      personKey: 'pk1',
      facts: [tekun, { kind: 'withdrawal', eventId: 'w', version: 2 }],
      emitted: first.emitted,
      causes: [],
      policies,
      now,
      withdrawn: [contribution],
    });
    expect(withdrawn.outputs.map((o) => o.record)).toMatchObject([
      {
        policyId: 'anhui-huangshan-2022',
        contributionRecordId: 'SW-1',
        entitledSubsidyFen: 0,
        receivedSubsidyFen: 0,
        deltaFen: 0,
        kind: 'CORRECT',
      },
    ]);
    expect(
      derivePerson({ personKey: 'pk1', facts: [tekun], emitted: withdrawn.emitted, causes: [], policies, now, withdrawn: [contribution] })
        .outputs,
    ).toEqual([]);
  });
});
