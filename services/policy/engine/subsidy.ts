import { isRealDate, holdsOn } from './dates';
import { inputError } from './input-error';
import { applyRatio } from './money';
import { MAX_AMOUNT_FEN } from './check-facts';
import type { Category, Contribution, PersonYearFacts, Policy, SubsidyEntitlement } from './types';

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
    case 'FULL': return dueFen;
    case 'RATIO': return applyRatio(dueFen, entitlement.ratioBp); // rounded half up to the fen
    case 'FIXED': return Math.min(entitlement.amountFen, dueFen);
    case 'NONE': return 0;
  }
}

function checkContribution(policy: Policy, contribution: Contribution, i: number): void {
  const at = `contributions[${i}]`;
  if (contribution.id === '') throw inputError(`${at}.id`, 'must not be empty');
  const year = Number(policy.benefitYear.start.slice(0, 4));
  if (contribution.insuranceYear !== year) throw inputError(`${at}.insuranceYear`, `${contribution.insuranceYear} is not the insurance year of policy ${policy.id} (${year})`);
  if (!isRealDate(contribution.paidAt)) throw inputError(`${at}.paidAt`, `"${contribution.paidAt}" is not a real date`);
  for (const field of ['contributionDueFen', 'subsidisedFen'] as const) {
    const value = contribution[field];
    if (!Number.isSafeInteger(value) || value < 0 || value > MAX_AMOUNT_FEN) throw inputError(`${at}.${field}`, `${value} is not a whole, non-negative number of fen`);
  }
}

/**
 * The participation subsidy each contribution record entitles the person to, under the most
 * favourable category the person holds on the payment date (ties: the rule listed first), for
 * the contribution's insured type; compared with what the record says was subsidised.
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
    for (const rule of policy.subsidyRules) {
      if (!rule.insuredTypes.includes(contribution.insuredType)) continue;
      for (const status of facts.statuses) {
        if (!rule.categories.includes(status.category) || !holdsOn(status.from, status.to, contribution.paidAt)) continue;
        const amount = entitledFen(rule.entitlement, contribution.contributionDueFen);
        if (category === null || amount > entitled) {
          category = status.category;
          entitled = amount;
        }
      }
    }
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
  return { policyId: policy.id, contributions: results, totals: { entitledSubsidyFen: entitledTotal, receivedSubsidyFen: receivedTotal, deltaFen: entitledTotal - receivedTotal } };
}
