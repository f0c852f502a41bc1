import { describe, expect, it } from 'vitest';
import { computeYear, loadPolicy, type PersonYearFacts } from '../../../services/policy';
import { eligible, settlement, yuan } from './helpers';

/**
 * Seed 002 (西藏, plan of 2016-10-26 aiming at 2017) 四(三): deductibles from the previous year's (2016)
 * per-capita disposable income, separately for urban residents (27,802 yuan, assumed 100%) and
 * farmers/herders (9,094 yuan);
 * segments rising with cost from at least 50% (assumed: deductible–100,000 at 50%, 100,000–200,000
 * at 60%, above at 70%); a yearly cap (assumed 300,000). No tilt.
 */
const policy = loadPolicy('tibet-2017');
const person = (population: string, settlements: PersonYearFacts['settlements'], statuses: PersonYearFacts['statuses'] = []) =>
  computeYear(policy, { insuredType: 'RESIDENT', population, statuses, settlements });

describe('tibet-2017 critical illness (seed 002)', () => {
  it('gives farmers and herders their own, lower deductible', () => {
    // Farmer/herder, eligible 20,000: (20,000 − 9,094) × 50% = 5,453. Urban resident: below 27,802 → 0.
    expect(person('FARMER_HERDER', [eligible('S1', '2017-05-01', yuan(20_000))]).totals.criticalIllnessFen).toBe(yuan(5_453));
    expect(person('URBAN_RESIDENT', [eligible('S1', '2017-05-01', yuan(20_000))]).totals.criticalIllnessFen).toBe(0);
  });

  it('pays higher ratios as cumulative cost rises', () => {
    // Urban: cum 80,000 → 52,198 × 50% = 26,099.
    // cum 160,000 → 72,198 × 50% + 60,000 × 60% = 36,099 + 36,000 = 72,099 → S2 46,000.
    // cum 260,000 → 36,099 + 100,000 × 60% + 60,000 × 70% = 138,099 → S3 66,000.
    const year = person('URBAN_RESIDENT', [
      eligible('S1', '2017-02-01', yuan(80_000)),
      eligible('S2', '2017-06-01', yuan(80_000)),
      eligible('S3', '2017-10-01', yuan(100_000)),
    ]);
    expect(year.settlements.map((s) => s.criticalIllnessFen)).toEqual([yuan(26_099), yuan(46_000), yuan(66_000)]);
  });

  it('caps the yearly payment', () => {
    // Farmer/herder, eligible 600,000: 45,453 + 60,000 + 280,000 = 385,453 → 300,000.
    expect(person('FARMER_HERDER', [eligible('S1', '2017-05-01', yuan(600_000))]).totals.criticalIllnessFen).toBe(yuan(300_000));
  });

  it('tilts for no category: a DIBAO person is paid as anyone else', () => {
    const year = person(
      'FARMER_HERDER',
      [eligible('S1', '2017-05-01', yuan(20_000))],
      [{ category: 'DIBAO', from: '2017-01-01', to: null }],
    );
    expect(year.settlements[0]).toMatchObject({
      criticalIllnessFen: yuan(5_453),
      assistanceFen: 0,
      criticalIllnessCategory: null,
      assistanceCategory: null,
    });
  });

  it('needs the population and refuses one it does not know', () => {
    expect(() => computeYear(policy, { insuredType: 'RESIDENT', statuses: [], settlements: [] })).toThrow(
      'population: policy tibet-2017 needs one of URBAN_RESIDENT, FARMER_HERDER for insuredType RESIDENT',
    );
    expect(() => person('NOMAD', [])).toThrow(
      'population: "NOMAD" is not a population of policy tibet-2017 (URBAN_RESIDENT, FARMER_HERDER, EMPLOYEE)',
    );
  });

  it('counts 乙类先行自付 and 超限价自费 towards 合规医疗费用, but not 目录外全自费 (issue 12 item 6)', () => {
    // Farmer/herder: in scope 30,000, basic 20,000 → 10,000; + 乙类先行自付 4,000 + 超限价 1,000 = 15,000
    // eligible (目录外 5,000 left out): (15,000 − 9,094) × 50% = 2,953. Policy scope − basic alone
    // would give (10,000 − 9,094) × 50% = 453.
    const year = person('FARMER_HERDER', [
      settlement('S1', '2017-05-01', {
        policyScopeFen: yuan(30_000),
        basicPaidFen: yuan(20_000),
        preSelfPayFen: yuan(4_000),
        overLimitFen: yuan(1_000),
        fullOwnPayFen: yuan(5_000),
      }),
    ]);
    expect(year.settlements[0]).toMatchObject({ eligibleFen: yuan(15_000), criticalIllnessFen: yuan(2_953) });
    expect(policy.eligibleParts).toEqual(new Set(['PRE_SELF_PAY', 'OVER_LIMIT']));
    expect(loadPolicy('jiangxi-2025').eligibleParts.size).toBe(0);
  });
});
