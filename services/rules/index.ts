export {
  runRules,
  defaultOpsPort,
  openRules,
  startRules,
  rebuild,
  rulesConsumerOptions,
  type RulesRuntime,
  type LiveRulesService,
} from './run-rules';
export { createRulesService, type RulesService, type RulesDependencies } from './rules-service';
export { derivePerson, type PolicyResolver, type RulesOutput, type SlotField, type EmittedSlot } from './derive';
export { filePolicyResolver } from './policy-resolver';
export { stateSlots, publishedSlots, slotDifferences, effectiveSlots, type SlotValues } from './slots';
export { engineStatuses, engineSettlements, medicalTypeOf, insuredTypeOf } from './person-facts';
export { dropAllState, stateNamespace, partitionKeys } from './state-store';
export { decodePerson, encodePerson, type PersonState } from './person-value';
export type { StoredFact, StoredSettlement, StoredStatus } from './person-facts';
export { watchScores, dayScore } from './warning-watch';
