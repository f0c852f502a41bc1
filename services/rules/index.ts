// The light face of rules: the rules service's pure core (derivation, slots, stored facts, state
// encoding). The running role (Kafka, Redis, worker threads) is in ./runtime.
export { createRulesService, type RulesService, type RulesDependencies } from './rules-service';
export { derivePerson, type PolicyResolver, type RulesOutput, type SlotField, type EmittedSlot } from './derive';
export { filePolicyResolver } from './policy-resolver';
export { stateSlots, publishedSlots, slotDifferences, effectiveSlots, type SlotValues } from './slots';
export { engineStatuses, engineSettlements, medicalTypeOf, insuredTypeOf } from './person-facts';
export { dropAllState, stateNamespace } from './state-store';
export { decodePerson, encodePerson, type PersonState } from './person-value';
export type { StoredFact, StoredSettlement, StoredStatus } from './person-facts';
