import { checkFacts } from './check-facts';
import { holdsOn } from './dates';
import { applyRatio, applySegments } from './money';
import type {
  AssistanceRule,
  Category,
  CriticalIllnessSchedule,
  PersonYearFacts,
  Policy,
  Settlement,
  SettlementResult,
  Status,
  YearResult,
  YearTotals,
} from './types';

/** Cumulative critical-illness due (大病保险 年度累计应付) on a cumulative eligible amount. */
export function criticalIllnessDue(schedule: CriticalIllnessSchedule, cumulativeEligibleFen: number): number {
  const counted =
    schedule.eligibleCeilingFen !== null && cumulativeEligibleFen > schedule.eligibleCeilingFen
      ? schedule.eligibleCeilingFen
      : cumulativeEligibleFen;
  const due = applySegments(counted, schedule.lowersFen, schedule.uppersFen, schedule.ratiosBp);
  return schedule.yearlyCapFen !== null && due > schedule.yearlyCapFen ? schedule.yearlyCapFen : due;
}

/** Cumulative medical-assistance due (医疗救助) on the cumulative in-scope self-pay left after insurance. */
export function assistanceDue(rule: AssistanceRule, remainingFen: number): number {
  if (remainingFen <= rule.deductibleFen) return 0;
  const due = applyRatio(remainingFen - rule.deductibleFen, rule.ratioBp);
  return rule.yearlyCapFen !== null && due > rule.yearlyCapFen ? rule.yearlyCapFen : due;
}

/** A held interval `[from, to)` of a category (`to` null = open). */
interface HeldInterval {
  readonly from: string;
  readonly to: string | null;
}

/**
 * One rule a person may be paid under: the policy version it belongs to, the category that gives
 * it (null = everyone's) and the rule.
 */
interface Option<R> {
  readonly version: number;
  /** The version's window `[from, until)`; the first version's `from` is '' (always). */
  readonly from: string;
  readonly until: string | null;
  readonly category: Category | null;
  readonly rule: R;
  /** The held intervals that make it available; empty for the everyone's option. */
  readonly held: readonly HeldInterval[];
}

const noIntervals: readonly HeldInterval[] = Object.freeze([]);

/**
 * Appends a version's options: everyone's rule, then each category rule the person holds at some
 * time, in the policy's listing order. Plain loops: this runs for every recomputed person-year.
 */
function addOptions<R>(
  list: Array<Option<R | null>>,
  version: number,
  from: string,
  until: string | null,
  everyone: R | null,
  statuses: readonly Status[],
  rules: ReadonlyArray<readonly [Category, R]>,
): void {
  list.push({ version, from, until, category: null, rule: everyone, held: noIntervals });
  if (statuses.length === 0) return;
  for (const [category, rule] of rules) {
    let held: HeldInterval[] | undefined;
    for (const status of statuses) {
      if (status.category === category) (held ??= []).push(status);
    }
    if (held !== undefined) list.push({ version, from, until, category, rule, held });
  }
}

function bySettlementTime(settlements: readonly Settlement[]) {
  return (a: number, b: number): number => {
    const left = settlements[a];
    const right = settlements[b];
    if (left === undefined || right === undefined) return 0;
    if (left.settledAt !== right.settledAt) return left.settledAt < right.settledAt ? -1 : 1;
    return left.id < right.id ? -1 : left.id > right.id ? 1 : 0;
  };
}

function availableOn<R>(option: Option<R>, date: string): boolean {
  if (!holdsOn(option.from, option.until, date)) return false;
  if (option.category === null) return true;
  for (const held of option.held) if (holdsOn(held.from, held.to, date)) return true;
  return false;
}

/**
 * Whether a 门诊慢特病 settlement counts (issue 12 item 5): its 病种编码 starts with a prefix on one
 * of the policy's lists, or a list's codes are not known; without a code, as the policy says;
 * every one when the policy names no list.
 */
function chronicCounts(policy: Policy, diseaseCode: string | undefined): boolean {
  const chronic = policy.chronicDiseases;
  if (chronic === null) return true;
  if (diseaseCode === undefined || diseaseCode === '') return chronic.withoutCode === 'COUNT';
  return chronic.lists.some((list) => list.codePrefixes === null || list.codePrefixes.some((prefix) => diseaseCode.startsWith(prefix)));
}

/** What a schedule can pay in a year at most: its cap, or its due at the eligible ceiling; Infinity when neither. */
function paymentBound(schedule: CriticalIllnessSchedule): number {
  if (schedule.yearlyCapFen !== null) return schedule.yearlyCapFen;
  if (schedule.eligibleCeilingFen !== null) return criticalIllnessDue(schedule, schedule.eligibleCeilingFen);
  return Infinity;
}

/**
 * Computes one person's benefit year: what critical-illness insurance and medical assistance pay
 * for each settlement, and what the person is left to pay. Pure: the same facts always give the
 * same result, inputs are not modified, and a change to any fact is handled by calling it again.
 *
 * Settlements are taken in time order (settledAt, then id); a reversal and the settlement it
 * reverses both pay and count nothing. The year is a sequence of steps, one per settlement of a
 * medical type the policy counts. At each step the benefit to date is the best of:
 *
 * - catch-up: a rule the person is entitled to on the settlement's date (the standard schedule or
 *   a held category's tilt, with no assistance or a held category's assistance rule, 先保险后救助)
 *   applied to the whole year's cumulative amounts;
 * - carry-over: the benefit to date at an earlier step, plus what a rule held today pays on the
 *   cumulative amounts that came since that step.
 *
 * So what a category gave while it was held is kept for the costs of that time when it lapses, a
 * category that starts mid-year catches up on the year so far, and the benefit to date never falls.
 * Because every term grows with the set of rules available on each date, gaining a category or
 * holding one longer never lowers the benefit to date at any settlement (README, "Monotone in
 * categories"). The same recurrence on critical illness alone gives the insurance's cumulative
 * due; the split between the funds pays insurance first, except that insurance catching up on
 * costs assistance already paid for pays only what is left (no double cover). Caps: critical
 * illness never pays more than the largest yearly limit among the schedules the person held so
 * far, assistance never more than the largest assistance cap held so far, and the two together
 * never more than the cumulative eligible base of the year.
 *
 * @throws HubError INPUT_INVALID naming the offending field when the facts are inconsistent.
 */
export function computeYear(policy: Policy, facts: PersonYearFacts): YearResult {
  const population = checkFacts(policy, facts);
  const { settlements } = facts;

  const cancelled = new Set<string>();
  for (const settlement of settlements) {
    if (settlement.reversesId !== undefined) {
      cancelled.add(settlement.id);
      cancelled.add(settlement.reversesId);
    }
  }
  const order: number[] = [];
  for (let i = 0; i < settlements.length; i += 1) {
    const settlement = settlements[i];
    if (settlement !== undefined && !cancelled.has(settlement.id)) order.push(i);
  }
  order.sort(bySettlementTime(settlements));

  // Every version's rules are options; only the version in force on a settlement's date is available.
  const schedules: Array<Option<CriticalIllnessSchedule | null>> = [];
  const assistanceRules: Array<Option<AssistanceRule | null>> = [];
  const { versions } = policy;
  for (let v = 0; v < versions.length; v += 1) {
    const version = versions[v];
    if (version === undefined) continue;
    const from = v === 0 ? '' : version.from;
    const until = versions[v + 1]?.from ?? null;
    const inVersion = version.populations.find((candidate) => candidate.code === population.code) ?? population;
    addOptions(schedules, v, from, until, inVersion.criticalIllness.base, facts.statuses, inVersion.criticalIllness.byCategory);
    addOptions<AssistanceRule>(assistanceRules, v, from, until, null, facts.statuses, inVersion.assistanceByCategory);
  }
  const scheduleCount = schedules.length;
  const assistanceCount = assistanceRules.length;
  const bounds = new Float64Array(scheduleCount);
  for (let s = 0; s < scheduleCount; s += 1) {
    const rule = schedules[s]?.rule ?? null;
    bounds[s] = rule === null ? 0 : paymentBound(rule);
  }
  const countedTypes = policy.criticalIllnessMedicalTypes;
  const parts = policy.eligibleParts;
  const addsPreSelfPay = parts.has('PRE_SELF_PAY');
  const addsOverLimit = parts.has('OVER_LIMIT');
  const addsFullOwnPay = parts.has('FULL_OWN_PAY');

  // carryCi[s] = max over earlier steps j of (critical illness due to date at j − schedule s's due at j);
  // carry[s × A + a] the same for the benefit to date under the pair (schedule s, assistance rule a),
  // kept only for pairs of one version. Scratch arrays are allocated once per year, not per step.
  const carryCi = new Float64Array(scheduleCount);
  const carry = new Float64Array(scheduleCount * assistanceCount);
  const dues = new Float64Array(scheduleCount);
  const pairDues = new Float64Array(scheduleCount * assistanceCount);
  const availableS = new Uint8Array(scheduleCount);
  const availableA = new Uint8Array(assistanceCount);

  const results: Array<SettlementResult | undefined> = new Array<SettlementResult | undefined>(settlements.length);
  let cumulativeEligibleFen = 0;
  let cumulativeBaseFen = 0; // the eligible base of every live settlement: the funds never pay more
  let ciBoundFen = 0; // the largest critical-illness limit among the schedules held so far
  let assistanceBoundFen = 0; // the largest assistance cap among the rules held so far
  let ciDueToDateFen = 0; // C: critical illness due to date
  let benefitToDateFen = 0; // W: both funds, to date
  let criticalIllnessPaidFen = 0;
  let assistancePaidFen = 0;

  for (const index of order) {
    const settlement = settlements[index];
    if (settlement === undefined) continue;
    const date = settlement.settledAt;
    const inScopeFen = settlement.policyScopeFen - settlement.basicPaidFen;
    // The eligible base (issue 12 item 6): policy scope − basic, plus the parts the policy adds.
    const baseFen =
      inScopeFen +
      (addsPreSelfPay ? settlement.preSelfPayFen : 0) +
      (addsOverLimit ? settlement.overLimitFen : 0) +
      (addsFullOwnPay ? settlement.fullOwnPayFen : 0);
    cumulativeBaseFen += baseFen;
    const counted =
      countedTypes.has(settlement.medicalType) &&
      (settlement.medicalType !== 'OUTPATIENT_CHRONIC' || chronicCounts(policy, settlement.diseaseCode));

    let eligibleFen = 0;
    let criticalIllnessFen = 0;
    let assistanceFen = 0;
    let criticalIllnessCategory: Category | null = null;
    let assistanceCategory: Category | null = null;
    if (counted) {
      eligibleFen = baseFen;
      cumulativeEligibleFen += eligibleFen;
      for (let s = 0; s < scheduleCount; s += 1) {
        const option = schedules[s];
        if (option === undefined) continue;
        dues[s] = option.rule === null ? 0 : criticalIllnessDue(option.rule, cumulativeEligibleFen);
        availableS[s] = availableOn(option, date) ? 1 : 0;
      }
      for (let a = 0; a < assistanceCount; a += 1) {
        const option = assistanceRules[a];
        availableA[a] = option !== undefined && availableOn(option, date) ? 1 : 0;
      }
      // Each pair's due (先保险后救助: the schedule's due, then assistance on what it leaves), once per step.
      for (let s = 0; s < scheduleCount; s += 1) {
        const version = schedules[s]?.version;
        const ciDueFen = dues[s] ?? 0;
        const remainingFen = cumulativeEligibleFen - ciDueFen > 0 ? cumulativeEligibleFen - ciDueFen : 0;
        for (let a = 0; a < assistanceCount; a += 1) {
          const option = assistanceRules[a];
          if (option === undefined || option.version !== version) continue;
          pairDues[s * assistanceCount + a] = ciDueFen + (option.rule === null ? 0 : assistanceDue(option.rule, remainingFen));
        }
      }

      // Critical illness alone.
      let bestCi = -1;
      let bestCiS = 0;
      let standardS = -1;
      for (let s = 0; s < scheduleCount; s += 1) {
        if (availableS[s] !== 1) continue;
        if (standardS === -1 && schedules[s]?.category === null) standardS = s;
        const bound = bounds[s] ?? 0;
        if (bound > ciBoundFen) ciBoundFen = bound;
        const value = (carryCi[s] ?? 0) + (dues[s] ?? 0);
        if (value > bestCi) {
          bestCi = value;
          bestCiS = s;
        }
      }
      const standardCi = (carryCi[standardS] ?? 0) + (dues[standardS] ?? 0);
      ciDueToDateFen = Math.max(ciDueToDateFen, Math.min(bestCi, ciBoundFen, cumulativeEligibleFen));
      criticalIllnessCategory = bestCi > standardCi ? (schedules[bestCiS]?.category ?? null) : null;

      // Both funds.
      let best = -1;
      let bestA = 0;
      let bestWithoutAssistance = -1;
      for (let s = 0; s < scheduleCount; s += 1) {
        if (availableS[s] !== 1) continue;
        const version = schedules[s]?.version;
        for (let a = 0; a < assistanceCount; a += 1) {
          const option = assistanceRules[a];
          if (availableA[a] !== 1 || option === undefined || option.version !== version) continue;
          if (option.rule !== null) assistanceBoundFen = Math.max(assistanceBoundFen, option.rule.yearlyCapFen ?? Infinity);
          const value = (carry[s * assistanceCount + a] ?? 0) + (pairDues[s * assistanceCount + a] ?? 0);
          if (value > best) {
            best = value;
            bestA = a;
          }
          if (option.rule === null && value > bestWithoutAssistance) bestWithoutAssistance = value;
        }
      }
      benefitToDateFen = Math.max(benefitToDateFen, ciDueToDateFen, Math.min(best, ciDueToDateFen + assistanceBoundFen, cumulativeBaseFen));
      assistanceCategory = best > bestWithoutAssistance ? (assistanceRules[bestA]?.category ?? null) : null;

      // Insurance first; what assistance already paid is never taken back, nor paid twice.
      const assistanceBefore = assistancePaidFen;
      const ciPaid = Math.max(criticalIllnessPaidFen, Math.min(ciDueToDateFen, benefitToDateFen - assistanceBefore));
      criticalIllnessFen = ciPaid - criticalIllnessPaidFen;
      criticalIllnessPaidFen = ciPaid;
      assistancePaidFen = benefitToDateFen - criticalIllnessPaidFen;
      assistanceFen = assistancePaidFen - assistanceBefore;
      // A category is named only where it changed what this settlement pays (issue 12 item 9).
      if (criticalIllnessFen === 0) criticalIllnessCategory = null;
      if (assistanceFen === 0) assistanceCategory = null;

      // Carry-over terms for later steps.
      for (let s = 0; s < scheduleCount; s += 1) {
        const ciCarry = ciDueToDateFen - (dues[s] ?? 0);
        if (ciCarry > (carryCi[s] ?? 0)) carryCi[s] = ciCarry;
        const version = schedules[s]?.version;
        for (let a = 0; a < assistanceCount; a += 1) {
          if (assistanceRules[a]?.version !== version) continue;
          const at = s * assistanceCount + a;
          const pairCarry = benefitToDateFen - (pairDues[at] ?? 0);
          if (pairCarry > (carry[at] ?? 0)) carry[at] = pairCarry;
        }
      }
    }

    results[index] = {
      id: settlement.id,
      settledAt: date,
      medicalType: settlement.medicalType,
      cancelled: false,
      totalFen: settlement.totalFen,
      basicPaidFen: settlement.basicPaidFen,
      eligibleFen,
      criticalIllnessFen,
      assistanceFen,
      selfPayFen: settlement.totalFen - settlement.basicPaidFen - criticalIllnessFen - assistanceFen,
      inScopeSelfPayFen: inScopeFen - criticalIllnessFen - assistanceFen,
      criticalIllnessCategory,
      assistanceCategory,
    };
  }

  const totals = {
    totalFen: 0,
    basicPaidFen: 0,
    eligibleFen: 0,
    criticalIllnessFen: 0,
    assistanceFen: 0,
    selfPayFen: 0,
    inScopeSelfPayFen: 0,
  };
  const inInputOrder = settlements.map((settlement, i): SettlementResult => {
    const result = results[i] ?? cancelledResult(settlement);
    totals.totalFen += result.totalFen;
    totals.basicPaidFen += result.basicPaidFen;
    totals.eligibleFen += result.eligibleFen;
    totals.criticalIllnessFen += result.criticalIllnessFen;
    totals.assistanceFen += result.assistanceFen;
    totals.selfPayFen += result.selfPayFen;
    totals.inScopeSelfPayFen += result.inScopeSelfPayFen;
    return result;
  });
  return { policyId: policy.id, population: population.code, settlements: inInputOrder, totals: totals satisfies YearTotals };
}

/** A reversed settlement and its reversal: cancelled out, so they count for nothing at all. */
function cancelledResult(settlement: Settlement): SettlementResult {
  return {
    id: settlement.id,
    settledAt: settlement.settledAt,
    medicalType: settlement.medicalType,
    cancelled: true,
    totalFen: 0,
    basicPaidFen: 0,
    eligibleFen: 0,
    criticalIllnessFen: 0,
    assistanceFen: 0,
    selfPayFen: 0,
    inScopeSelfPayFen: 0,
    criticalIllnessCategory: null,
    assistanceCategory: null,
  };
}
