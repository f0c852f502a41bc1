import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { sign, verify } from '../../../connectors/agency-delivery';
import { fenToYuan, latestForAgency, readReceipt, yuanToFen } from '../../../connectors/agency-delivery/runtime';
import type { QuarterlyWarning } from '../../../schemas';
import { computeYear, loadPolicy, warningVerdict } from '../../../services/policy';
import {
  dayScore,
  engineSettlements,
  filePolicyResolver,
  watchScores,
  type StoredFact,
  type StoredSettlement,
} from '../../../services/rules';
import { cannotBeWarned, duePeriods, dueAt, periodBounds, periodOf, schedulePattern } from '../../../services/warnings';
import { describeChanges, type WarningValues } from '../../../services/warnings/warning-record';
import { sampleRecords } from '../../support/sample-records';

describe('warning periods (Asia/Shanghai)', () => {
  it('bounds quarters and months, leap years included', () => {
    expect(periodBounds('QUARTERLY', '2022-Q2')).toEqual({ period: '2022-Q2', first: '2022-04-01', last: '2022-06-30' });
    expect(periodBounds('QUARTERLY', '2024-Q1')).toEqual({ period: '2024-Q1', first: '2024-01-01', last: '2024-03-31' });
    expect(periodBounds('MONTHLY', '2024-02')).toEqual({ period: '2024-02', first: '2024-02-01', last: '2024-02-29' });
    expect(periodBounds('MONTHLY', '2023-02').last).toBe('2023-02-28');
    expect(periodOf('QUARTERLY', '2022-07-01')).toBe('2022-Q3');
    expect(periodOf('MONTHLY', '2022-12-31')).toBe('2022-12');
    expect(() => periodBounds('QUARTERLY', '2022-05')).toThrow(/not a quarter/);
    expect(() => periodBounds('MONTHLY', '2022-Q2')).toThrow(/not a month/);
  });

  it('a period is due at midnight Shanghai after its last day plus the grace', () => {
    // 2022-Q2 closes at 2022-07-01T00:00+08:00 = 2022-06-30T16:00Z; 10 days' grace.
    expect(new Date(dueAt(periodBounds('QUARTERLY', '2022-Q2'), 10)).toISOString()).toBe('2022-07-10T16:00:00.000Z');
    const policy = loadPolicy('anhui-huangshan-2022');
    expect(duePeriods(policy, Date.parse('2022-07-10T15:59:59Z'), 10).map((p) => p.period)).toEqual(['2022-Q1']);
    expect(duePeriods(policy, Date.parse('2022-07-10T16:00:00Z'), 10).map((p) => p.period)).toEqual(['2022-Q1', '2022-Q2']);
    const monthly = { ...policy, warning: { ...policy.warning, cadence: 'MONTHLY' as const } };
    expect(duePeriods(monthly, Date.parse('2022-07-12T00:00:00+08:00'), 10).map((p) => p.period)).toEqual([
      '2022-01',
      '2022-02',
      '2022-03',
      '2022-04',
      '2022-05',
      '2022-06',
    ]);
    expect(duePeriods(monthly, Date.parse('2023-06-01T00:00:00+08:00'), 0)).toHaveLength(12);
  });

  it('fires at 02:00 on the day after the close plus the grace', () => {
    expect(schedulePattern('QUARTERLY', 10)).toBe('0 2 11 1,4,7,10 *');
    expect(schedulePattern('MONTHLY', 0)).toBe('0 2 1 * *');
    expect(() => schedulePattern('MONTHLY', 28)).toThrow(/outside 0..27/);
  });
});

describe('the webhook signature', () => {
  const secret = 'a-shared-secret-of-at-least-32-characters';
  const body = '{"warning":{"idNumber":"11010519491231002X"}}';
  const now = Date.parse('2022-07-12T03:00:00Z');
  const ts = Math.floor(now / 1000);

  it('is HMAC-SHA256 over timestamp, dot, body', () => {
    // Computed independently: printf '%s' '1657594800.x' | openssl dgst -sha256 -hmac "$secret"
    expect(sign(secret, 1_657_594_800, 'x')).toBe('sha256=392822c62e72c1c232d112b6c582914648e6a95e012c0b5a65a587127ad4e991');
    expect(verify({ secret, body, timestamp: String(ts), signature: sign(secret, ts, body), now })).toBe(true);
  });

  it('refuses another body, another secret, and a timestamp outside the 5-minute window', () => {
    expect(verify({ secret, body: `${body} `, timestamp: String(ts), signature: sign(secret, ts, body), now })).toBe(false);
    expect(verify({ secret: `${secret}x`, body, timestamp: String(ts), signature: sign(secret, ts, body), now })).toBe(false);
    expect(verify({ secret, body, timestamp: String(ts - 301), signature: sign(secret, ts - 301, body), now })).toBe(false);
    expect(verify({ secret, body, timestamp: String(ts + 300), signature: sign(secret, ts + 300, body), now })).toBe(true);
    expect(verify({ secret, body, timestamp: undefined, signature: sign(secret, ts, body), now })).toBe(false);
  });
});

describe('money as text', () => {
  it('converts fen and yuan exactly', () => {
    expect(fenToYuan(1_000_001)).toBe('10000.01');
    expect(fenToYuan(999_999)).toBe('9999.99');
    expect(fenToYuan(5)).toBe('0.05');
    expect(fenToYuan(-150)).toBe('-1.50');
    expect(yuanToFen('1500.5')).toBe(150_050);
    expect(yuanToFen('0.07')).toBe(7);
    expect(yuanToFen('12')).toBe(1200);
    expect(yuanToFen('1.234')).toBeUndefined();
    expect(yuanToFen('-1')).toBeUndefined();
  });
});

describe('receipts', () => {
  it("validates each outcome's fields", () => {
    expect(
      readReceipt(
        { receiptId: 'R1', warningId: 'warn-1', outcome: 'ASSISTANCE_GIVEN', assistanceKind: '临时救助', assistanceAmount: '200.00' },
        'CIVIL_AFFAIRS',
      ),
    ).toMatchObject({ assistanceFen: 20_000 });
    expect(() =>
      readReceipt({ receiptId: 'R1', warningId: 'warn-1', outcome: 'ASSISTANCE_GIVEN', assistanceKind: '临时救助' }, 'CIVIL_AFFAIRS'),
    ).toThrow(/assistanceAmount/);
    expect(() =>
      readReceipt({ receiptId: 'R1', warningId: 'warn-1', outcome: 'CERTIFIED', certifiedCategory: 'MONITORED' }, 'CIVIL_AFFAIRS'),
    ).toThrow(/certifiedCategory/);
    expect(
      readReceipt({ receiptId: 'R1', warningId: 'warn-1', outcome: 'CERTIFIED', certifiedCategory: 'MONITORED' }, 'RURAL_REVITALIZATION'),
    ).toMatchObject({ certifiedCategory: 'MONITORED' });
    expect(() => readReceipt({ receiptId: 'R1', warningId: 'warn-1', outcome: 'NO_ACTION' }, 'CIVIL_AFFAIRS')).toThrow(/reason/);
    expect(() => readReceipt({ receiptId: 'R1', warningId: 'warn-1', outcome: 'DONE' }, 'CIVIL_AFFAIRS')).toThrow(/outcome/);
    expect(() =>
      readReceipt({ receiptId: 'R1', warningId: 'warn-1', outcome: 'RECEIVED', decidedAt: '2022-02-30 10:00' }, 'CIVIL_AFFAIRS'),
    ).toThrow(/decidedAt/);
  });
});

describe('corrections', () => {
  const values: WarningValues = {
    reasons: ['SELF_PAY_OVER_THRESHOLD'],
    categories: [],
    routedTo: ['CIVIL_AFFAIRS', 'RURAL_REVITALIZATION'],
    selfPayFen: 1_400_000,
    medfeeFen: 3_000_000,
    basicFen: 1_600_000,
    criticalIllnessFen: 0,
    assistanceFen: 0,
    settlements: ['H1/S1'],
  };

  it('say what changed, field by field', () => {
    const after = {
      ...values,
      reasons: ['ALWAYS_REPORTED_CATEGORY'],
      categories: ['DIBAO'],
      routedTo: ['CIVIL_AFFAIRS'],
      selfPayFen: 293_250,
      settlements: ['H1/S1', 'H1/S2'],
    };
    expect(describeChanges({ eventId: 'w-1', warned: true, values }, after, true)).toEqual([
      'reasons: SELF_PAY_OVER_THRESHOLD -> ALWAYS_REPORTED_CATEGORY',
      'categories: none -> DIBAO',
      'routedTo: CIVIL_AFFAIRS, RURAL_REVITALIZATION -> CIVIL_AFFAIRS',
      'selfPayFen: 14000.00 yuan -> 2932.50 yuan',
      'settlements added: H1/S2',
    ]);
    expect(describeChanges({ eventId: 'w-1', warned: true, values }, values, false)[0]).toBe('no longer warned: no reason remains');
  });

  it("replace the warning they supersede in an agency's file", () => {
    const first: QuarterlyWarning = { ...sampleRecords.quarterlyWarnings, eventId: 'w-1', routedTo: ['CIVIL_AFFAIRS'] };
    const correction: QuarterlyWarning = { ...first, eventId: 'w-2', supersedes: 'w-1', selfPayFen: 1 };
    expect(latestForAgency([first, correction, first], 'CIVIL_AFFAIRS', first.policyId, first.period)).toEqual([correction]);
    expect(latestForAgency([first, correction], 'RURAL_REVITALIZATION', first.policyId, first.period)).toEqual([]);
  });

  it('leave a dropped agency the withdrawal addressed to it, and the others the correction, when routing narrows', () => {
    const first: QuarterlyWarning = {
      ...sampleRecords.quarterlyWarnings,
      eventId: 'w-1',
      supersedes: null,
      warned: true,
      routedTo: ['CIVIL_AFFAIRS', 'RURAL_REVITALIZATION'],
    };
    const withdrawal: QuarterlyWarning = { ...first, eventId: 'w-2', supersedes: 'w-1', warned: false, routedTo: ['RURAL_REVITALIZATION'] };
    const correction: QuarterlyWarning = { ...first, eventId: 'w-3', supersedes: 'w-1', routedTo: ['CIVIL_AFFAIRS'] };
    expect(latestForAgency([first, withdrawal, correction], 'CIVIL_AFFAIRS', first.policyId, first.period)).toEqual([correction]);
    expect(latestForAgency([first, withdrawal, correction], 'RURAL_REVITALIZATION', first.policyId, first.period)).toEqual([withdrawal]);
  });
});

describe("the run's shortcut past the engine", () => {
  const policy = loadPolicy('anhui-huangshan-2022');
  const stay = (n: number, settledAt: string, totalFen: number, basicPaidFen: number, policyScopeFen: number): StoredSettlement => ({
    kind: 'settlement',
    eventId: `e-${n}`,
    key: `H1/S-${n}`,
    reversesKey: null,
    fixmedinsCode: 'H1',
    setlId: `S-${n}`,
    admdvs: '341002',
    insuredType: 'RESIDENT',
    medType: '21',
    settledAt,
    setlTime: Date.parse(`${settledAt}T10:00:00+08:00`),
    totalFen,
    fullOwnPayFen: totalFen - policyScopeFen,
    overLimitFen: 0,
    preSelfPayFen: 0,
    policyScopeFen,
    basicPaidFen,
    settledCriticalIllnessFen: 0,
    settledAssistanceFen: 0,
  });
  const verdictOf = (settlements: StoredSettlement[]) =>
    warningVerdict(
      policy,
      { statuses: [] },
      computeYear(policy, {
        insuredType: 'RESIDENT',
        statuses: [],
        settlements: engineSettlements(settlements.filter((s) => s.settledAt <= '2022-06-30')),
      }),
      '2022-Q2',
    );

  it("skips at 10,000.00 yuan of total minus basic up to the period's end, not at 10,000.01, and counts nothing after it", () => {
    expect(
      cannotBeWarned(
        {
          statuses: [],
          settlements: [stay(1, '2022-05-02', 1_100_000, 100_000, 100_000)],
        },
        policy,
        '2022-06-30',
      ),
    ).toBe(true);
    expect(
      cannotBeWarned(
        {
          statuses: [],
          settlements: [stay(1, '2022-05-02', 1_100_001, 100_000, 100_000)],
        },
        policy,
        '2022-06-30',
      ),
    ).toBe(false);
    expect(
      cannotBeWarned(
        {
          statuses: [],
          settlements: [stay(1, '2022-07-01', 9_000_000, 100_000, 100_000)],
        },
        policy,
        '2022-06-30',
      ),
    ).toBe(true);
    expect(
      cannotBeWarned(
        {
          statuses: [{ category: 'DIBAO', from: '2022-01-01', to: null }],
          settlements: [],
        },
        policy,
        '2022-06-30',
      ),
    ).toBe(false);
  });

  it("the rules service's warning watch names exactly the people a run must compute, whatever the period's end", () => {
    const resolver = filePolicyResolver([policy]);
    const arbitraryStay = fc.record({
      month: fc.integer({ min: 1, max: 12 }),
      day: fc.integer({ min: 1, max: 28 }),
      total: fc.integer({ min: 0, max: 1_500_000 }),
      basic: fc.integer({ min: 0, max: 1_000_000 }),
      reversed: fc.boolean(),
    });
    const date = (month: number, day: number) => `2022-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
    fc.assert(
      fc.property(
        fc.array(arbitraryStay, { minLength: 1, maxLength: 6 }),
        fc.boolean(),
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 1, max: 28 }),
        (stays, holdsStatus, month, day) => {
          const facts = new Map<string, StoredFact>();
          stays.forEach((s, n) => {
            const original = stay(n, date(s.month, s.day), s.total, s.basic, s.basic);
            facts.set(`h:${original.key}`, original);
            // A reversal in the month after: negative amounts, counted under its original.
            if (s.reversed)
              facts.set(`h:${original.key}-R`, {
                ...original,
                key: `${original.key}-R`,
                reversesKey: original.key,
                settledAt: date(Math.min(12, s.month + 1), s.day),
                totalFen: -s.total,
                basicPaidFen: -s.basic,
              });
          });
          if (holdsStatus)
            facts.set('s:civil-affairs/W', {
              kind: 'status',
              eventId: 'e-s',
              version: 1,
              category: 'DIBAO',
              action: 'CERTIFY',
              from: '2022-01-01',
              to: null,
            });
          const settlements = [...facts.values()].filter((f): f is StoredSettlement => f.kind === 'settlement');
          const windowTo = date(month, day);
          const score = watchScores(facts.values(), resolver).get(policy.id);
          expect(score).toBeDefined();
          expect((score ?? 0) <= dayScore(windowTo)).toBe(
            !cannotBeWarned({ statuses: holdsStatus ? [{}] : [], settlements }, policy, windowTo),
          );
        },
      ),
      { numRuns: 1_000, seed: 16 },
    );
  });

  it('never skips a person the engine would warn', () => {
    const arbitraryStay = fc.record({
      month: fc.integer({ min: 1, max: 12 }),
      day: fc.integer({ min: 1, max: 28 }),
      scope: fc.integer({ min: 0, max: 3_000_000 }),
      own: fc.integer({ min: 0, max: 1_500_000 }),
      basicBp: fc.integer({ min: 0, max: 10_000 }),
    });
    fc.assert(
      fc.property(fc.array(arbitraryStay, { minLength: 1, maxLength: 5 }), (stays) => {
        const settlements = stays.map((s, n) =>
          stay(
            n,
            `2022-${String(s.month).padStart(2, '0')}-${String(s.day).padStart(2, '0')}`,
            s.scope + s.own,
            Math.floor((s.scope * s.basicBp) / 10_000),
            s.scope,
          ),
        );
        if (cannotBeWarned({ statuses: [], settlements }, policy, '2022-06-30')) expect(verdictOf(settlements).warn).toBe(false);
      }),
      { numRuns: 500, seed: 16 },
    );
  });
});
