import { describe, expect, it } from 'vitest';
import {
  computeYear,
  loadPolicy,
  parsePolicy,
  screenFacts,
  warningVerdict,
  type Settlement,
  type YearResult,
} from '../../../services/policy';
import { eligible, reversal, settlement, yuan } from './helpers';

/** A made-up policy with 100% ratios, where a tilt's catch-up can meet assistance already paid. */
const extremeText = `
id: extreme-2022
seed: "004"
region: a test region
divisions: { codes: ["99"], assumption: test region }
document: none
benefitYear: { start: "2022-01-01", end: "2022-12-31", assumption: test }
populations: [{ code: RESIDENT, insuredType: RESIDENT, assumption: test }]
criticalIllness:
  medicalTypes: { types: [INPATIENT], assumption: test }
  deductibles: [{ population: RESIDENT, amountFen: 100000, assumption: test }]
  segments: [{ upToFen: null, ratioBp: 5000, assumption: test }]
  tilts: [{ categories: [DIBAO], deductibleFactorBp: 0, ratioBp: 10000, assumption: test }]
assistance:
  medicalTypes: { types: [INPATIENT], assumption: test }
  rules:
    - { categories: [MONITORED], ratioBp: 10000, assumption: test, deductible: { amountFen: 0, assumption: test },
        yearlyCap: { amountFen: null, assumption: test } }
warning:
  { thresholdFen: 1000000, basis: IN_SCOPE, window: YEAR_TO_DATE, cadence: MONTHLY, alwaysReported: [],
    routing: {}, uncategorised: [CIVIL_AFFAIRS], assumption: test }
`;
const extreme = parsePolicy(extremeText, 'policies/extreme-2022.yaml');

describe('policy engine', () => {
  it('never lets the two funds pay more than the person bore in scope, even when a tilt catches up after assistance', () => {
    // 监测对象 all year: February eligible 1,000 (= the deductible) → critical illness 0, assistance 100% = 1,000.
    // DIBAO from March: April eligible 0 → tilted cumulative due 1,000, but the person has nothing left
    // to be paid for, so critical illness pays 0 rather than 1,000.
    const year = computeYear(extreme, {
      insuredType: 'RESIDENT',
      statuses: [
        { category: 'MONITORED', from: '2022-01-01', to: null },
        { category: 'DIBAO', from: '2022-03-01', to: null },
      ],
      settlements: [eligible('S1', '2022-02-01', yuan(1_000)), eligible('S2', '2022-04-01', 0)],
    });
    expect(year.settlements.map((s) => [s.criticalIllnessFen, s.assistanceFen])).toEqual([
      [0, yuan(1_000)],
      [0, 0],
    ]);
    expect(year.totals.inScopeSelfPayFen).toBe(0);
  });

  it('refuses a reversal of a reversal and a second reversal of the same settlement', () => {
    const policy = loadPolicy('xianyang-2020');
    const s1 = eligible('S1', '2020-02-01', yuan(1_000));
    const r1 = reversal('R1', '2020-02-02', s1);
    expect(() =>
      computeYear(policy, { insuredType: 'RESIDENT', statuses: [], settlements: [s1, r1, reversal('R2', '2020-02-03', r1)] }),
    ).toThrow('settlements[2].reversesId: "R1" is itself a reversal');
    expect(() =>
      computeYear(policy, { insuredType: 'RESIDENT', statuses: [], settlements: [s1, r1, reversal('R2', '2020-02-03', s1)] }),
    ).toThrow('settlements[2].reversesId: "S1" is already reversed by settlements[1]');
  });

  it(
    'leaves out what it cannot compute with, and computes the rest of the year: a reversal with other ' +
      'amounts, a second reversal, one before its original',
    () => {
      const policy = loadPolicy('xianyang-2020');
      // Xianyang 2020, standard: deductible 10,000 yuan, then 60% up to 30,000 yuan.
      const s1 = eligible('S1', '2020-02-01', yuan(15_000));
      const s2 = eligible('S2', '2020-03-01', yuan(15_000));
      const r1 = reversal('R1', '2020-02-05', s1);
      const late = reversal('R0', '2020-02-09', s1);
      const short: Settlement = { ...reversal('R2', '2020-03-05', s2), policyScopeFen: yuan(20_000), totalFen: yuan(20_000) };
      const early = reversal('R3', '2020-02-20', s2);
      const facts = { insuredType: 'RESIDENT' as const, statuses: [], settlements: [s1, late, r1, s2, short, early] };
      const { facts: kept, refused } = screenFacts(policy, facts);
      expect(refused.map((r) => [r.id, r.code, r.field, r.reason])).toEqual([
        ['R2', 'REVERSAL_MISMATCH', 'totalFen', 'a reversal repeats the amounts of S2 (3000000), got 2000000'],
        ['R3', 'REVERSAL_MISMATCH', 'settledAt', '"2020-02-20" is before the settlement it reverses (S2, "2020-03-01")'],
        // The earliest reversal is the one that counts, whatever order they came in.
        ['R0', 'REVERSAL_DUPLICATE', 'reversesId', '"S1" is already reversed by R1'],
      ]);
      expect(kept.settlements.map((s) => s.id)).toEqual(['S1', 'R1', 'S2']);
      // S1 is cancelled by R1; S2 alone: 60% × (15,000 − 10,000) = 3,000 yuan.
      const year = computeYear(policy, kept);
      expect(year.totals.criticalIllnessFen).toBe(yuan(3_000));
      expect(() => computeYear(policy, facts)).toThrow(
        'settlements[4].totalFen: a reversal repeats the amounts of S2 (3000000), got 2000000',
      );
    },
  );

  it('computes a settlement whose total is one fen off the sum of its parts, as the connector accepts it', () => {
    const policy = loadPolicy('xianyang-2020');
    const s1 = eligible('S1', '2020-02-01', yuan(15_000));
    const year = computeYear(policy, { insuredType: 'RESIDENT', statuses: [], settlements: [{ ...s1, totalFen: s1.totalFen + 1 }] });
    expect(year.totals.criticalIllnessFen).toBe(yuan(3_000));
    expect(
      screenFacts(policy, { insuredType: 'RESIDENT', statuses: [], settlements: [{ ...s1, totalFen: s1.totalFen + 2 }] }).refused.map(
        (r) => r.field,
      ),
    ).toEqual(['totalFen']);
  });

  it('pays a year of a thousand settlements the tilted due on the cumulative amount, the tilt catching up from June', () => {
    const policy = loadPolicy('anhui-huangshan-2022');
    const settlements = Array.from({ length: 1_000 }, (_, i) =>
      eligible(`S${String(i).padStart(4, '0')}`, `2022-${String(1 + (i % 12)).padStart(2, '0')}-15`, yuan(500)),
    );
    const year = computeYear(policy, {
      insuredType: 'RESIDENT',
      statuses: [{ category: 'DIBAO', from: '2022-06-01', to: null }],
      settlements,
    });
    // Cum 500,000 with DIBAO from June (in effect at the last settlement, no cap):
    // (50,000 − 7,500) × 65% + 50,000 × 70% + 400,000 × 75% = 27,625 + 35,000 + 300,000 = 362,625.
    expect(year.totals.criticalIllnessFen).toBe(yuan(362_625));
  });

  it('warns monthly on the in-scope basis when the policy says so', () => {
    // January: 20,000 全自费 + in scope 500 (below the 1,000 deductible), basic 0. In-scope self-pay 500,
    // total self-pay 20,500: no warning on the in-scope basis. March adds 10,000 in scope, basic 0:
    // cum eligible 10,500 → critical illness (10,500 − 1,000) × 50% = 4,750; in-scope self-pay 10,500 − 4,750 = 5,750.
    const year = computeYear(extreme, {
      insuredType: 'RESIDENT',
      statuses: [],
      settlements: [
        settlement('S1', '2022-01-20', { fullOwnPayFen: yuan(20_000), policyScopeFen: yuan(500), basicPaidFen: 0 }),
        settlement('S2', '2022-03-05', { policyScopeFen: yuan(10_000), basicPaidFen: 0 }),
      ],
    });
    expect(warningVerdict(extreme, { statuses: [] }, year, '2022-01')).toMatchObject({
      warn: false,
      basis: 'IN_SCOPE',
      selfPayFen: yuan(500),
      windowTo: '2022-01-31',
    });
    expect(warningVerdict(extreme, { statuses: [] }, year, '2022-02')).toMatchObject({
      warn: false,
      selfPayFen: yuan(500),
      windowTo: '2022-02-28',
    });
    expect(warningVerdict(extreme, { statuses: [] }, year, '2022-03')).toMatchObject({
      warn: false,
      selfPayFen: yuan(5_750),
      criticalIllnessFen: yuan(4_750),
    });
    expect(() => warningVerdict(extreme, { statuses: [] }, year, '2022-Q1')).toThrow(
      'period: "2022-Q1" is not a month such as 2022-05 (policy extreme-2022 warns monthly)',
    );
  });

  it('computes an employee under a residents-only policy: no critical-illness tier, assistance as the category entitles (issue 16)', () => {
    // extreme-2022 lists residents only. An employee holding DIBAO (a tilt) and MONITORED (assistance
    // 100%): critical illness pays nothing, the tilt does not apply, assistance pays the in-scope self-pay.
    const year = computeYear(extreme, {
      insuredType: 'EMPLOYEE',
      statuses: [
        { category: 'MONITORED', from: '2022-01-01', to: null },
        { category: 'DIBAO', from: '2022-01-01', to: null },
      ],
      settlements: [eligible('S1', '2022-02-01', yuan(3_000))],
    });
    expect(year.population).toBe('EMPLOYEE');
    expect(year.settlements.map((s) => [s.criticalIllnessFen, s.assistanceFen, s.criticalIllnessCategory, s.assistanceCategory])).toEqual([
      [0, yuan(3_000), null, 'MONITORED'],
    ]);
    // A population the input names that the policy does not have is still refused.
    expect(() => computeYear(extreme, { insuredType: 'EMPLOYEE', population: 'FARMER_HERDER', statuses: [], settlements: [] })).toThrow(
      'population: "FARMER_HERDER" is not a population of policy extreme-2022',
    );
  });

  it('sums the window the policy names: the year to date, the period alone, or the 12 months to its end (issue 12 item 7)', () => {
    const withWindow = (window: string, year: number) =>
      parsePolicy(
        extremeText.replace('window: YEAR_TO_DATE', `window: ${window}`).replaceAll('2022', String(year)),
        `policies/w-${year}.yaml`,
      );
    // In-scope basis. 2021: 6,000 in scope in December: (6,000 − 1,000) × 50% = 2,500 → in-scope self-pay 3,500.
    // 2022: 20,000 全自费 in January (no in-scope self-pay), 500 in scope in March (below the deductible).
    const lastYear = computeYear(withWindow('ROLLING_12_MONTHS', 2021), {
      insuredType: 'RESIDENT',
      statuses: [],
      settlements: [settlement('P1', '2021-12-10', { policyScopeFen: yuan(6_000), basicPaidFen: 0 })],
    });
    const settlements = [
      settlement('S1', '2022-01-20', { fullOwnPayFen: yuan(20_000), policyScopeFen: 0, basicPaidFen: 0 }),
      settlement('S2', '2022-03-05', { policyScopeFen: yuan(500), basicPaidFen: 0 }),
    ];
    const verdict = (window: string, previous?: YearResult) => {
      const policy = withWindow(window, 2022);
      return warningVerdict(
        policy,
        { statuses: [] },
        computeYear(policy, { insuredType: 'RESIDENT', statuses: [], settlements }),
        '2022-03',
        previous,
      );
    };
    expect(verdict('YEAR_TO_DATE')).toMatchObject({ windowFrom: '2022-01-01', windowTo: '2022-03-31', selfPayFen: yuan(500) });
    expect(verdict('PERIOD')).toMatchObject({ windowFrom: '2022-03-01', windowTo: '2022-03-31', selfPayFen: yuan(500) });
    expect(verdict('ROLLING_12_MONTHS', lastYear)).toMatchObject({
      windowFrom: '2021-04-01',
      windowTo: '2022-03-31',
      selfPayFen: yuan(500 + 3_500),
    });
  });
});
