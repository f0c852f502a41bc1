import { checkFacts } from './check-facts';
import { holdsOn } from './dates';
import { applyRatio, applySegments } from './money';
import type {
  AssistanceRule, Category, CriticalIllnessSchedule, PersonYearFacts, Policy, Settlement, SettlementResult, Status, YearResult, YearTotals,
} from './types';

/** Cumulative critical-illness due (大病保险 年度累计应付) on a cumulative eligible amount. */
export function criticalIllnessDue(schedule: CriticalIllnessSchedule, cumulativeEligibleFen: number): number {
  const counted = schedule.eligibleCeilingFen !== null && cumulativeEligibleFen > schedule.eligibleCeilingFen
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

/** A status the policy gives a rule to, paired with that rule, in the policy's listing order. */
interface HeldRule<R> {
  readonly category: Category;
  readonly from: string;
  readonly to: string | null;
  readonly rule: R;
}

function heldRules<R>(statuses: readonly Status[], rules: ReadonlyArray<readonly [Category, R]>): Array<HeldRule<R>> {
  const held: Array<HeldRule<R>> = [];
  for (const [category, rule] of rules) {
    for (const status of statuses) {
      if (status.category === category) held.push({ category, from: status.from, to: status.to, rule });
    }
  }
  return held;
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

/**
 * Computes one person's benefit year: what critical-illness insurance and medical assistance pay
 * for each settlement, and what the person is left to pay. Pure: the same facts always give the
 * same result, inputs are not modified, and a change to any fact is handled by calling it again.
 *
 * - Settlements are taken in time order (settledAt, then id). A reversal and the settlement it
 *   reverses both pay and count nothing.
 * - Each settlement pays the cumulative due minus what was already paid, never negative. The due
 *   applies the most favourable rule in effect on the settlement's date: the standard schedule or
 *   the tilt of any category the person holds that day, whichever gives more (ties go to the
 *   category listed first). A category starting mid-year therefore catches up at its first
 *   settlement, which can pay more than that settlement's own eligible amount.
 * - Assistance (先保险后救助) works the same way on the in-scope self-pay left after basic and
 *   critical-illness insurance.
 * - Neither fund ever pays, in total, more than the person's cumulative in-scope self-pay; this
 *   only binds when categories change mid-year in a way that makes a later catch-up overlap an
 *   earlier assistance payment.
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

  const ciCategories = heldRules(facts.statuses, population.criticalIllness.byCategory);
  const assistanceCategories = heldRules(facts.statuses, population.assistanceByCategory);
  const ciTypes = policy.criticalIllnessMedicalTypes;
  const assistanceTypes = policy.assistanceMedicalTypes;
  const base = population.criticalIllness.base;

  const results: Array<SettlementResult | undefined> = new Array<SettlementResult | undefined>(settlements.length);
  let cumulativeEligibleFen = 0; // counted for critical illness
  let cumulativeInScopeFen = 0; // policy scope − basic, every settlement
  let cumulativeAssistanceBaseFen = 0; // policy scope − basic, settlements assistance counts
  let criticalIllnessPaidFen = 0;
  let criticalIllnessPaidOnAssistanceTypesFen = 0;
  let assistancePaidFen = 0;

  for (const index of order) {
    const settlement = settlements[index];
    if (settlement === undefined) continue;
    const date = settlement.settledAt;
    const inScopeFen = settlement.policyScopeFen - settlement.basicPaidFen;
    cumulativeInScopeFen += inScopeFen;

    let eligibleFen = 0;
    let criticalIllnessFen = 0;
    let criticalIllnessCategory: Category | null = null;
    if (ciTypes.has(settlement.medicalType)) {
      eligibleFen = inScopeFen;
      cumulativeEligibleFen += eligibleFen;
      let dueFen = criticalIllnessDue(base, cumulativeEligibleFen);
      for (const held of ciCategories) {
        if (!holdsOn(held.from, held.to, date)) continue;
        const tiltedFen = criticalIllnessDue(held.rule, cumulativeEligibleFen);
        if (tiltedFen > dueFen || (criticalIllnessCategory === null && tiltedFen === dueFen)) {
          dueFen = tiltedFen;
          criticalIllnessCategory = held.category;
        }
      }
      const headroomFen = cumulativeInScopeFen - criticalIllnessPaidFen - assistancePaidFen;
      criticalIllnessFen = Math.max(0, Math.min(dueFen - criticalIllnessPaidFen, headroomFen));
      criticalIllnessPaidFen += criticalIllnessFen;
    }

    let assistanceFen = 0;
    let assistanceCategory: Category | null = null;
    if (assistanceTypes.has(settlement.medicalType)) {
      cumulativeAssistanceBaseFen += inScopeFen;
      criticalIllnessPaidOnAssistanceTypesFen += criticalIllnessFen;
      const remainingFen = cumulativeAssistanceBaseFen - criticalIllnessPaidOnAssistanceTypesFen;
      let dueFen = 0;
      for (const held of assistanceCategories) {
        if (!holdsOn(held.from, held.to, date)) continue;
        const heldDueFen = assistanceDue(held.rule, remainingFen);
        if (assistanceCategory === null || heldDueFen > dueFen) {
          dueFen = heldDueFen;
          assistanceCategory = held.category;
        }
      }
      if (assistanceCategory !== null) {
        const headroomFen = cumulativeInScopeFen - criticalIllnessPaidFen - assistancePaidFen;
        assistanceFen = Math.max(0, Math.min(dueFen - assistancePaidFen, headroomFen));
        assistancePaidFen += assistanceFen;
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

  const totals = { totalFen: 0, basicPaidFen: 0, eligibleFen: 0, criticalIllnessFen: 0, assistanceFen: 0, selfPayFen: 0, inScopeSelfPayFen: 0 };
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
