import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { runHub } from '../../support/run-hub';

/** Runs `hub calc` in-process with in-memory streams. */
function calc(args: readonly string[], stdin: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return runHub(['calc', ...args], {}, stdin);
}

const settlement = (overrides: Record<string, unknown> = {}): Record<string, unknown> => ({
  id: 'S1',
  settledAt: '2020-04-02',
  medicalType: 'INPATIENT',
  totalFen: 6_000_000,
  fullOwnPayFen: 300_000,
  overLimitFen: 0,
  preSelfPayFen: 200_000,
  policyScopeFen: 5_500_000,
  basicPaidFen: 3_000_000,
  ...overrides,
});
const input = (overrides: Record<string, unknown> = {}): string =>
  JSON.stringify({ insuredType: 'RESIDENT', statuses: [], settlements: [settlement()], ...overrides });

/** An input error: exit 2, exactly one line on stderr, nothing on stdout. */
async function expectRefusal(args: readonly string[], stdin: string, line: string): Promise<void> {
  const result = await calc(args, stdin);
  expect(result).toEqual({ code: 2, stdout: '', stderr: `${line}\n` });
}

describe('hub calc', () => {
  it('prints the settlements in input order and the totals', async () => {
    // Xianyang, DIBAO from March: S1 (January) eligible 25,000 → 9,000 standard;
    // S2 (April) cum 30,000 → (30,000 − 5,000) × 65% = 16,250 → 7,250.
    const stdin = JSON.stringify({
      insuredType: 'RESIDENT',
      statuses: [{ category: 'DIBAO', from: '2020-03-01', to: null }],
      settlements: [
        settlement({
          id: 'S2',
          settledAt: '2020-04-02',
          totalFen: 1_000_000,
          fullOwnPayFen: 0,
          preSelfPayFen: 0,
          policyScopeFen: 1_000_000,
          basicPaidFen: 500_000,
        }),
        settlement({ id: 'S1', settledAt: '2020-01-10' }),
      ],
    });
    const result = await calc(['--policy', 'xianyang-2020'], stdin);
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    expect(JSON.parse(result.stdout)).toEqual({
      settlements: [
        { id: 'S2', eligibleFen: 500_000, criticalIllnessFen: 725_000, assistanceFen: 0, selfPayFen: -225_000, categoryApplied: 'DIBAO' },
        { id: 'S1', eligibleFen: 2_500_000, criticalIllnessFen: 900_000, assistanceFen: 0, selfPayFen: 2_100_000, categoryApplied: null },
      ],
      totals: { eligibleFen: 3_000_000, criticalIllnessFen: 1_625_000, assistanceFen: 0, selfPayFen: 1_875_000 },
    });
  });

  it('reports the assistance category when no critical-illness tilt applies', async () => {
    const stdin = input({
      statuses: [{ category: 'MONITORED', from: '2022-01-01', to: null }],
      settlements: [settlement({ settledAt: '2022-03-01' })],
    });
    const result = await calc(['--policy=anhui-huangshan-2022'], stdin);
    expect((JSON.parse(result.stdout) as { settlements: Array<{ categoryApplied: string }> }).settlements[0]?.categoryApplied).toBe(
      'MONITORED',
    );
  });

  it('reads the input from --input FILE', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'hub-calc-')), 'person.json');
    writeFileSync(file, input());
    const result = await calc(['--policy', 'xianyang-2020', '--input', file], '');
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ totals: { criticalIllnessFen: 900_000 } });
  });

  it.each([['bad JSON', input().slice(0, -1), /^hub: INPUT_INVALID: input: is not valid JSON \(.+\)$/]])(
    'refuses %s',
    async (_name, stdin, pattern) => {
      const result = await calc(['--policy', 'xianyang-2020'], stdin);
      expect(result.code).toBe(2);
      expect(result.stdout).toBe('');
      expect(result.stderr.trimEnd()).toMatch(pattern);
      expect(result.stderr.trimEnd().includes('\n')).toBe(false);
    },
  );

  it.each([
    ['a missing field', input({ settlements: [settlement({ basicPaidFen: undefined })] }), 'settlements[0].basicPaidFen: is required'],
    [
      'a mistyped field',
      input({ settlements: [settlement({ totalFen: '6000000' })] }),
      'settlements[0].totalFen: "6000000" is not a whole number of fen',
    ],
    [
      'a fractional amount',
      input({ settlements: [settlement({ totalFen: 60.5 })] }),
      'settlements[0].totalFen: 60.5 is not a whole number of fen',
    ],
    ['an unknown field', input({ settlements: [settlement({ reverseId: 'S0' })] }), 'settlements[0].reverseId: is not a known field'],
    ['a missing insured type', JSON.stringify({ statuses: [], settlements: [] }), 'insuredType: is required'],
    [
      'an unreal date',
      input({ settlements: [settlement(), settlement({ id: 'S2' }), settlement({ id: 'S3', settledAt: '2020-02-30' })] }),
      'settlements[2].settledAt: "2020-02-30" is not a real date',
    ],
    [
      'an unknown category',
      input({ statuses: [{ category: 'POOR', from: '2020-01-01', to: null }] }),
      'statuses[0].category: "POOR" is not a known category',
    ],
    [
      'a status ending before it starts',
      input({ statuses: [{ category: 'DIBAO', from: '2020-05-01', to: '2020-05-01' }] }),
      'statuses[0].to: "2020-05-01" must be after from ("2020-05-01")',
    ],
    [
      'an unknown medical type',
      input({ settlements: [settlement({ medicalType: 'DENTAL' })] }),
      'settlements[0].medicalType: "DENTAL" is not one of INPATIENT, OUTPATIENT_CHRONIC, OUTPATIENT_GENERAL',
    ],
    // One fen of rounding is accepted (the national interface rounds each part, the connector allows it); two are not.
    [
      'a total that is not the sum of its parts',
      input({ settlements: [settlement({ totalFen: 6_000_002 })] }),
      'settlements[0].totalFen: 6000002 is not fullOwnPayFen + overLimitFen + preSelfPayFen + policyScopeFen (6000000)',
    ],
    [
      'basic paid above the policy scope',
      input({ settlements: [settlement({ basicPaidFen: 5_500_001 })] }),
      'settlements[0].basicPaidFen: 5500001 is above policyScopeFen (5500000)',
    ],
    [
      'a negative amount',
      input({ settlements: [settlement({ overLimitFen: -1, totalFen: 5_999_999 })] }),
      'settlements[0].overLimitFen: -1 is negative',
    ],
    [
      'a settlement outside the benefit year',
      input({ settlements: [settlement({ settledAt: '2021-01-01' })] }),
      'settlements[0].settledAt: "2021-01-01" is outside the benefit year of policy xianyang-2020 (2020-01-01 to 2020-12-31)',
    ],
    [
      'a duplicate settlement id',
      input({ settlements: [settlement(), settlement()] }),
      'settlements[1].id: "S1" is also the id of settlements[0]',
    ],
    [
      'a reversal of an unknown settlement',
      input({ settlements: [settlement({ reversesId: 'S0' })] }),
      'settlements[0].reversesId: "S0" names no settlement of the input',
    ],
    [
      'a reversal with other amounts',
      input({ settlements: [settlement(), settlement({ id: 'R1', reversesId: 'S1', basicPaidFen: 1 })] }),
      'settlements[1].basicPaidFen: a reversal repeats the amounts of S1 (3000000), got 1',
    ],
    [
      'an unknown population',
      input({ population: 'FARMER_HERDER' }),
      'population: "FARMER_HERDER" is not a population of policy xianyang-2020 (RESIDENT, EMPLOYEE)',
    ],
  ])('refuses %s with exit 2, naming the field', async (_name, stdin, message) => {
    await expectRefusal(['--policy', 'xianyang-2020'], stdin, `hub: INPUT_INVALID: ${message}`);
  });

  it('refuses an unknown policy id with exit 2', async () => {
    await expectRefusal(
      ['--policy', 'atlantis-2020'],
      input(),
      'hub: POLICY_NOT_FOUND: no policy "atlantis-2020" (known: anhui-huangshan-2022, jiangxi-2025, ' +
        'tibet-2017, wenzhou-2019, xianyang-2020)',
    );
  });

  it('refuses a command line without --policy, and an unreadable input file, with exit 2', async () => {
    await expectRefusal(
      [],
      input(),
      'hub: USAGE: hub calc: --policy ID is required (usage: hub calc --policy ID [--input FILE] [--period PERIOD])',
    );
    await expectRefusal(
      ['--policy', 'xianyang-2020', '--input', '/nonexistent/person.json'],
      '',
      'hub: INPUT_INVALID: --input: cannot read "/nonexistent/person.json" (ENOENT)',
    );
  });

  it('answers --help on stdout with exit 0 (issue 12 item 9)', async () => {
    const result = await calc(['--help'], '');
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    expect(result.stdout).toContain('usage: hub calc --policy ID [--input FILE] [--period PERIOD]');
    expect(result.stdout).toContain('contributions');
    // Every settlement field the input reads, the 病种编码 of issue 12 item 5 included.
    expect(result.stdout).toContain('"basicPaidFen", "reversesId"?, "diseaseCode"? }]');
  });

  it('prints the subsidy verdict of each contribution record and the warning verdict for a period (issue 12 item 9)', async () => {
    // Anhui, 低保 all year: a 90% subsidy of 350 yuan is inside 004's 80%—90%, a record with none is under-subsidised.
    // Q1: S1 eligible 25,000 → tilt (25,000 − 7,500) × 65% = 11,375, assistance 70% of 13,625 = 9,537.50; 低保 is always reported.
    const stdin = JSON.stringify({
      insuredType: 'RESIDENT',
      statuses: [{ category: 'DIBAO', from: '2021-01-01', to: null }],
      settlements: [settlement({ settledAt: '2022-03-01' })],
      contributions: [
        { id: 'C1', insuranceYear: 2022, insuredType: 'RESIDENT', contributionDueFen: 35_000, subsidisedFen: 31_500, paidAt: '2021-11-01' },
        { id: 'C2', insuranceYear: 2022, insuredType: 'RESIDENT', contributionDueFen: 35_000, subsidisedFen: 0, paidAt: '2021-11-01' },
      ],
    });
    const result = await calc(['--policy', 'anhui-huangshan-2022', '--period', '2022-Q1'], stdin);
    expect(result.stderr).toBe('');
    const output = JSON.parse(result.stdout) as { subsidies: unknown[]; warning: unknown; settlements: unknown[] };
    expect(output.settlements[0]).toMatchObject({ criticalIllnessFen: 1_137_500, assistanceFen: 953_750, categoryApplied: 'DIBAO' });
    expect(output.subsidies).toEqual([
      { id: 'C1', insuranceYear: 2022, category: 'DIBAO', entitledSubsidyFen: 31_500, receivedSubsidyFen: 31_500, deltaFen: 0, kind: null },
      {
        id: 'C2',
        insuranceYear: 2022,
        category: 'DIBAO',
        entitledSubsidyFen: 28_000,
        receivedSubsidyFen: 0,
        deltaFen: 28_000,
        kind: 'UNDER_SUBSIDISED',
      },
    ]);
    expect(output.warning).toMatchObject({
      period: '2022-Q1',
      warn: true,
      reasons: ['ALWAYS_REPORTED_CATEGORY'],
      routedTo: ['CIVIL_AFFAIRS', 'RURAL_REVITALIZATION'],
    });
    await expectRefusal(
      ['--policy', 'anhui-huangshan-2022', '--period', '2022-05'],
      stdin,
      'hub: INPUT_INVALID: period: "2022-05" is not a quarter such as 2022-Q2 (policy anhui-huangshan-2022 warns quarterly)',
    );
  });

  it('refuses a reversal dated before the settlement it reverses, with exit 2 (issue 12 item 9)', async () => {
    const stdin = input({ settlements: [settlement(), settlement({ id: 'R1', settledAt: '2020-04-01', reversesId: 'S1' })] });
    await expectRefusal(
      ['--policy', 'xianyang-2020'],
      stdin,
      'hub: INPUT_INVALID: settlements[1].settledAt: "2020-04-01" is before the settlement it reverses (S1, "2020-04-02")',
    );
  });

  it('names a category only where it changed what the settlement pays (issue 12 item 9)', async () => {
    // DIBAO all year; S1 eligible 25,000 pays the tilt; S2 has nothing eligible and pays nothing: no category.
    const stdin = input({
      statuses: [{ category: 'DIBAO', from: '2020-01-01', to: null }],
      settlements: [
        settlement(),
        settlement({
          id: 'S2',
          settledAt: '2020-05-01',
          totalFen: 300_000,
          fullOwnPayFen: 300_000,
          preSelfPayFen: 0,
          policyScopeFen: 0,
          basicPaidFen: 0,
        }),
      ],
    });
    const output = JSON.parse((await calc(['--policy', 'xianyang-2020'], stdin)).stdout) as {
      settlements: Array<{ categoryApplied: string | null }>;
    };
    expect(output.settlements.map((s) => s.categoryApplied)).toEqual(['DIBAO', null]);
  });

  it('works as the real command: node bin/hub.mjs calc', async () => {
    const run = promisify(execFile);
    const child = run('node', ['bin/hub.mjs', 'calc', '--policy', 'tibet-2017'], { cwd: process.cwd() });
    child.child.stdin?.end(
      JSON.stringify({
        insuredType: 'RESIDENT',
        population: 'FARMER_HERDER',
        statuses: [],
        settlements: [
          {
            id: 'S1',
            settledAt: '2017-05-01',
            medicalType: 'INPATIENT',
            totalFen: 4_000_000,
            fullOwnPayFen: 0,
            overLimitFen: 0,
            preSelfPayFen: 0,
            policyScopeFen: 4_000_000,
            basicPaidFen: 2_000_000,
          },
        ],
      }),
    );
    const { stdout } = await child;
    // (20,000 − 9,094) × 50% = 5,453 yuan.
    expect(JSON.parse(stdout)).toMatchObject({
      totals: { eligibleFen: 2_000_000, criticalIllnessFen: 545_300, selfPayFen: 4_000_000 - 2_000_000 - 545_300 },
    });
  }, 30_000);

  it('exits 2 from the real command on bad input, with nothing on stdout', async () => {
    const run = promisify(execFile);
    const child = run('node', ['bin/hub.mjs', 'calc', '--policy', 'xianyang-2020'], { cwd: process.cwd() });
    child.child.stdin?.end(input({ settlements: [settlement({ settledAt: '2020-02-30' })] }));
    await expect(child).rejects.toMatchObject({
      code: 2,
      stdout: '',
      stderr: 'hub: INPUT_INVALID: settlements[0].settledAt: "2020-02-30" is not a real date\n',
    });
  }, 30_000);
});
