import { describe, expect, it } from 'vitest';
import {
  computeSubsidy,
  computeYear,
  loadPolicy,
  warningVerdict,
  type Contribution,
  type PersonYearFacts,
  type Status,
} from '../../../services/policy';
import { eligible, settlement, yuan } from './helpers';

/**
 * Seed 004 (安徽黄山某区 2022). Critical illness 三(三)2: at least 60% by cost segments (assumed:
 * deductible 15,000; 15,000–50,000 at 60%, 50,000–100,000 at 65%, above at 70%; cap 300,000).
 * TEKUN, DIBAO (and 返贫致贫, 二(三)): deductible −50% (7,500), +5 points (65/70/75%), no cap.
 * Assistance 二(五): TEKUN and DIBAO at 70% (deductible 0 and cap 50,000 assumed); 返贫致贫 and
 * 监测对象 at 60% above 10% of income (3,200); 因病致贫 at 60% above 25% (8,000).
 * Participation subsidy 三(二)2: TEKUN full, DIBAO 80%—90% of the contribution (80% chosen), MONITORED 50%, LIFTED none.
 * Warning 四(二): quarterly, TEKUN and DIBAO always, anyone above 10,000 yuan of self-pay.
 */
const policy = loadPolicy('anhui-huangshan-2022');
const facts = (statuses: readonly Status[], settlements: PersonYearFacts['settlements']): PersonYearFacts => ({
  insuredType: 'RESIDENT',
  statuses,
  settlements,
});
const wholeYear = (category: Status['category']): Status[] => [{ category, from: '2021-01-01', to: null }];

describe('anhui-huangshan-2022 critical illness and assistance (seed 004)', () => {
  it('pays a person in no category critical illness only', () => {
    // eligible 40,000: (40,000 − 15,000) × 60% = 15,000; no assistance.
    const year = computeYear(policy, facts([], [eligible('S1', '2022-03-01', yuan(40_000))]));
    expect(year.settlements[0]).toMatchObject({ criticalIllnessFen: yuan(15_000), assistanceFen: 0, assistanceCategory: null });
  });

  it('tilts a DIBAO person and then assists 70% of what insurance leaves', () => {
    // total 100,000 = 5,000 全自费 + 1,000 超限价 + 4,000 乙类先行自付 + 90,000 in scope; basic 50,000.
    // eligible 40,000; critical illness (40,000 − 7,500) × 65% = 21,125;
    // assistance (40,000 − 21,125) × 70% = 13,212.50;
    // self-pay 100,000 − 50,000 − 21,125 − 13,212.50 = 15,662.50.
    const year = computeYear(
      policy,
      facts(wholeYear('DIBAO'), [
        settlement('S1', '2022-03-01', {
          fullOwnPayFen: yuan(5_000),
          overLimitFen: yuan(1_000),
          preSelfPayFen: yuan(4_000),
          policyScopeFen: yuan(90_000),
          basicPaidFen: yuan(50_000),
        }),
      ]),
    );
    expect(year.settlements[0]).toMatchObject({
      eligibleFen: yuan(40_000),
      criticalIllnessFen: yuan(21_125),
      assistanceFen: yuan(13_212.5),
      selfPayFen: yuan(15_662.5),
      inScopeSelfPayFen: yuan(40_000 - 21_125 - 13_212.5),
      criticalIllnessCategory: 'DIBAO',
      assistanceCategory: 'DIBAO',
    });
  });

  it('lifts the critical-illness cap for 特困 and caps assistance at 50,000 a year', () => {
    // eligible 300,000: (50,000 − 7,500) × 65% + 50,000 × 70% + 200,000 × 75% = 27,625 + 35,000 + 150,000 = 212,625;
    // assistance (300,000 − 212,625) × 70% = 61,162.50 → capped 50,000.
    const year = computeYear(policy, facts(wholeYear('TEKUN'), [eligible('S1', '2022-03-01', yuan(300_000))]));
    expect(year.totals).toMatchObject({ criticalIllnessFen: yuan(212_625), assistanceFen: yuan(50_000) });
  });

  it('caps critical illness at 300,000 for everyone else', () => {
    // eligible 600,000: 35,000 × 60% + 50,000 × 65% + 500,000 × 70% = 403,500 → 300,000.
    expect(computeYear(policy, facts([], [eligible('S1', '2022-03-01', yuan(600_000))])).totals.criticalIllnessFen).toBe(yuan(300_000));
  });

  it('assists a 监测对象 above its own deductible, without a critical-illness tilt', () => {
    // critical illness (standard) 15,000; left 25,000; assistance (25,000 − 3,200) × 60% = 13,080.
    const year = computeYear(policy, facts(wholeYear('MONITORED'), [eligible('S1', '2022-03-01', yuan(40_000))]));
    expect(year.settlements[0]).toMatchObject({
      criticalIllnessFen: yuan(15_000),
      assistanceFen: yuan(13_080),
      criticalIllnessCategory: null,
      assistanceCategory: 'MONITORED',
    });
  });

  it("a DIBAO certification from April pays the May settlement's difference in both tiers", () => {
    // February (no category): cum 40,000 → 15,000; no assistance.
    // May (DIBAO): cum 50,000 → tilted (50,000 − 7,500) × 65% = 27,625 (standard 21,000) → pays 12,625;
    // assistance on cum 50,000 − 27,625 = 22,375 × 70% = 15,662.50.
    const statuses: Status[] = [{ category: 'DIBAO', from: '2022-04-01', to: null }];
    const year = computeYear(
      policy,
      facts(statuses, [eligible('S1', '2022-02-10', yuan(40_000)), eligible('S2', '2022-05-10', yuan(10_000))]),
    );
    expect(year.settlements.map((s) => [s.criticalIllnessFen, s.assistanceFen])).toEqual([
      [yuan(15_000), 0],
      [yuan(12_625), yuan(15_662.5)],
    ]);
    expect(year.totals.inScopeSelfPayFen).toBe(yuan(50_000 - 27_625 - 15_662.5));
  });

  it('a reversed settlement and its reversal count nothing: the next settlement is paid as if alone', () => {
    const s1 = eligible('S1', '2022-02-10', yuan(40_000));
    const year = computeYear(
      policy,
      facts(wholeYear('DIBAO'), [
        s1,
        { ...s1, id: 'R1', settledAt: '2022-02-11', reversesId: 'S1' },
        eligible('S2', '2022-03-01', yuan(10_000)),
      ]),
    );
    // S2 alone: (10,000 − 7,500) × 65% = 1,625; assistance (10,000 − 1,625) × 70% = 5,862.50.
    expect(year.totals).toMatchObject({ criticalIllnessFen: yuan(1_625), assistanceFen: yuan(5_862.5) });
  });
});

describe('anhui-huangshan-2022 participation subsidy (seed 004 三(二)2)', () => {
  const contribution = (id: string, subsidisedFen: number, overrides: Partial<Contribution> = {}): Contribution => ({
    id,
    insuranceYear: 2022,
    insuredType: 'RESIDENT',
    contributionDueFen: yuan(350),
    subsidisedFen,
    paidAt: '2021-12-01',
    ...overrides,
  });

  it('entitles 特困 to the full contribution and reports an under-subsidised record', () => {
    const result = computeSubsidy(policy, { statuses: wholeYear('TEKUN'), contributions: [contribution('C1', 0)] });
    expect(result.contributions[0]).toEqual({
      id: 'C1',
      insuranceYear: 2022,
      category: 'TEKUN',
      entitledSubsidyFen: yuan(350),
      receivedSubsidyFen: 0,
      deltaFen: yuan(350),
      kind: 'UNDER_SUBSIDISED',
    });
  });

  it("entitles 低保 to 80%—90% of the record's own contribution: anything inside is right, outside is flagged (issue 12 items 3, 4)", () => {
    // 90% of 350 (315 yuan) was flagged OVER_SUBSIDISED against a fixed 280 before; 004 allows 80%—90%.
    const subsidy = (subsidisedFen: number, contributionDueFen = yuan(350)) =>
      computeSubsidy(policy, { statuses: wholeYear('DIBAO'), contributions: [contribution('C1', subsidisedFen, { contributionDueFen })] })
        .contributions[0];
    expect(subsidy(yuan(315))).toMatchObject({ category: 'DIBAO', entitledSubsidyFen: yuan(315), deltaFen: 0, kind: null });
    expect(subsidy(yuan(280))).toMatchObject({ entitledSubsidyFen: yuan(280), deltaFen: 0, kind: null });
    expect(subsidy(yuan(300))).toMatchObject({ deltaFen: 0, kind: null });
    // Outside the range the entitlement is the district's figure, 80% (assumed).
    expect(subsidy(yuan(350))).toMatchObject({ entitledSubsidyFen: yuan(280), deltaFen: -yuan(70), kind: 'OVER_SUBSIDISED' });
    expect(subsidy(yuan(279.99))).toMatchObject({ entitledSubsidyFen: yuan(280), deltaFen: 1, kind: 'UNDER_SUBSIDISED' });
    // The subsidy follows the contribution the record is for: 80% of 320 yuan is 256, and 280 is then
    // inside 80%—90% (256–288), 300 above it.
    expect(subsidy(yuan(256), yuan(320))).toMatchObject({ entitledSubsidyFen: yuan(256), kind: null });
    expect(subsidy(yuan(280), yuan(320))).toMatchObject({ deltaFen: 0, kind: null });
    expect(subsidy(yuan(300), yuan(320))).toMatchObject({ entitledSubsidyFen: yuan(256), kind: 'OVER_SUBSIDISED' });
  });

  it('entitles 监测对象 to 50%, rounded half up to the fen', () => {
    // 350.01 yuan × 50% = 175.005 → 175.01.
    const result = computeSubsidy(policy, {
      statuses: wholeYear('MONITORED'),
      contributions: [contribution('C1', yuan(175), { contributionDueFen: 35_001 })],
    });
    expect(result.contributions[0]).toMatchObject({ entitledSubsidyFen: 17_501, deltaFen: 1, kind: 'UNDER_SUBSIDISED' });
  });

  it('gives 稳定脱贫 persons no subsidy and the best category wins when several are held', () => {
    const lifted = computeSubsidy(policy, { statuses: wholeYear('LIFTED'), contributions: [contribution('C1', 0)] });
    expect(lifted.contributions[0]).toMatchObject({ category: 'LIFTED', entitledSubsidyFen: 0, kind: null });
    const both = computeSubsidy(policy, {
      statuses: [...wholeYear('MONITORED'), ...wholeYear('TEKUN')],
      contributions: [contribution('C1', yuan(350))],
    });
    expect(both.contributions[0]).toMatchObject({ category: 'TEKUN', entitledSubsidyFen: yuan(350), kind: null });
  });

  it('judges the category on the payment date and subsidises residents only', () => {
    const later: Status[] = [{ category: 'TEKUN', from: '2022-02-01', to: null }];
    expect(computeSubsidy(policy, { statuses: later, contributions: [contribution('C1', 0)] }).contributions[0]).toMatchObject({
      category: null,
      entitledSubsidyFen: 0,
    });
    const employee = computeSubsidy(policy, {
      statuses: wholeYear('TEKUN'),
      contributions: [contribution('C1', 0, { insuredType: 'EMPLOYEE' })],
    });
    expect(employee.contributions[0]).toMatchObject({ category: null, entitledSubsidyFen: 0 });
  });

  it('refuses a contribution for another insurance year', () => {
    expect(() => computeSubsidy(policy, { statuses: [], contributions: [contribution('C1', 0, { insuranceYear: 2023 })] })).toThrow(
      'contributions[0].insuranceYear: 2023 is not the insurance year of policy anhui-huangshan-2022 (2022)',
    );
  });
});

describe('anhui-huangshan-2022 quarterly warning (seed 004 四(二))', () => {
  it('always reports a DIBAO person, to civil affairs and rural revitalization as 004 says, whatever they paid (issue 12 item 7)', () => {
    const statuses = wholeYear('DIBAO');
    const year = computeYear(policy, facts(statuses, [eligible('S1', '2022-02-01', yuan(1_000))]));
    expect(warningVerdict(policy, { statuses }, year, '2022-Q1')).toMatchObject({
      warn: true,
      reasons: ['ALWAYS_REPORTED_CATEGORY'],
      categories: ['DIBAO'],
      routedTo: ['CIVIL_AFFAIRS', 'RURAL_REVITALIZATION'],
      windowFrom: '2022-01-01',
      windowTo: '2022-03-31',
    });
  });

  it('reports anyone whose year-to-date self-pay after the three tiers exceeds 10,000 yuan, to both agencies', () => {
    // Q1: total 14,000, basic 4,000 → eligible 10,000 < deductible: self-pay 10,000.00 — not above 10,000.
    // Q2 adds 0.01 yuan of 全自费: 10,000.01 → warned.
    const settlements = [
      settlement('S1', '2022-03-31', { policyScopeFen: yuan(14_000), basicPaidFen: yuan(4_000) }),
      settlement('S2', '2022-04-01', { policyScopeFen: 0, basicPaidFen: 0, fullOwnPayFen: 1 }),
      settlement('S3', '2022-07-01', { policyScopeFen: 0, basicPaidFen: 0, fullOwnPayFen: yuan(5_000) }),
    ];
    const year = computeYear(policy, facts([], settlements));
    expect(warningVerdict(policy, { statuses: [] }, year, '2022-Q1')).toMatchObject({
      warn: false,
      reasons: [],
      selfPayFen: yuan(10_000),
      routedTo: [],
    });
    expect(warningVerdict(policy, { statuses: [] }, year, '2022-Q2')).toEqual({
      policyId: 'anhui-huangshan-2022',
      period: '2022-Q2',
      windowFrom: '2022-01-01',
      windowTo: '2022-06-30',
      warn: true,
      reasons: ['SELF_PAY_OVER_THRESHOLD'],
      categories: [],
      basis: 'TOTAL',
      selfPayFen: yuan(10_000) + 1,
      thresholdFen: yuan(10_000),
      medfeeFen: yuan(14_000) + 1,
      basicFen: yuan(4_000),
      criticalIllnessFen: 0,
      assistanceFen: 0,
      routedTo: ['CIVIL_AFFAIRS', 'RURAL_REVITALIZATION'],
    });
  });

  it("sends a 监测对象 over the threshold to both agencies too: routing by category is not the seed's", () => {
    const statuses = wholeYear('MONITORED');
    const year = computeYear(
      policy,
      facts(statuses, [settlement('S1', '2022-05-01', { policyScopeFen: 0, basicPaidFen: 0, fullOwnPayFen: yuan(20_000) })]),
    );
    expect(warningVerdict(policy, { statuses }, year, '2022-Q2')).toMatchObject({
      warn: true,
      reasons: ['SELF_PAY_OVER_THRESHOLD'],
      categories: ['MONITORED'],
      routedTo: ['CIVIL_AFFAIRS', 'RURAL_REVITALIZATION'],
    });
  });

  it('refuses a period that is not a quarter of the benefit year', () => {
    const year = computeYear(policy, facts([], []));
    expect(() => warningVerdict(policy, { statuses: [] }, year, '2022-05')).toThrow('period: "2022-05" is not a quarter such as 2022-Q2');
    expect(() => warningVerdict(policy, { statuses: [] }, year, '2023-Q1')).toThrow(
      'period: "2023-Q1" is outside the benefit year of policy anhui-huangshan-2022',
    );
  });

  it('a person never loses by holding a category longer (issue 12 item 1, the case fast-check found)', () => {
    // An employee, 因病致贫 all year, 返贫致贫 from 2 January or from 1 January; eligible 14,884.63 on
    // 1 January. From 1 January the tilt (deductible 7,500, 65%) pays (14,884.63 − 7,500) × 65% =
    // 4,800.01 and assistance (返贫致贫, 60% above 3,200) (14,884.63 − 4,800.01 − 3,200) × 60% = 4,130.77:
    // 8,930.78. Before issue 12 the person holding 返贫致贫 one day longer got less than this.
    const employee = (from: string): PersonYearFacts => ({
      insuredType: 'EMPLOYEE',
      statuses: [
        { category: 'ILLNESS_POVERTY', from: '2022-01-01', to: null },
        { category: 'RELAPSED_POVERTY', from, to: null },
      ],
      settlements: [eligible('S0', '2022-01-01', 1_488_463), eligible('S1', '2022-01-02', 0)],
    });
    const later = computeYear(policy, employee('2022-01-02'));
    const longer = computeYear(policy, employee('2022-01-01'));
    const benefit = (y: typeof later): number => y.totals.criticalIllnessFen + y.totals.assistanceFen;
    expect(benefit(longer)).toBe(480_001 + 413_077);
    expect(benefit(longer)).toBeGreaterThanOrEqual(benefit(later));
    expect(longer.totals.selfPayFen).toBeLessThanOrEqual(later.totals.selfPayFen);
  });

  it('keeps what a lapsed category paid for the costs of its time, and pays the standard rule on the costs since', () => {
    // 因病致贫 January to July: eligible 30,000 in March: critical illness (30,000 − 15,000) × 60% = 9,000,
    // assistance (30,000 − 9,000 − 8,000) × 60% = 7,800. No category from August: eligible 30,000 in
    // October: the standard schedule on cum 60,000 − on cum 30,000 = (21,000 + 6,500) − 9,000 = 18,500.
    const year = computeYear(
      policy,
      facts(
        [{ category: 'ILLNESS_POVERTY', from: '2022-01-01', to: '2022-08-01' }],
        [eligible('S1', '2022-03-01', yuan(30_000)), eligible('S2', '2022-10-01', yuan(30_000))],
      ),
    );
    expect(year.settlements.map((s) => [s.criticalIllnessFen, s.assistanceFen, s.assistanceCategory])).toEqual([
      [yuan(9_000), yuan(7_800), 'ILLNESS_POVERTY'],
      [yuan(18_500), 0, null],
    ]);
  });
});
