/**
 * The rules fold, pure (fenced in eslint.config.js like the policy engine): facts and states in,
 * outputs and new states out. No I/O, no clock, no randomness; hashes in plain TypeScript.
 */
export {
  foldBatch,
  foldPerson,
  groupBatch,
  type BatchItem,
  type FoldContext,
  type FoldOutput,
  type FoldedBatch,
  type FoldedPerson,
  type GroupedBatch,
  type PersonFact,
  type ReportedProblem,
} from './fold';
export { toFact, type DecodedFact, type InboundPosition } from './facts';
export { rulesDeadLetter, type DeadLetterFields, type RulesDeadLetter } from './dead-letters';
export {
  derivePerson,
  type Cause,
  type Derivation,
  type EmittedSlot,
  type PersonYearProblem,
  type PolicyResolver,
  type RulesOutput,
  type SlotField,
} from './derive';
export { sha256Hex } from './sha256';
export { watchScores, dayScore, fromTheStart, never } from './warning-watch';
export { settlementsByPolicy } from './settlement-policies';
