import type { Policy } from '../../policy';
import type { PolicyResolver } from './derive';
import type { StoredSettlement } from './person-facts';

/** The fields that place a settlement under a policy. */
type Placed = Pick<StoredSettlement, 'key' | 'reversesKey' | 'admdvs' | 'settledAt'>;

/**
 * A person's settlements grouped by the policy (region and benefit year) they fall under, by policy
 * id, each group in the settlements' order: the policy of the settlement's original, by its division
 * and date, so that a reversal belongs to its original's year even when it is settled in the next
 * one. A reversal whose original is not among them waits and is left out; a settlement whose
 * original no policy covers goes to `unplaced`. The rules fold, the warning watch and the warning
 * run place settlements with this one rule.
 */
export function settlementsByPolicy<S extends Placed>(
  settlements: readonly S[],
  policies: PolicyResolver,
  unplaced?: (settlement: S, anchor: S) => void,
): Map<string, { readonly policy: Policy; readonly settlements: S[] }> {
  const originals = new Map<string, S>();
  for (const s of settlements) if (s.reversesKey === null) originals.set(s.key, s);
  const groups = new Map<string, { readonly policy: Policy; readonly settlements: S[] }>();
  for (const settlement of settlements) {
    const anchor = settlement.reversesKey === null ? settlement : originals.get(settlement.reversesKey);
    if (anchor === undefined) continue; // waits for its original
    const policy = policies.policyFor(anchor.admdvs, anchor.settledAt);
    if (policy === undefined) {
      unplaced?.(settlement, anchor);
      continue;
    }
    const group = groups.get(policy.id);
    if (group === undefined) groups.set(policy.id, { policy, settlements: [settlement] });
    else group.settlements.push(settlement);
  }
  return groups;
}
