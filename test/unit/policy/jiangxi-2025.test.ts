import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { computeYear, loadPolicy, parsePolicy, policyDirectory, type Settlement, type Status } from '../../../services/policy';
import { eligible, reversal, yuan } from './helpers';

/**
 * Seed 001 (江西 2025) 三(三)–(五): deductible = 50% of the province's previous-year per-capita
 * disposable income (assumed 36,007 yuan → 18,003.50 = 1,800,350 fen); 60% (the minimum); yearly
 * cap 250,000 yuan (the minimum). TEKUN, ORPHAN, DIBAO, RELAPSED_POVERTY: deductible halved
 * (900,175 fen), 65%, no cap. Calendar year 2025; residents only.
 */
const policy = loadPolicy('jiangxi-2025');
const resident = (statuses: readonly Status[], settlements: readonly Settlement[]) =>
  computeYear(policy, { insuredType: 'RESIDENT', statuses, settlements });

describe('jiangxi-2025 critical illness (seed 001)', () => {
  it('derives the deductible from the disposable-income parameter', () => {
    expect(policy.populations[0]?.criticalIllness.base.deductibleFen).toBe(1_800_350);
    expect(policy.populations[0]?.criticalIllness.byCategory.find(([c]) => c === 'DIBAO')?.[1].deductibleFen).toBe(900_175);
  });

  it('pays 60% above 50% of the disposable income', () => {
    // eligible 3,000,000 fen: (3,000,000 − 1,800,350) × 60% = 719,790 fen.
    expect(resident([], [eligible('S1', '2025-03-01', 3_000_000)]).totals.criticalIllnessFen).toBe(719_790);
  });

  it('pays the part above the deductible once several settlements pass it', () => {
    // cum 1,000,000 → 0; cum 3,000,000 → 719,790.
    const year = resident([], [eligible('S1', '2025-02-01', 1_000_000), eligible('S2', '2025-07-01', 2_000_000)]);
    expect(year.settlements.map((s) => s.criticalIllnessFen)).toEqual([0, 719_790]);
  });

  it('caps the yearly payment at 250,000 yuan', () => {
    // eligible 50,000,000 fen: 48,199,650 × 60% = 28,919,790 → 25,000,000.
    expect(resident([], [eligible('S1', '2025-03-01', 50_000_000)]).totals.criticalIllnessFen).toBe(25_000_000);
  });

  it('removes the cap for an orphan and pays 65% above half the deductible', () => {
    // (50,000,000 − 900,175) × 65% = 31,914,886.25 → 31,914,886 fen (rounded half up).
    const year = resident([{ category: 'ORPHAN', from: '2020-05-01', to: null }], [eligible('S1', '2025-03-01', 50_000_000)]);
    expect(year.settlements[0]).toMatchObject({ criticalIllnessFen: 31_914_886, criticalIllnessCategory: 'ORPHAN' });
  });

  it("a 返贫致贫 status starting on the settlement's own date applies to it", () => {
    // S1 (14 June): cum 1,000,000, below 1,800,350 → 0.
    // S2 (15 June, status from that day): cum 2,000,000 → (2,000,000 − 900,175) × 65% = 714,886.25 → 714,886.
    const statuses: Status[] = [{ category: 'RELAPSED_POVERTY', from: '2025-06-15', to: null }];
    const year = resident(statuses, [eligible('S1', '2025-06-14', 1_000_000), eligible('S2', '2025-06-15', 1_000_000)]);
    expect(year.settlements.map((s) => [s.criticalIllnessFen, s.criticalIllnessCategory])).toEqual([
      [0, null],
      [714_886, 'RELAPSED_POVERTY'],
    ]);
  });

  it('gives no tilt to a category the policy does not list (防止返贫监测对象)', () => {
    const year = resident([{ category: 'MONITORED', from: '2025-01-01', to: null }], [eligible('S1', '2025-03-01', 3_000_000)]);
    expect(year.settlements[0]).toMatchObject({ criticalIllnessFen: 719_790, criticalIllnessCategory: null });
  });

  it('a reversal filed after the benefit year still cancels its settlement', () => {
    const s1 = eligible('S1', '2025-12-30', 3_000_000);
    const year = resident([], [s1, reversal('R1', '2026-01-05', s1)]);
    expect(year.totals).toMatchObject({ eligibleFen: 0, criticalIllnessFen: 0, selfPayFen: 0 });
  });

  it('computes employees, whose benefit levels the seed leaves out, without a critical-illness tier (issue 16)', () => {
    const year = computeYear(policy, {
      insuredType: 'EMPLOYEE',
      statuses: [{ category: 'TEKUN', from: '2025-01-01', to: null }],
      settlements: [eligible('S1', '2025-03-01', yuan(100_000))],
    });
    expect(year.population).toBe('EMPLOYEE');
    expect(year.totals.criticalIllnessFen).toBe(0);
    expect(year.settlements[0]?.criticalIllnessCategory).toBeNull();
  });

  it(
    'names the class Ⅰ 门诊慢特病 list the seed refers to; its codes are unknown, so every chronic settlement ' +
      'counts, with or without a code (issue 12 item 5)',
    () => {
      // Eligible 40,000, deductible 18,003.50 (50% of 36,007): (40,000 − 18,003.50) × 60% = 13,197.90.
      expect(policy.chronicDiseases).toEqual({ lists: [{ name: 'Ⅰ类门诊慢特病', codePrefixes: null }], withoutCode: 'COUNT' });
      const paid = (settlement: Settlement) =>
        computeYear(policy, { insuredType: 'RESIDENT', statuses: [], settlements: [settlement] }).totals.criticalIllnessFen;
      expect(paid({ ...eligible('S1', '2025-03-01', yuan(40_000), 'OUTPATIENT_CHRONIC'), diseaseCode: 'M03900' })).toBe(yuan(13_197.9));
      expect(paid(eligible('S1', '2025-03-01', yuan(40_000), 'OUTPATIENT_CHRONIC'))).toBe(yuan(13_197.9));
      expect(paid(eligible('S1', '2025-03-01', yuan(40_000), 'OUTPATIENT_GENERAL'))).toBe(0);
    },
  );

  it(
    'counts only the 门诊慢特病 on a named list once its codes are given, and a settlement without a code as the ' +
      'file says (issue 12 item 5)',
    () => {
      // Made-up prefixes for the test: the province's list is not in the seed.
      const text = readFileSync(`${policyDirectory}jiangxi-2025.yaml`, 'utf8');
      expect(text).toContain('          codePrefixes: null\n');
      expect(text).toContain('      withoutCode: COUNT\n');
      const withList = (withoutCode: string) =>
        parsePolicy(
          text
            .replace('          codePrefixes: null\n', '          codePrefixes: [M001, M002]\n')
            .replace('      withoutCode: COUNT\n', `      withoutCode: ${withoutCode}\n`),
          'policies/jiangxi-2025.yaml',
        );
      const chronic = (id: string, diseaseCode?: string): Settlement => ({
        ...eligible(id, '2025-03-01', yuan(40_000), 'OUTPATIENT_CHRONIC'),
        ...(diseaseCode === undefined ? {} : { diseaseCode }),
      });
      const paid = (policy: ReturnType<typeof loadPolicy>, settlement: Settlement) =>
        computeYear(policy, { insuredType: 'RESIDENT', statuses: [], settlements: [settlement] }).totals.criticalIllnessFen;
      const due = yuan((40_000 - 18_003.5) * 0.6);
      expect(paid(withList('EXCLUDE'), chronic('S1', 'M00103'))).toBe(due);
      expect(paid(withList('EXCLUDE'), chronic('S1', 'M00201'))).toBe(due);
      expect(paid(withList('EXCLUDE'), chronic('S1', 'M03900'))).toBe(0);
      expect(paid(withList('EXCLUDE'), chronic('S1'))).toBe(0);
      expect(paid(withList('COUNT'), chronic('S1'))).toBe(due);
      expect(paid(withList('COUNT'), chronic('S1', 'M03900'))).toBe(0);
    },
  );

  it('refuses a disease list that cites nothing', () => {
    const text = readFileSync(`${policyDirectory}jiangxi-2025.yaml`, 'utf8');
    const anchor = '          source: 001 三(二) 住院（含Ⅰ类门诊慢特病）\n';
    expect(text).toContain(anchor);
    // A list of codes holds no number, so the figure rule alone would not ask it for a citation.
    const uncited = text
      .replace(anchor, '')
      .replace(/\n {10}assumption: "The seed does not list[^\n]*/, '')
      .replace('          codePrefixes: null\n', '          codePrefixes: [M001]\n');
    expect(() => parsePolicy(uncited, 'policies/x.yaml')).toThrow(
      'policies/x.yaml: /criticalIllness/medicalTypes/chronicDiseases/lists/0: a disease list needs a source ' +
        '(seed clause) or an assumption (with its reason)',
    );
  });
});
