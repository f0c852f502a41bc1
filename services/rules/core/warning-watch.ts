import type { PolicyResolver } from './derive';
import { engineStatuses, type StoredFact, type StoredSettlement } from './person-facts';
import { settlementsByPolicy } from './settlement-policies';

/**
 * The warning watch: for each policy a person has settlements under, the first day from which a
 * warning run of that policy could warn the person, kept by the rules service beside the person
 * (state-store.ts `watch` keys, written in the same MULTI as the person) so that a warning run reads
 * the few people it may warn instead of decoding everyone in the region.
 *
 * A run for a period ending on day D must compute a person unless, on the TOTAL basis, the person
 * holds no status and the sum of max(0, total − basic) over the settlements up to D is not above
 * the threshold: the self-pay after the three tiers is never above that sum (warning-run.ts
 * `cannotBeWarned`). The sum only grows with D, so the person is a candidate exactly from the day
 * it first exceeds the threshold: that day is the score. A status, or a basis other than TOTAL,
 * makes the person a candidate from the start (score 0); a person who never exceeds it scores
 * +inf and is kept too, so the watch also counts the people of the region-year.
 *
 * A person belongs to a policy as the warning run decides it: through the division and date of
 * each settlement's original (a reversal counts under the settlement it reverses).
 */
export const fromTheStart = 0;
export const never = Number.POSITIVE_INFINITY;

/** A date as a score: 2022-06-30 is 20220630, so that day order is score order. */
export const dayScore = (isoDate: string): number => Number(isoDate.slice(0, 4) + isoDate.slice(5, 7) + isoDate.slice(8, 10));

/** The person's watch score under each policy their settlements fall under, by policy id. */
export function watchScores(facts: Iterable<StoredFact>, policies: PolicyResolver): Map<string, number> {
  const all = [...facts];
  const settlements = all.filter((fact): fact is StoredSettlement => fact.kind === 'settlement');
  const byPolicy = settlementsByPolicy(settlements, policies);
  const scores = new Map<string, number>();
  if (byPolicy.size === 0) return scores;
  const holdsStatus = engineStatuses(all).length > 0;
  for (const [policyId, { policy, settlements: placed }] of byPolicy) {
    if (holdsStatus || policy.warning.basis !== 'TOTAL') {
      scores.set(policyId, fromTheStart);
      continue;
    }
    let ceilingFen = 0;
    let score = never;
    for (const s of placed.sort((a, b) => (a.settledAt < b.settledAt ? -1 : a.settledAt > b.settledAt ? 1 : 0))) {
      ceilingFen += Math.max(0, s.totalFen - s.basicPaidFen);
      if (ceilingFen > policy.warning.thresholdFen) {
        score = dayScore(s.settledAt);
        break;
      }
    }
    scores.set(policyId, score);
  }
  return scores;
}
