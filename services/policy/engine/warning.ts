import { monthBounds, overlaps } from './dates';
import type { WarningWindow } from './types';
import { inputError } from './input-error';
import { categories, type Agency, type Category, type PersonYearFacts, type Policy, type SelfPayBasis, type YearResult } from './types';

export type WarningReason = 'ALWAYS_REPORTED_CATEGORY' | 'SELF_PAY_OVER_THRESHOLD';

/** The warning rule's verdict on one person for one period (004 四(二)). */
export interface WarningVerdict {
  readonly policyId: string;
  /** `2022-Q2`, or `2022-05` for a monthly cadence. */
  readonly period: string;
  /** First and last day (inclusive) of the window the self-pay is summed over. */
  readonly windowFrom: string;
  readonly windowTo: string;
  readonly warn: boolean;
  readonly reasons: readonly WarningReason[];
  /** Categories the person held at any time in the period, in vocabulary order. */
  readonly categories: readonly Category[];
  readonly basis: SelfPayBasis;
  readonly selfPayFen: number;
  readonly thresholdFen: number;
  readonly medfeeFen: number;
  readonly basicFen: number;
  readonly criticalIllnessFen: number;
  readonly assistanceFen: number;
  /** The agencies that must follow up; empty when there is no warning. */
  readonly routedTo: readonly Agency[];
}

function periodBounds(policy: Policy, period: string): { readonly first: string; readonly last: string } {
  if (policy.warning.cadence === 'QUARTERLY') {
    const match = /^(\d{4})-Q([1-4])$/.exec(period);
    if (match === null) throw inputError('period', `"${period}" is not a quarter such as 2022-Q2 (policy ${policy.id} warns quarterly)`);
    const year = Number(match[1]);
    const quarter = Number(match[2]);
    return { first: monthBounds(year, quarter * 3 - 2).first, last: monthBounds(year, quarter * 3).last };
  }
  const match = /^(\d{4})-(0[1-9]|1[0-2])$/.exec(period);
  if (match === null) throw inputError('period', `"${period}" is not a month such as 2022-05 (policy ${policy.id} warns monthly)`);
  return monthBounds(Number(match[1]), Number(match[2]));
}

/** The first day of the window ending on `last` (a month's last day), for windows that do not start with the year or the period. */
function windowStart(window: WarningWindow, yearStart: string, periodFirst: string, last: string): string {
  if (window === 'YEAR_TO_DATE') return yearStart;
  if (window === 'PERIOD') return periodFirst > yearStart ? periodFirst : yearStart;
  // 12 months ending with the period's last month: from the first day of the month after it, a year earlier.
  const year = Number(last.slice(0, 4));
  const month = Number(last.slice(5, 7));
  return month === 12 ? `${year}-01-01` : monthBounds(year - 1, month + 1).first;
}

/**
 * Applies the policy's warning rule for one period to a computed year: the self-pay after the
 * three tiers, summed on the policy's basis over the policy's window (the year to the end of the
 * period, the period alone, or the 12 months to its end), against the threshold ("超过" — strictly
 * above); persons in an always-reported category are reported whatever they paid. Routed to the
 * agencies whose categories the person held in the period, or to the policy's agencies for
 * uncategorised persons (a policy with no routing sends every warning to those agencies).
 *
 * A rolling window reaching back before the benefit year counts the previous year's settlements
 * from `previousYear`, the person's computed previous year, when given.
 *
 * @throws HubError INPUT_INVALID when the period is malformed or outside the benefit year.
 */
export function warningVerdict(
  policy: Policy,
  facts: Pick<PersonYearFacts, 'statuses'>,
  year: YearResult,
  period: string,
  previousYear?: YearResult,
): WarningVerdict {
  const rule = policy.warning;
  const bounds = periodBounds(policy, period);
  if (bounds.last < policy.benefitYear.start || bounds.first > policy.benefitYear.end) {
    throw inputError('period', `"${period}" is outside the benefit year of policy ${policy.id}`);
  }
  const windowTo = bounds.last < policy.benefitYear.end ? bounds.last : policy.benefitYear.end;
  const windowFrom = windowStart(rule.window, policy.benefitYear.start, bounds.first, bounds.last);

  let medfeeFen = 0;
  let basicFen = 0;
  let criticalIllnessFen = 0;
  let assistanceFen = 0;
  let selfPayFen = 0;
  for (const settlement of [...(previousYear?.settlements ?? []), ...year.settlements]) {
    if (settlement.cancelled || settlement.settledAt > windowTo || settlement.settledAt < windowFrom) continue;
    medfeeFen += settlement.totalFen;
    basicFen += settlement.basicPaidFen;
    criticalIllnessFen += settlement.criticalIllnessFen;
    assistanceFen += settlement.assistanceFen;
    selfPayFen += rule.basis === 'TOTAL' ? settlement.selfPayFen : settlement.inScopeSelfPayFen;
  }

  const periodFirst = bounds.first > policy.benefitYear.start ? bounds.first : policy.benefitYear.start;
  const heldSet = new Set<Category>();
  for (const status of facts.statuses) {
    if (overlaps(status.from, status.to, periodFirst, windowTo)) heldSet.add(status.category);
  }
  const held = categories.filter((category) => heldSet.has(category));

  const reasons: WarningReason[] = [];
  if (held.some((category) => rule.alwaysReported.includes(category))) reasons.push('ALWAYS_REPORTED_CATEGORY');
  if (selfPayFen > rule.thresholdFen) reasons.push('SELF_PAY_OVER_THRESHOLD');
  const warn = reasons.length > 0;

  let routedTo: readonly Agency[] = [];
  if (warn) {
    const agencies = rule.routing.filter(([, routed]) => routed.some((category) => heldSet.has(category))).map(([agency]) => agency);
    routedTo = agencies.length > 0 ? agencies : rule.uncategorised;
  }
  return {
    policyId: policy.id,
    period,
    windowFrom,
    windowTo,
    warn,
    reasons,
    categories: held,
    basis: rule.basis,
    selfPayFen,
    thresholdFen: rule.thresholdFen,
    medfeeFen,
    basicFen,
    criticalIllnessFen,
    assistanceFen,
    routedTo,
  };
}
