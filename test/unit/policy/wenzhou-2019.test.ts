import { describe, expect, it } from 'vitest';
import { computeYear, loadPolicy, type PersonYearFacts, type Status } from '../../../services/policy';
import { eligible, reversal, settlement, yuan } from './helpers';

/**
 * Seed 000 (温州 2019) 一(三): one deductible of 23,500 yuan for employees and residents; 60% of
 * cumulative eligible amounts between the deductible and 15 × the deductible (352,500), so at most
 * (352,500 − 23,500) × 60% = 197,400. 三(一): the poor get deductible −50% (11,750) and +5 points
 * (65%); 建档立卡 also lose the ceiling. TEKUN/DIBAO/DIBAO_EDGE count as 贫困人口 (an assumption
 * in the policy file) and keep the ceiling. The notice is in force from 2019-07-01: before it, no
 * tilt (assumed previous version), cumulative amounts carrying across the change.
 */
const policy = loadPolicy('wenzhou-2019');
const year = (facts: Partial<PersonYearFacts> & Pick<PersonYearFacts, 'settlements'>) =>
  computeYear(policy, { insuredType: 'EMPLOYEE', statuses: [], ...facts });

describe('wenzhou-2019 critical illness (seed 000)', () => {
  it('pays 60% above the 23,500-yuan deductible, for employees and residents alike', () => {
    // eligible 50,000: (50,000 − 23,500) × 60% = 15,900.
    const settlements = [eligible('S1', '2019-08-01', yuan(50_000))];
    expect(year({ settlements }).totals.criticalIllnessFen).toBe(yuan(15_900));
    expect(year({ insuredType: 'RESIDENT', settlements }).totals.criticalIllnessFen).toBe(yuan(15_900));
  });

  it('pays nothing until the cumulative amount passes the deductible, then only the part above it', () => {
    // cum 20,000 → 0; cum 30,000 → 6,500 × 60% = 3,900.
    const result = year({ settlements: [eligible('S1', '2019-02-01', yuan(20_000)), eligible('S2', '2019-03-01', yuan(10_000))] });
    expect(result.settlements.map((s) => s.criticalIllnessFen)).toEqual([0, yuan(3_900)]);
  });

  it('stops paying on eligible amounts above 15 × the deductible', () => {
    // cum 300,000: 276,500 × 60% = 165,900 → S1.
    // cum 400,000, counted up to 352,500: 329,000 × 60% = 197,400 → S2 pays 31,500. S3: nothing.
    const result = year({
      settlements: [
        eligible('S1', '2019-02-01', yuan(300_000)),
        eligible('S2', '2019-05-01', yuan(100_000)),
        eligible('S3', '2019-06-01', yuan(20_000)),
      ],
    });
    expect(result.settlements.map((s) => s.criticalIllnessFen)).toEqual([yuan(165_900), yuan(31_500), 0]);
  });

  it('lifts the ceiling for 建档立卡 poor people, with half the deductible and 65%', () => {
    // eligible 400,000: (400,000 − 11,750) × 65% = 252,362.50.
    const statuses: Status[] = [{ category: 'POOR_REGISTERED', from: '2016-01-01', to: null }];
    const result = year({ statuses, settlements: [eligible('S1', '2019-08-01', yuan(400_000))] });
    expect(result.settlements[0]).toMatchObject({ criticalIllnessFen: yuan(252_362.5), criticalIllnessCategory: 'POOR_REGISTERED' });
  });

  it('keeps the ceiling for a DIBAO person while tilting deductible and ratio', () => {
    // eligible 400,000, counted up to 352,500: (352,500 − 11,750) × 65% = 221,487.50.
    const statuses: Status[] = [{ category: 'DIBAO', from: '2019-01-01', to: null }];
    expect(year({ statuses, settlements: [eligible('S1', '2019-08-01', yuan(400_000))] }).totals.criticalIllnessFen).toBe(yuan(221_487.5));
  });

  it('the most favourable of several categories wins: 建档立卡 over DIBAO once the ceiling binds', () => {
    const statuses: Status[] = [
      { category: 'DIBAO', from: '2019-01-01', to: null },
      { category: 'POOR_REGISTERED', from: '2019-01-01', to: null },
    ];
    const result = year({ statuses, settlements: [eligible('S1', '2019-08-01', yuan(400_000))] });
    expect(result.settlements[0]).toMatchObject({ criticalIllnessFen: yuan(252_362.5), criticalIllnessCategory: 'POOR_REGISTERED' });
  });

  it("a DIBAO certification from September pays the October settlement's difference", () => {
    // July: cum 20,000, below 23,500 → 0. October, DIBAO: cum 25,000 → (25,000 − 11,750) × 65% = 8,612.50
    // (the standard rule would give 900).
    const statuses: Status[] = [{ category: 'DIBAO', from: '2019-09-01', to: null }];
    const result = year({ statuses, settlements: [eligible('S1', '2019-07-15', yuan(20_000)), eligible('S2', '2019-10-10', yuan(5_000))] });
    expect(result.settlements.map((s) => [s.criticalIllnessFen, s.criticalIllnessCategory])).toEqual([
      [0, null],
      [yuan(8_612.5), 'DIBAO'],
    ]);
  });

  it('a revoked status stops tilting from its end date', () => {
    // DIBAO held [2019-07-01, 2019-10-01). S1 (September): (30,000 − 11,750) × 65% = 11,862.50.
    // S2 (October, no category): DIBAO's payment for March's costs is kept (issue 12 item 1), and the
    // standard schedule pays on the cumulative amounts since: standard due on cum 60,000 − on cum
    // 30,000 = 36,500 × 60% − 6,500 × 60% = 18,000. (Before, the tilt vanished into the standard due
    // on 60,000, 21,900, as if DIBAO had never been held.)
    const statuses: Status[] = [{ category: 'DIBAO', from: '2019-07-01', to: '2019-10-01' }];
    const result = year({
      statuses,
      settlements: [eligible('S1', '2019-09-30', yuan(30_000)), eligible('S2', '2019-10-01', yuan(30_000))],
    });
    expect(result.settlements.map((s) => [s.criticalIllnessFen, s.criticalIllnessCategory])).toEqual([
      [yuan(11_862.5), 'DIBAO'],
      [yuan(18_000), null],
    ]);
  });

  it('counts inpatient and special outpatient costs, never general outpatient', () => {
    // General outpatient: eligible 0, pays nothing; self-pay = total − basic.
    const result = year({
      settlements: [
        eligible('S1', '2019-02-01', yuan(100_000), 'OUTPATIENT_GENERAL'),
        eligible('S2', '2019-03-01', yuan(30_000), 'OUTPATIENT_CHRONIC'),
      ],
    });
    expect(result.settlements.map((s) => [s.eligibleFen, s.criticalIllnessFen, s.selfPayFen])).toEqual([
      [0, 0, yuan(100_000)],
      [yuan(30_000), yuan(3_900), yuan(30_000) - yuan(3_900)],
    ]);
  });

  it(
    "names 000's 特殊病种 list, whose codes are not in the seed: a special outpatient settlement counts with any " +
      'code or none (issue 12 item 5)',
    () => {
      expect(policy.chronicDiseases).toEqual({ lists: [{ name: '特殊病种门诊', codePrefixes: null }], withoutCode: 'COUNT' });
      const coded = year({ settlements: [{ ...eligible('S1', '2019-03-01', yuan(30_000), 'OUTPATIENT_CHRONIC'), diseaseCode: 'M03900' }] });
      expect(coded.totals.criticalIllnessFen).toBe(yuan(3_900));
    },
  );

  it('never counts out-of-catalogue, over-limit or pre-self-pay amounts', () => {
    // total 100,000 of which 40,000 全自费/超限价/乙类先行自付; in scope 60,000, basic 20,000 → eligible 40,000:
    // (40,000 − 23,500) × 60% = 9,900; self-pay 100,000 − 20,000 − 9,900 = 70,100.
    const result = year({
      settlements: [
        settlement('S1', '2019-02-01', {
          fullOwnPayFen: yuan(20_000),
          overLimitFen: yuan(5_000),
          preSelfPayFen: yuan(15_000),
          policyScopeFen: yuan(60_000),
          basicPaidFen: yuan(20_000),
        }),
      ],
    });
    expect(result.settlements[0]).toMatchObject({ eligibleFen: yuan(40_000), criticalIllnessFen: yuan(9_900), selfPayFen: yuan(70_100) });
  });

  it('a reversal cancels the settlement that crossed the deductible', () => {
    // S1 30,000 reversed: S2 alone, cum 10,000 → 0.
    const s1 = eligible('S1', '2019-02-01', yuan(30_000));
    const result = year({ settlements: [s1, eligible('S2', '2019-03-01', yuan(10_000)), reversal('R1', '2019-02-05', s1)] });
    expect(result.totals).toMatchObject({ eligibleFen: yuan(10_000), criticalIllnessFen: 0, selfPayFen: yuan(10_000) });
  });

  it('applies the notice from 2019-07-01: no tilt before it, and the amounts before it count towards the year (issue 12 item 2)', () => {
    // 建档立卡 all year. June: eligible 20,000 under the previous version (no tilt, assumed): below
    // 23,500 → 0. July 1: eligible 10,000 under the notice: cum 30,000 tilted → (30,000 − 11,750) × 65%
    // = 11,862.50, all paid on the July settlement (the June costs count).
    const statuses: Status[] = [{ category: 'POOR_REGISTERED', from: '2016-01-01', to: null }];
    const result = year({
      statuses,
      settlements: [eligible('S1', '2019-06-30', yuan(20_000)), eligible('S2', '2019-07-01', yuan(10_000))],
    });
    expect(result.settlements.map((s) => [s.criticalIllnessFen, s.criticalIllnessCategory])).toEqual([
      [0, null],
      [yuan(11_862.5), 'POOR_REGISTERED'],
    ]);
    // Under the previous version alone, June's 30,000 pays the standard 3,900.
    expect(year({ statuses, settlements: [eligible('S1', '2019-06-30', yuan(30_000))] }).totals.criticalIllnessFen).toBe(yuan(3_900));
    expect(policy.versions.map((v) => v.from)).toEqual(['2019-01-01', '2019-07-01']);
  });
});
