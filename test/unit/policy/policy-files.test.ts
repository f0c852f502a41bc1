import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { computeYear, listPolicies, loadPolicy, parsePolicy, policyDirectory } from '../../../services/policy';
import { isHubError } from '../../../services/platform';
import { eligible, yuan } from './helpers';

const xianyang = readFileSync(`${policyDirectory}xianyang-2020.yaml`, 'utf8');

/** The shipped Xianyang file with one exact piece of text replaced (the piece must exist). */
function xianyangWith(from: string, to: string): string {
  expect(xianyang).toContain(from);
  return xianyang.replace(from, to);
}

function refusal(text: string): string {
  try {
    parsePolicy(text, 'policies/x.yaml');
  } catch (error) {
    expect(isHubError(error, 'POLICY_INVALID')).toBe(true);
    return (error as Error).message;
  }
  throw new Error('the policy was accepted');
}

describe('policy files', () => {
  it('ships one valid file per seed region', () => {
    expect(listPolicies()).toEqual(['anhui-huangshan-2022', 'jiangxi-2025', 'tibet-2017', 'wenzhou-2019', 'xianyang-2020']);
    for (const id of listPolicies()) expect(loadPolicy(id).id).toBe(id);
    expect(loadPolicy('tibet-2017').populations.map((p) => [p.code, p.criticalIllnessCovered])).toEqual([
      ['URBAN_RESIDENT', true],
      ['FARMER_HERDER', true],
      ['EMPLOYEE', false],
    ]);
  });

  it(
    "holds each seed's first benefit year: 003's unified scheme from 2020, 002's plan aiming at 2017; the " +
      'old ids are refused (issue 12 item 2)',
    () => {
      expect(loadPolicy('xianyang-2020').benefitYear).toEqual({ start: '2020-01-01', end: '2020-12-31' });
      expect(loadPolicy('tibet-2017').benefitYear).toEqual({ start: '2017-01-01', end: '2017-12-31' });
      for (const old of ['xianyang-2019', 'tibet-2016']) {
        expect(() => loadPolicy(old)).toThrow(
          `no policy "${old}" (known: anhui-huangshan-2022, jiangxi-2025, tibet-2017, wenzhou-2019, xianyang-2020)`,
        );
      }
    },
  );

  it('refuses an unknown policy id with POLICY_NOT_FOUND', () => {
    expect(() => loadPolicy('atlantis-2020')).toThrow(expect.objectContaining({ code: 'POLICY_NOT_FOUND' }) as Error);
  });

  it('refuses a mistyped figure, naming the file and the path of the bad key', () => {
    const text = xianyangWith('    - upToFen: 10000000\n      ratioBp: 7000', '    - upToFen: 10000000\n      ratioBp: "70%"');
    expect(refusal(text)).toBe('policies/x.yaml: /criticalIllness/segments/1/ratioBp: must be integer');
  });

  it('refuses a missing key and an unknown key, pointing at the key', () => {
    expect(
      refusal(xianyangWith('  limit:\n    yearlyCapFen: 30000000\n', '  limit:\n    yearlyCapFen: 30000000\n    yearlyCap: 1\n')),
    ).toBe('policies/x.yaml: /criticalIllness/limit/yearlyCap: is not a known key');
    expect(refusal(xianyangWith('      ratioBp: 8000\n', ''))).toBe('policies/x.yaml: /criticalIllness/segments/2/ratioBp: is required');
  });

  it('refuses an unknown category code', () => {
    expect(refusal(xianyangWith('[TEKUN, DIBAO]\n      deductibleFactorBp', '[TEKUN, POOR]\n      deductibleFactorBp'))).toBe(
      'policies/x.yaml: /criticalIllness/tilts/1/categories/1: must be one of TEKUN, DIBAO, DIBAO_EDGE, ' +
        'ORPHAN, ILLNESS_POVERTY, RELAPSED_POVERTY, MONITORED, LIFTED, POOR_REGISTERED',
    );
  });

  it('refuses a figure that cites neither a seed clause nor an assumption', () => {
    expect(
      refusal(
        xianyangWith('    yearlyCapFen: 30000000\n    source: 003 二(三) 年度累计报销封顶线为30万元\n', '    yearlyCapFen: 30000000\n'),
      ),
    ).toBe('policies/x.yaml: /criticalIllness/limit: a figure needs a source (seed clause) or an assumption (with its reason)');
  });

  it('refuses segment bounds out of order and a ratio tilted above 100%', () => {
    expect(refusal(xianyangWith('upToFen: 10000000', 'upToFen: 2000000'))).toBe(
      "policies/x.yaml: /criticalIllness/segments/1/upToFen: must be above the previous segment's bound",
    );
    expect(refusal(xianyangWith('      ratioBp: 8000\n', '      ratioBp: 9600\n'))).toBe(
      "policies/x.yaml: /criticalIllness/tilts/0: segment 2's tilted ratio 10100 bp is above 100%",
    );
  });

  it('refuses an unreal benefit-year date and a YAML syntax error', () => {
    expect(refusal(xianyangWith('end: "2020-12-31"', 'end: "2020-02-30"'))).toBe(
      'policies/x.yaml: /benefitYear/end: "2020-02-30" is not a real date',
    );
    expect(refusal('id: [unclosed')).toMatch(/^policies\/x\.yaml: line 1: /);
  });

  it('a new region is a new file: a made-up region computes from its own figures', () => {
    // Deductible 8,000; 55% up to 50,000 then 75%; eligible 60,000: 42,000 × 55% + 10,000 × 75% = 30,600.
    const text = xianyang
      .replace('id: xianyang-2020', 'id: newtown-2020')
      .replace('amountFen: 1000000', 'amountFen: 800000')
      .replace('upToFen: 3000000\n      ratioBp: 6000', 'upToFen: 5000000\n      ratioBp: 5500')
      .replace('upToFen: 10000000\n      ratioBp: 7000', 'upToFen: 6000000\n      ratioBp: 7500');
    const policy = parsePolicy(text, 'policies/newtown-2020.yaml');
    expect(policy.id).toBe('newtown-2020');
    // 50,000–60,000 at 75%; nothing reaches the third segment.
    expect(
      computeYear(policy, { insuredType: 'RESIDENT', statuses: [], settlements: [eligible('S1', '2020-05-01', yuan(60_000))] }).totals
        .criticalIllnessFen,
    ).toBe(yuan(30_600));
  });

  it('refuses a figure outside the range its seed allows, naming the key (issue 12 item 3)', () => {
    const anhui = readFileSync(`${policyDirectory}anhui-huangshan-2022.yaml`, 'utf8');
    const anhuiWith = (from: string, to: string): string => {
      expect(anhui).toContain(from);
      return anhui.replace(from, to);
    };
    // 004 二(五): assistance for 特困 and 低保 at no less than 70%.
    expect(
      refusal(anhuiWith('    - categories: [TEKUN, DIBAO]\n      ratioBp: 7000', '    - categories: [TEKUN, DIBAO]\n      ratioBp: 6500')),
    ).toBe('policies/x.yaml: /assistance/rules/0: 6500 is outside the range the seed allows [7000, no maximum]');
    // 004 三(二)2: 低保 subsidy 80%—90%.
    expect(refusal(anhuiWith('      kind: RATIO\n      ratioBp: 8000', '      kind: RATIO\n      ratioBp: 9500'))).toBe(
      'policies/x.yaml: /participationSubsidy/rules/1: 9500 is outside the range the seed allows [8000, 9000]',
    );
    expect(refusal(anhuiWith('allowed: { min: 8000, max: 9000,', 'allowed: { min: 9000, max: 8000,'))).toBe(
      'policies/x.yaml: /participationSubsidy/rules/1/allowed: min 9000 is above max 8000',
    );
    // A range without its citation is refused like any figure.
    expect(
      refusal(
        anhuiWith(
          'allowed: { min: 8000, max: 9000, source: 004 三(二)2 对低保对象给予80%—90%定额资助 }',
          'allowed: { min: 8000, max: 9000 }',
        ),
      ),
    ).toBe(
      'policies/x.yaml: /participationSubsidy/rules/1/allowed: a figure needs a source (seed clause) or an assumption (with its reason)',
    );
  });

  it('refuses a dated version outside the benefit year or out of order, naming the key (issue 12 item 2)', () => {
    const wenzhou = readFileSync(`${policyDirectory}wenzhou-2019.yaml`, 'utf8');
    expect(wenzhou).toContain('  - from: "2019-07-01"');
    expect(refusal(wenzhou.replace('  - from: "2019-07-01"', '  - from: "2020-07-01"'))).toBe(
      'policies/x.yaml: /versions/0/from: must be after 2019-01-01 and within the benefit year',
    );
    expect(refusal(wenzhou.replace('  - from: "2019-07-01"', '  - from: "2019-02-30"'))).toBe(
      'policies/x.yaml: /versions/0/from: "2019-02-30" is not a real date',
    );
    // A version's figures are checked like the top level's, with the version's path.
    expect(
      refusal(
        wenzhou.replace(
          '          ratioBonusBp: 500\n          removesLimit: true',
          '          ratioBonusBp: 4500\n          removesLimit: true',
        ),
      ),
    ).toBe("policies/x.yaml: /versions/0/criticalIllness/tilts/0: segment 0's tilted ratio 10500 bp is above 100%");
  });

  it(
    'the immediate alert is a policy switch: off in every shipped file, off when absent, on when set, a ' +
      'non-boolean refused (issue 16 item 7)',
    () => {
      for (const id of listPolicies()) expect(loadPolicy(id).warning.immediate).toBe(false);
      expect(parsePolicy(xianyangWith('  immediate: false\n', ''), 'policies/x.yaml').warning.immediate).toBe(false);
      expect(parsePolicy(xianyangWith('  immediate: false\n', '  immediate: true\n'), 'policies/x.yaml').warning.immediate).toBe(true);
      expect(refusal(xianyangWith('  immediate: false\n', '  immediate: "yes"\n'))).toBe(
        'policies/x.yaml: /warning/immediate: must be boolean',
      );
    },
  );
});
