import { HubError, type RoleMain } from '../services/platform';
import {
  computeYear,
  listPolicies,
  loadPolicy,
  type Category,
  type MedicalType,
  type PersonYearFacts,
  type Policy,
  type Settlement,
  type Status,
} from '../services/policy';

/**
 * The policy engine's throughput on one core: person-years and settlements computed per second
 * over a deterministic synthetic mix, as the rules service will call it (recompute the whole
 * year on every change). Facts are generated before timing; each round computes them all.
 *
 * Mix: most people have a few settlements and a tail many; about 15% hold a tilted category,
 * a third of those from mid-year; about 3% of settlements are reversed.
 */

/** mulberry32: a small seeded generator, so every run measures the same work. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const tiltedCategories: readonly Category[] = [
  'TEKUN',
  'DIBAO',
  'DIBAO_EDGE',
  'ORPHAN',
  'RELAPSED_POVERTY',
  'MONITORED',
  'POOR_REGISTERED',
  'ILLNESS_POVERTY',
];
const medicalTypeMix: readonly MedicalType[] = ['INPATIENT', 'INPATIENT', 'OUTPATIENT_CHRONIC', 'OUTPATIENT_CHRONIC', 'OUTPATIENT_GENERAL'];

function dateIn(policy: Policy, dayOfYear: number): string {
  const year = Number(policy.benefitYear.start.slice(0, 4));
  const month = Math.min(12, 1 + Math.floor(dayOfYear / 30.5));
  const day = 1 + (Math.floor(dayOfYear) % 28);
  return `${year}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
}

function settlementCount(random: () => number): number {
  const draw = random();
  if (draw < 0.6) return 1 + Math.floor(random() * 3); // most people: 1–3
  if (draw < 0.92) return 4 + Math.floor(random() * 9); // 4–12
  return 13 + Math.floor(random() * 88); // the tail: up to 100 (dialysis, chemotherapy)
}

export function syntheticPersonYear(policy: Policy, random: () => number): PersonYearFacts {
  const population = policy.populations[Math.floor(random() * policy.populations.length)] ?? policy.populations[0];
  if (population === undefined) throw new Error(`policy ${policy.id} has no population`);
  const statuses: Status[] = [];
  if (random() < 0.15) {
    const category = tiltedCategories[Math.floor(random() * tiltedCategories.length)] ?? 'DIBAO';
    const from = random() < 0.33 ? dateIn(policy, 30 + random() * 300) : `${Number(policy.benefitYear.start.slice(0, 4)) - 1}-06-01`;
    statuses.push({ category, from, to: null });
  }
  const count = settlementCount(random);
  const days = Array.from({ length: count }, () => random() * 360).sort((a, b) => a - b);
  const settlements: Settlement[] = [];
  days.forEach((day, i) => {
    const inpatient = random() < 0.5;
    const policyScopeFen = Math.floor(
      (inpatient ? 300_000 + random() * 6_000_000 : 20_000 + random() * 400_000) * (random() < 0.05 ? 10 : 1),
    );
    const basicPaidFen = Math.floor(policyScopeFen * (0.5 + random() * 0.25));
    const fullOwnPayFen = Math.floor(random() * policyScopeFen * 0.2);
    const overLimitFen = random() < 0.2 ? Math.floor(random() * 50_000) : 0;
    const preSelfPayFen = Math.floor(random() * policyScopeFen * 0.1);
    const settlement: Settlement = {
      id: `S${i}`,
      settledAt: dateIn(policy, day),
      medicalType: medicalTypeMix[Math.floor(random() * medicalTypeMix.length)] ?? 'INPATIENT',
      totalFen: fullOwnPayFen + overLimitFen + preSelfPayFen + policyScopeFen,
      fullOwnPayFen,
      overLimitFen,
      preSelfPayFen,
      policyScopeFen,
      basicPaidFen,
    };
    settlements.push(settlement);
    // dateIn wraps days within a month, so three days later can read as earlier: a reversal is
    // never dated before the settlement it reverses (the engine refuses that).
    const reversedAt = dateIn(policy, Math.min(359, day + 3));
    if (random() < 0.03)
      settlements.push({
        ...settlement,
        id: `R${i}`,
        settledAt: reversedAt < settlement.settledAt ? settlement.settledAt : reversedAt,
        reversesId: settlement.id,
      });
  });
  return population.code === population.insuredType
    ? { insuredType: population.insuredType, statuses, settlements }
    : { insuredType: population.insuredType, population: population.code, statuses, settlements };
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] ?? 0) : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
}

function option(args: readonly string[], name: string, fallback: number): number {
  const at = args.indexOf(name);
  if (at === -1) return fallback;
  const value = Number(args[at + 1]);
  if (!Number.isSafeInteger(value) || value <= 0) throw new HubError('USAGE', `hub bench engine: ${name} needs a positive whole number`);
  return value;
}

/** `hub bench engine [--people N] [--rounds R] [--seed S]` */
export const runEngineBench: RoleMain = (args, io) => {
  const people = option(args, '--people', 50_000);
  const rounds = option(args, '--rounds', 7);
  const seed = option(args, '--seed', 20_190_701);
  const random = seededRandom(seed);
  const policies = listPolicies().map((id) => loadPolicy(id));
  const work = Array.from({ length: people }, (_, i) => {
    const policy = policies[i % policies.length] ?? policies[0];
    if (policy === undefined) throw new Error('no policies');
    return { policy, facts: syntheticPersonYear(policy, random) };
  });
  const settlements = work.reduce((sum, { facts }) => sum + facts.settlements.length, 0);
  const tilted = work.filter(({ facts }) => facts.statuses.length > 0).length;
  io.stdout.write(
    `engine bench: ${people} person-years, ${settlements} settlements (${(settlements / people).toFixed(1)} ` +
      `per person), ${((tilted / people) * 100).toFixed(1)}% in a category, ${policies.length} policies, seed ${seed}\n`,
  );

  // Warm-up lets the JIT settle before timing.
  for (const { policy, facts } of work.slice(0, 5_000)) computeYear(policy, facts);
  const personYearRates: number[] = [];
  const settlementRates: number[] = [];
  let checksum = 0;
  for (let round = 1; round <= rounds; round += 1) {
    const started = process.hrtime.bigint();
    for (const { policy, facts } of work) checksum += computeYear(policy, facts).totals.criticalIllnessFen;
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    personYearRates.push(people / seconds);
    settlementRates.push(settlements / seconds);
    io.stdout.write(
      `round ${round}: ${(seconds * 1000).toFixed(0)} ms,` +
        ` ${Math.round(people / seconds).toLocaleString('en')} person-years/s,` +
        ` ${Math.round(settlements / seconds).toLocaleString('en')} settlements/s\n`,
    );
  }
  io.stdout.write(
    `median over ${rounds} rounds (one core): ${Math.round(median(personYearRates)).toLocaleString('en')} ` +
      `person-years/s, ${Math.round(median(settlementRates)).toLocaleString('en')} settlements/s (checksum ${checksum % 1_000_007})\n`,
  );
  return Promise.resolve(0);
};
