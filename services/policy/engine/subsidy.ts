import { isRealDate, holdsOn } from './dates';
import { inputError } from './input-error';
import { applyRatio } from './money';
import { MAX_AMOUNT_FEN } from './check-facts';
import type { Category, Contribution, PersonYearFacts, Policy, SubsidyEntitlement, SubsidyRule } from './types';

/** What one contribution record should have been subsidised (资助参保), against what it was. */
export interface ContributionSubsidy {
  readonly id: string;
  readonly insuranceYear: number;
  /** The category whose rule entitles the person; null when none applies. */
  readonly category: Category | null;
  readonly entitledSubsidyFen: number;
  readonly receivedSubsidyFen: number;
  /** entitled − received: positive when under-subsidised. */
  readonly deltaFen: number;
  readonly kind: 'UNDER_SUBSIDISED' | 'OVER_SUBSIDISED' | null;
}

export interface SubsidyResult {
  readonly policyId: string;
  readonly contributions: readonly ContributionSubsidy[];
  readonly totals: { readonly entitledSubsidyFen: number; readonly receivedSubsidyFen: number; readonly deltaFen: number };
}

function entitledFen(entitlement: SubsidyEntitlement, dueFen: number): number {
  switch (entitlement.kind) {
    case 'FULL':
      return dueFen;
    case 'RATIO':
      return applyRatio(dueFen, entitlement.ratioBp); // rounded half up to the fen
    case 'FIXED':
      return Math.min(entitlement.amountFen, dueFen);
    case 'NONE':
      return 0;
  }
}

/** Why a contribution record cannot be computed with; undefined when it can. */
function contributionProblem(policy: Policy, contribution: Contribution): { field: string; reason: string } | undefined {
  if (contribution.id === '') return { field: 'id', reason: 'must not be empty' };
  const year = Number(policy.benefitYear.start.slice(0, 4));
  if (contribution.insuranceYear !== year)
    return { field: 'insuranceYear', reason: `${contribution.insuranceYear} is not the insurance year of policy ${policy.id} (${year})` };
  if (!isRealDate(contribution.paidAt)) return { field: 'paidAt', reason: `"${contribution.paidAt}" is not a real date` };
  for (const field of ['contributionDueFen', 'subsidisedFen'] as const) {
    const value = contribution[field];
    if (!Number.isSafeInteger(value) || value < 0 || value > MAX_AMOUNT_FEN)
      return { field, reason: `${value} is not a whole, non-negative number of fen` };
  }
  return undefined;
}

function checkContribution(policy: Policy, contribution: Contribution, i: number): void {
  const problem = contributionProblem(policy, contribution);
  if (problem !== undefined) throw inputError(`contributions[${i}].${problem.field}`, problem.reason);
}

/**
 * Splits contribution records into those `computeSubsidy` computes with and those it would refuse,
 * so that one bad record does not stop the others' subsidies.
 */
export function screenContributions(
  policy: Policy,
  contributions: readonly Contribution[],
): {
  readonly contributions: Contribution[];
  readonly refused: { readonly index: number; readonly id: string; readonly field: string; readonly reason: string }[];
} {
  const kept: Contribution[] = [];
  const refused: { index: number; id: string; field: string; reason: string }[] = [];
  contributions.forEach((contribution, index) => {
    const problem = contributionProblem(policy, contribution);
    if (problem === undefined) kept.push(contribution);
    else refused.push({ index, id: contribution.id, ...problem });
  });
  return { contributions: kept, refused };
}

/** The subsidies a rule accepts as right for a contribution: its range, or the entitlement alone. */
function acceptedFen(rule: SubsidyRule, entitledFen: number, dueFen: number): { readonly low: number; readonly high: number } {
  if (rule.accepted === null) return { low: entitledFen, high: entitledFen };
  if (rule.entitlement.kind === 'RATIO')
    return { low: applyRatio(dueFen, rule.accepted.min), high: applyRatio(dueFen, Math.min(rule.accepted.max, 10_000)) };
  return { low: Math.min(rule.accepted.min, dueFen), high: Math.min(rule.accepted.max, dueFen) };
}

/**
 * The participation subsidy each contribution record entitles the person to, under the most
 * favourable category the person holds on the payment date (ties: the rule listed first), for
 * the contribution's insured type; compared with what the record says was subsidised. A subsidy
 * anywhere inside the range the seed allows (004: 80%—90% for 低保) is right: the entitlement is
 * then what was received; outside it, the entitlement is the region's figure.
 *
 * @throws HubError INPUT_INVALID naming the offending field.
 */
export function computeSubsidy(policy: Policy, facts: Pick<PersonYearFacts, 'statuses' | 'contributions'>): SubsidyResult {
  const contributions = facts.contributions ?? [];
  let entitledTotal = 0;
  let receivedTotal = 0;
  const results = contributions.map((contribution, i): ContributionSubsidy => {
    checkContribution(policy, contribution, i);
    let category: Category | null = null;
    let entitled = 0;
    let accepted = { low: 0, high: 0 };
    for (const rule of policy.subsidyRules) {
      if (!rule.insuredTypes.includes(contribution.insuredType)) continue;
      for (const status of facts.statuses) {
        if (!rule.categories.includes(status.category) || !holdsOn(status.from, status.to, contribution.paidAt)) continue;
        const amount = entitledFen(rule.entitlement, contribution.contributionDueFen);
        if (category === null || amount > entitled) {
          category = status.category;
          entitled = amount;
          accepted = acceptedFen(rule, amount, contribution.contributionDueFen);
        }
      }
    }
    if (contribution.subsidisedFen >= accepted.low && contribution.subsidisedFen <= accepted.high) entitled = contribution.subsidisedFen;
    const deltaFen = entitled - contribution.subsidisedFen;
    entitledTotal += entitled;
    receivedTotal += contribution.subsidisedFen;
    return {
      id: contribution.id,
      insuranceYear: contribution.insuranceYear,
      category,
      entitledSubsidyFen: entitled,
      receivedSubsidyFen: contribution.subsidisedFen,
      deltaFen,
      kind: deltaFen > 0 ? 'UNDER_SUBSIDISED' : deltaFen < 0 ? 'OVER_SUBSIDISED' : null,
    };
  });
  return {
    policyId: policy.id,
    contributions: results,
    totals: { entitledSubsidyFen: entitledTotal, receivedSubsidyFen: receivedTotal, deltaFen: entitledTotal - receivedTotal },
  };
}
