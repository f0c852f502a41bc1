/**
 * The policy engine: pure functions from (policy, facts) to results. No I/O, no clock, no
 * randomness (a lint rule fences this folder off); the caller loads policies and facts.
 */
export { compilePolicy } from './compile-policy';
export { computeYear, criticalIllnessDue, assistanceDue } from './compute-year';
export { computeSubsidy, screenContributions, type ContributionSubsidy, type SubsidyResult } from './subsidy';
export { warningVerdict, type WarningVerdict, type WarningReason } from './warning';
export { parseFacts } from './parse-facts';
export {
  checkFacts,
  screenFacts,
  resolvePopulation,
  isCategory,
  isMedicalType,
  MAX_AMOUNT_FEN,
  TOTAL_ROUNDING_FEN,
  type RefusedFact,
  type ScreenedFacts,
} from './check-facts';
export { isRealDate } from './dates';
export { applyRatio, applySegments, BASIS_POINTS } from './money';
export type { PolicyDocument, DeductibleDocument, Cited } from './policy-document';
export * from './types';
