import { describe, expect, it } from 'vitest';
import { computeYear, loadPolicy, type Status } from '../../../services/policy';
import { eligible, reversal, settlement, yuan } from './helpers';

/**
 * Seed 003 (咸阳, the unified scheme of 2020) 二(三): deductible 10,000 yuan; cumulative 10,000–30,000 at 60%,
 * 30,000–100,000 at 70%, 100,000 and above at 80%; yearly cap 300,000 yuan. The poor: deductible
 * −50% (5,000), every segment +5 points (65/75/85%), first segment 5,000–30,000 (POLICIES.md).
 */
const policy = loadPolicy('xianyang-2020');
const resident = (statuses: readonly Status[], settlements: Parameters<typeof computeYear>[1]['settlements']) =>
  computeYear(policy, { insuredType: 'RESIDENT', statuses, settlements });

describe('xianyang-2020 critical illness (seed 003)', () => {
  it('pays 60% above the 10,000-yuan deductible on a single settlement', () => {
    // total 60,000 = 3,000 全自费 + 2,000 乙类先行自付 + 55,000 in scope; basic paid 30,000.
    // eligible = 55,000 − 30,000 = 25,000; (25,000 − 10,000) × 60% = 9,000;
    // self-pay = 60,000 − 30,000 − 9,000 = 21,000.
    const year = resident(
      [],
      [
        settlement('S1', '2020-04-02', {
          fullOwnPayFen: yuan(3_000),
          preSelfPayFen: yuan(2_000),
          policyScopeFen: yuan(55_000),
          basicPaidFen: yuan(30_000),
        }),
      ],
    );
    expect(year.settlements[0]).toMatchObject({
      eligibleFen: yuan(25_000),
      criticalIllnessFen: yuan(9_000),
      assistanceFen: 0,
      selfPayFen: yuan(21_000),
      criticalIllnessCategory: null,
    });
  });

  it('pays each settlement the cumulative due minus what was paid as the cumulative amount crosses segment bounds', () => {
    // cum 20,000: 10,000 × 60% = 6,000                                   → S1 pays 6,000
    // cum 50,000: 20,000 × 60% + 20,000 × 70% = 12,000 + 14,000 = 26,000 → S2 pays 20,000
    // cum 120,000: 12,000 + 70,000 × 70% + 20,000 × 80% = 77,000          → S3 pays 51,000
    const year = resident(
      [],
      [eligible('S1', '2020-02-01', yuan(20_000)), eligible('S2', '2020-05-01', yuan(30_000)), eligible('S3', '2020-09-01', yuan(70_000))],
    );
    expect(year.settlements.map((s) => s.criticalIllnessFen)).toEqual([yuan(6_000), yuan(20_000), yuan(51_000)]);
    expect(year.totals.criticalIllnessFen).toBe(yuan(77_000));
  });

  it('stops at the 300,000-yuan yearly cap', () => {
    // eligible 500,000: 12,000 + 49,000 + 400,000 × 80% = 381,000 → capped at 300,000;
    // a later settlement pays nothing more.
    const year = resident([], [eligible('S1', '2020-03-01', yuan(500_000)), eligible('S2', '2020-06-01', yuan(10_000))]);
    expect(year.settlements.map((s) => s.criticalIllnessFen)).toEqual([yuan(300_000), 0]);
  });

  it('tilts for a 建档立卡 poor person: deductible 5,000, every segment +5 points', () => {
    // eligible 40,000: (30,000 − 5,000) × 65% + 10,000 × 75% = 16,250 + 7,500 = 23,750
    // (the same person without the category: 12,000 + 7,000 = 19,000).
    const statuses: Status[] = [{ category: 'POOR_REGISTERED', from: '2018-01-01', to: null }];
    const year = resident(statuses, [eligible('S1', '2020-03-01', yuan(40_000))]);
    expect(year.settlements[0]).toMatchObject({ criticalIllnessFen: yuan(23_750), criticalIllnessCategory: 'POOR_REGISTERED' });
    expect(resident([], [eligible('S1', '2020-03-01', yuan(40_000))]).totals.criticalIllnessFen).toBe(yuan(19_000));
  });

  it('keeps the 300,000-yuan cap for the poor', () => {
    // eligible 600,000: 25,000 × 65% + 70,000 × 75% + 500,000 × 85% = 494,000 → 300,000.
    const statuses: Status[] = [{ category: 'POOR_REGISTERED', from: '2020-01-01', to: null }];
    expect(resident(statuses, [eligible('S1', '2020-03-01', yuan(600_000))]).totals.criticalIllnessFen).toBe(yuan(300_000));
  });

  it("a DIBAO certification from March pays the April settlement's difference", () => {
    // January (no category): eligible 25,000 → (25,000 − 10,000) × 60% = 9,000.
    // April (DIBAO since 1 March): cum 30,000 → (30,000 − 5,000) × 65% = 16,250; paid 9,000 → 7,250,
    // more than April's own eligible 5,000: the catch-up refunds 2,250 of January's self-pay.
    const statuses: Status[] = [{ category: 'DIBAO', from: '2020-03-01', to: null }];
    const year = resident(statuses, [eligible('S1', '2020-01-10', yuan(25_000)), eligible('S2', '2020-04-02', yuan(5_000))]);
    expect(year.settlements.map((s) => [s.criticalIllnessFen, s.criticalIllnessCategory])).toEqual([
      [yuan(9_000), null],
      [yuan(7_250), 'DIBAO'],
    ]);
    expect(year.settlements[1]?.selfPayFen).toBe(yuan(5_000) - yuan(7_250));
    expect(year.totals.criticalIllnessFen).toBe(yuan(16_250));
  });

  it('a reversed settlement and its reversal pay and count nothing', () => {
    // Without S2: cum 25,000 → 9,000 (S1); cum 35,000 → 12,000 + 5,000 × 70% = 15,500 → S3 pays 6,500.
    const s2 = eligible('S2', '2020-03-01', yuan(20_000));
    const year = resident(
      [],
      [eligible('S1', '2020-02-01', yuan(25_000)), s2, reversal('R2', '2020-04-01', s2), eligible('S3', '2020-05-01', yuan(10_000))],
    );
    expect(year.settlements.map((s) => [s.id, s.eligibleFen, s.criticalIllnessFen, s.selfPayFen])).toEqual([
      ['S1', yuan(25_000), yuan(9_000), yuan(50_000) - yuan(25_000) - yuan(9_000)],
      ['S2', 0, 0, 0],
      ['R2', 0, 0, 0],
      ['S3', yuan(10_000), yuan(6_500), yuan(20_000) - yuan(10_000) - yuan(6_500)],
    ]);
    expect(year.totals.criticalIllnessFen).toBe(yuan(15_500));
  });

  it('rounds half up once per cumulative due, so payments sum to the rounded yearly due', () => {
    // 1, 1, 1 fen above the deductible at 60%: cumulative dues 0.6 → 1, 1.2 → 1, 1.8 → 2 fen;
    // payments 1, 0, 1 fen.
    const year = resident(
      [],
      [eligible('S1', '2020-02-01', yuan(10_000) + 1), eligible('S2', '2020-02-02', 1), eligible('S3', '2020-02-03', 1)],
    );
    expect(year.settlements.map((s) => s.criticalIllnessFen)).toEqual([1, 0, 1]);
  });

  it('rounds an exact half fen up', () => {
    // A poor person 10 fen above 5,000 yuan at 65%: 6.5 fen → 7 fen.
    const statuses: Status[] = [{ category: 'POOR_REGISTERED', from: '2020-01-01', to: null }];
    expect(resident(statuses, [eligible('S1', '2020-02-01', yuan(5_000) + 10)]).totals.criticalIllnessFen).toBe(7);
  });

  it('takes settlements in time order, then by id, whatever the input order', () => {
    // Same as the segment-crossing case, given in reverse: results come back in input order.
    const year = resident(
      [],
      [eligible('S3', '2020-09-01', yuan(70_000)), eligible('S2', '2020-05-01', yuan(30_000)), eligible('S1', '2020-02-01', yuan(20_000))],
    );
    expect(year.settlements.map((s) => [s.id, s.criticalIllnessFen])).toEqual([
      ['S3', yuan(51_000)],
      ['S2', yuan(20_000)],
      ['S1', yuan(6_000)],
    ]);
    // Same day: "A" before "B". A: cum 15,000 → 3,000. B: cum 45,000 → 12,000 + 15,000 × 70% = 22,500 → 19,500.
    // (B first would have paid B 12,000 and A 10,500.)
    const sameDay = resident([], [eligible('B', '2020-02-01', yuan(30_000)), eligible('A', '2020-02-01', yuan(15_000))]);
    expect(sameDay.settlements.map((s) => [s.id, s.criticalIllnessFen])).toEqual([
      ['B', yuan(19_500)],
      ['A', yuan(3_000)],
    ]);
  });
});
