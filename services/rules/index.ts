// The light face of rules: the rules service's pure core (derivation, slots, stored facts, state
// encoding). The running role (Kafka, Redis, worker threads) is in ./runtime.
export { createRulesService, type RulesService, type RulesDependencies } from './rules-service';
export { derivePerson, type PolicyResolver, type RulesOutput, type SlotField, type EmittedSlot } from './core/derive';
export { filePolicyResolver } from './policy-resolver';
export { stateSlots, publishedSlots, slotDifferences, effectiveSlots, type SlotValues } from './slots';
export { engineStatuses, engineSettlements, medicalTypeOf, insuredTypeOf } from './core/person-facts';
export { dropAllState, redisStateStore, stateNamespace, partitionKeys, layoutKey, stateLayout } from './state-store';
export type { StateStore, PartitionState } from './state';
export { decodePerson, encodePerson, type PersonState } from './person-value';
export type { StoredFact, StoredSettlement, StoredStatus } from './core/person-facts';
export { watchScores, dayScore, settlementsByPolicy } from './core';
