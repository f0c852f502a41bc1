import { listPolicies, loadPolicy, type Policy } from '../policy';
import type { PolicyResolver } from './core/derive';

/**
 * Finds the policy for a division code and a date among the policy files: the one whose divisions
 * contain the code (by prefix: "3303" covers 330302) and whose benefit year contains the date.
 * The longest matching prefix wins, so a county can have its own policy inside a city's.
 */
export function filePolicyResolver(policies: readonly Policy[] = listPolicies().map(loadPolicy)): PolicyResolver {
  const cache = new Map<string, Policy | undefined>();
  return {
    policyFor(admdvs, date) {
      const cacheKey = `${admdvs}@${date}`;
      if (cache.has(cacheKey)) return cache.get(cacheKey);
      let best: { policy: Policy; length: number } | undefined;
      for (const policy of policies) {
        if (date < policy.benefitYear.start || date > policy.benefitYear.end) continue;
        for (const prefix of policy.divisions) {
          if (admdvs.startsWith(prefix) && (best === undefined || prefix.length > best.length)) best = { policy, length: prefix.length };
        }
      }
      cache.set(cacheKey, best?.policy);
      return best?.policy;
    },
  };
}
