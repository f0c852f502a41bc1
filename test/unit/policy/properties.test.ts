import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  categories,
  computeYear,
  listPolicies,
  loadPolicy,
  medicalTypes,
  resolvePopulation,
  type PersonYearFacts,
  type Policy,
  type Settlement,
  type Status,
  type YearResult,
} from '../../../services/policy';
import { criticalIllnessDue } from '../../../services/policy/engine';

const policies = listPolicies().map((id) => loadPolicy(id));
const monthLengths = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** Day 0..364 of the policy's benefit year (all seed years start on 1 January) as an ISO date. */
function dateOf(policy: Policy, dayOfYear: number, yearOffset = 0): string {
  let day = dayOfYear;
  let month = 0;
  while (day >= (monthLengths[month] ?? 31)) {
    day -= monthLengths[month] ?? 31;
    month += 1;
  }
  const year = Number(policy.benefitYear.start.slice(0, 4)) + yearOffset;
  return `${year}-${String(month + 1).padStart(2, '0')}-${String(day + 1).padStart(2, '0')}`;
}

const amount = fc.oneof(
  { weight: 3, arbitrary: fc.integer({ min: 0, max: 5_000_000 }) }, // up to 50,000 yuan
  { weight: 2, arbitrary: fc.integer({ min: 0, max: 60_000_000 }) }, // up to 600,000 yuan: caps and ceilings
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 200 }) }, // rounding-sized amounts
);

const rawSettlement = fc.record({
  day: fc.integer({ min: 0, max: 364 }),
  medicalType: fc.constantFrom(...medicalTypes),
  policyScopeFen: amount,
  basicShareBp: fc.integer({ min: 0, max: 10_000 }),
  fullOwnPayFen: fc.integer({ min: 0, max: 500_000 }),
  overLimitFen: fc.integer({ min: 0, max: 100_000 }),
  preSelfPayFen: fc.integer({ min: 0, max: 200_000 }),
});

const rawStatus = fc.record({
  category: fc.constantFrom(...categories),
  fromDay: fc.integer({ min: -30, max: 364 }),
  length: fc.option(fc.integer({ min: 1, max: 400 }), { nil: null }),
});

interface Case {
  readonly policy: Policy;
  readonly facts: PersonYearFacts;
}

/** A person-year under one of the policies, holding up to three of the given statuses. */
const personYearFrom = (policyIndex: fc.Arbitrary<number>, status: typeof rawStatus): fc.Arbitrary<Case> =>
  fc
    .record({
      policyIndex,
      populationIndex: fc.nat(),
      statuses: fc.array(status, { maxLength: 3 }),
      settlements: fc.array(rawSettlement, { maxLength: 12 }),
      reversed: fc.uniqueArray(fc.nat(11), { maxLength: 3 }),
    })
    .map(({ policyIndex, populationIndex, statuses, settlements, reversed }): Case => {
      const policy = policies[policyIndex] ?? policies[0]!;
      const population = policy.populations[populationIndex % policy.populations.length]!;
      const date = (day: number): string =>
        day < 0 ? dateOf(policy, 365 + day, -1) : day > 364 ? dateOf(policy, day - 365, 1) : dateOf(policy, day);
      const built: Settlement[] = settlements.map((raw, i) => {
        const basicPaidFen = Math.floor((raw.policyScopeFen * raw.basicShareBp) / 10_000);
        return {
          id: `S${i}`,
          settledAt: date(raw.day),
          medicalType: raw.medicalType,
          totalFen: raw.fullOwnPayFen + raw.overLimitFen + raw.preSelfPayFen + raw.policyScopeFen,
          fullOwnPayFen: raw.fullOwnPayFen,
          overLimitFen: raw.overLimitFen,
          preSelfPayFen: raw.preSelfPayFen,
          policyScopeFen: raw.policyScopeFen,
          basicPaidFen,
        };
      });
      const reversals = reversed
        .filter((i) => i < built.length)
        .map((i): Settlement => {
          const original = built[i]!;
          return { ...original, id: `R${i}`, settledAt: original.settledAt, reversesId: original.id };
        });
      const builtStatuses: Status[] = statuses.map((raw) => ({
        category: raw.category,
        from: date(raw.fromDay),
        to: raw.length === null ? null : date(Math.min(raw.fromDay + raw.length, 729)),
      }));
      const facts: PersonYearFacts = {
        insuredType: population.insuredType,
        ...(population.code === population.insuredType ? {} : { population: population.code }),
        statuses: builtStatuses,
        settlements: [...built, ...reversals],
      };
      return { policy, facts };
    });
const personYear = personYearFrom(fc.integer({ min: 0, max: policies.length - 1 }), rawStatus);
/** Anhui's people in the categories it gives tilts or assistance to: where the funds interact. */
const anhui = policies.findIndex((policy) => policy.id === 'anhui-huangshan-2022');
const anhuiStatus = rawStatus.chain((raw) =>
  fc.constantFrom('TEKUN', 'DIBAO', 'RELAPSED_POVERTY', 'MONITORED', 'ILLNESS_POVERTY' as const).map((category) => ({ ...raw, category })),
);
const anhuiPersonYear = personYearFrom(fc.constant(anhui), anhuiStatus);

const benefits = (year: YearResult): number => year.totals.criticalIllnessFen + year.totals.assistanceFen;

describe('engine properties over random person-years', () => {
  it('basic + critical illness + assistance + self-pay = total for every settlement, and nothing is paid negative', () => {
    fc.assert(
      fc.property(personYear, ({ policy, facts }) => {
        const year = computeYear(policy, facts);
        year.settlements.forEach((result, i) => {
          const input = facts.settlements[i]!;
          expect(result.id).toBe(input.id);
          expect(result.criticalIllnessFen).toBeGreaterThanOrEqual(0);
          expect(result.assistanceFen).toBeGreaterThanOrEqual(0);
          expect(result.eligibleFen).toBeGreaterThanOrEqual(0);
          if (result.cancelled) {
            expect([result.totalFen, result.eligibleFen, result.criticalIllnessFen, result.assistanceFen, result.selfPayFen]).toEqual([
              0, 0, 0, 0, 0,
            ]);
          } else {
            expect(input.basicPaidFen + result.criticalIllnessFen + result.assistanceFen + result.selfPayFen).toBe(input.totalFen);
            expect(input.policyScopeFen - input.basicPaidFen - result.criticalIllnessFen - result.assistanceFen).toBe(
              result.inScopeSelfPayFen,
            );
          }
        });
        // Over the year the person never gets back more than they bore in scope (or, under a broader
        // eligible base, more than they bore of it).
        if (policy.eligibleParts.size === 0) expect(year.totals.inScopeSelfPayFen).toBeGreaterThanOrEqual(0);
        expect(year.totals.selfPayFen).toBeGreaterThanOrEqual(0);
      }),
      { numRuns: 500 },
    );
  });

  it('never exceeds the yearly critical-illness cap or the assistance cap', () => {
    fc.assert(
      fc.property(personYear, ({ policy, facts }) => {
        const population = resolvePopulation(policy, facts);
        const untilted = computeYear(policy, { ...facts, statuses: [] });
        const cap = population.criticalIllness.base.yearlyCapFen;
        if (cap !== null) expect(untilted.totals.criticalIllnessFen).toBeLessThanOrEqual(cap);
        const ceiling = population.criticalIllness.base.eligibleCeilingFen;
        if (ceiling !== null)
          expect(untilted.totals.criticalIllnessFen).toBeLessThanOrEqual(criticalIllnessDue(population.criticalIllness.base, ceiling));
        const assistanceCaps = population.assistanceByCategory.map(([, rule]) => rule.yearlyCapFen);
        if (assistanceCaps.length > 0 && assistanceCaps.every((c) => c !== null)) {
          expect(computeYear(policy, facts).totals.assistanceFen).toBeLessThanOrEqual(Math.max(...assistanceCaps.map((c) => c ?? 0)));
        }
      }),
      { numRuns: 500 },
    );
  });

  it('per-settlement payments sum exactly to the rounded cumulative due of the year', () => {
    fc.assert(
      fc.property(personYear, ({ policy, facts }) => {
        const population = resolvePopulation(policy, facts);
        const year = computeYear(policy, { ...facts, statuses: [] });
        expect(year.totals.criticalIllnessFen).toBe(criticalIllnessDue(population.criticalIllness.base, year.totals.eligibleFen));
      }),
      { numRuns: 500 },
    );
  });

  it('a tilted category never pays less than no category', () => {
    fc.assert(
      fc.property(personYear, ({ policy, facts }) => {
        const withCategories = computeYear(policy, facts);
        const without = computeYear(policy, { ...facts, statuses: [] });
        expect(benefits(withCategories)).toBeGreaterThanOrEqual(benefits(without));
        expect(withCategories.totals.criticalIllnessFen).toBeGreaterThanOrEqual(without.totals.criticalIllnessFen);
        expect(withCategories.totals.selfPayFen).toBeLessThanOrEqual(without.totals.selfPayFen);
      }),
      { numRuns: 500 },
    );
  });

  it('more cost never pays less in total', () => {
    fc.assert(
      fc.property(personYear, fc.nat(), fc.integer({ min: 1, max: 10_000_000 }), ({ policy, facts }, pick, extraFen) => {
        const active = facts.settlements.filter((s) => s.reversesId === undefined && !facts.settlements.some((r) => r.reversesId === s.id));
        const target = active[pick % Math.max(1, active.length)];
        if (target === undefined) return;
        const costlier = facts.settlements.map((s) =>
          s.id === target.id ? { ...s, policyScopeFen: s.policyScopeFen + extraFen, totalFen: s.totalFen + extraFen } : s,
        );
        expect(benefits(computeYear(policy, { ...facts, settlements: costlier }))).toBeGreaterThanOrEqual(
          benefits(computeYear(policy, facts)),
        );
      }),
      { numRuns: 500 },
    );
  });

  it('a settlement and its reversal change nothing else, and input order does not matter', () => {
    fc.assert(
      fc.property(personYear, rawSettlement, fc.nat(), ({ policy, facts }, raw, seed) => {
        const before = computeYear(policy, facts);
        const extra: Settlement = {
          id: 'X',
          settledAt: dateOf(policy, raw.day),
          medicalType: raw.medicalType,
          totalFen: raw.policyScopeFen,
          fullOwnPayFen: 0,
          overLimitFen: 0,
          preSelfPayFen: 0,
          policyScopeFen: raw.policyScopeFen,
          basicPaidFen: 0,
        };
        const withPair = computeYear(policy, {
          ...facts,
          settlements: [...facts.settlements, extra, { ...extra, id: 'XR', reversesId: 'X' }],
        });
        expect(withPair.settlements.slice(0, facts.settlements.length)).toEqual(before.settlements);
        expect(withPair.totals).toEqual(before.totals);

        const shuffled = [...facts.settlements].sort(
          (a, b) => ((a.id.charCodeAt(1) * 7919 + seed) % 13) - ((b.id.charCodeAt(1) * 7919 + seed) % 13),
        );
        const reordered = computeYear(policy, { ...facts, settlements: shuffled });
        const byId = new Map(before.settlements.map((s) => [s.id, s]));
        for (const result of reordered.settlements) expect(result).toEqual(byId.get(result.id));
      }),
      { numRuns: 300 },
    );
  });

  it('does not modify its inputs', () => {
    fc.assert(
      fc.property(personYear, ({ policy, facts }) => {
        const copy = structuredClone(facts);
        computeYear(policy, facts);
        expect(facts).toEqual(copy);
      }),
      { numRuns: 100 },
    );
  });

  /** Benefit paid to date (critical illness + assistance) after each live settlement, in time order. */
  const benefitToDate = (year: YearResult): number[] => {
    const live = year.settlements
      .filter((s) => !s.cancelled)
      .sort((a, b) => (a.settledAt < b.settledAt ? -1 : a.settledAt > b.settledAt ? 1 : a.id < b.id ? -1 : 1));
    let sum = 0;
    return live.map((s) => (sum += s.criticalIllnessFen + s.assistanceFen));
  };

  /** The same person with one more category, or one interval started earlier or ended later. */
  const gainsCategory = (cases: fc.Arbitrary<Case>, status: typeof rawStatus) =>
    fc.tuple(cases, status, fc.nat(), fc.integer({ min: 1, max: 365 }), fc.boolean()).map(([c, extra, pick, days, earlier]) => {
      const { policy, facts } = c;
      const date = (day: number): string =>
        day < 0 ? dateOf(policy, 365 + day, -1) : day > 364 ? dateOf(policy, Math.min(day, 729) - 365, 1) : dateOf(policy, day);
      const dayOf = (iso: string): number => {
        const year = Number(iso.slice(0, 4)) - Number(policy.benefitYear.start.slice(0, 4));
        const month = Number(iso.slice(5, 7)) - 1;
        return year * 365 + monthLengths.slice(0, month).reduce((a, b) => a + b, 0) + Number(iso.slice(8, 10)) - 1;
      };
      const target = facts.statuses[pick % Math.max(1, facts.statuses.length)];
      let statuses: Status[];
      if (target === undefined || pick % 3 === 0) {
        const to = extra.length === null ? null : date(extra.fromDay + extra.length);
        statuses = [...facts.statuses, { category: extra.category, from: date(extra.fromDay), to }];
      } else if (earlier) {
        statuses = facts.statuses.map((s) => (s === target ? { ...s, from: date(Math.max(-30, dayOf(s.from) - days)) } : s));
      } else {
        statuses = facts.statuses.map((s) =>
          s === target ? { ...s, to: s.to === null || dayOf(s.to) + days > 729 ? null : date(dayOf(s.to) + days) } : s,
        );
      }
      return { policy, less: facts, more: { ...facts, statuses } };
    });

  it('a person never loses by gaining a category or by holding one longer (issue 12 item 1)', () => {
    const check = ({ policy, less, more }: { policy: Policy; less: PersonYearFacts; more: PersonYearFacts }): void => {
      const before = computeYear(policy, less);
      const after = computeYear(policy, more);
      expect(after.totals.selfPayFen).toBeLessThanOrEqual(before.totals.selfPayFen);
      const toDateBefore = benefitToDate(before);
      benefitToDate(after).forEach((fen, i) => expect(fen).toBeGreaterThanOrEqual(toDateBefore[i] ?? 0));
    };
    // Seeded, so a failure names the case to replay; every policy, then Anhui's interacting funds.
    fc.assert(fc.property(gainsCategory(personYear, rawStatus), check), { numRuns: 4_000, seed: 20_261_127 });
    fc.assert(fc.property(gainsCategory(anhuiPersonYear, anhuiStatus), check), { numRuns: 4_000, seed: 20_261_127 });
  }, 60_000);
});
