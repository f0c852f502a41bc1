export { agencyIds, defineAgency, type AgencyId, type AgencyDefinition, type AgencyFact, type InboundTopicId } from './agency';
export { FieldReader, yuanToFen, toIsoDate, toMillis, shanghaiDate, type FieldProblem, type RawRecord } from './fields';
export { createIntake, type Intake, type IntakeItem, type IntakeOutcome, type SeenFacts, type IntakeDependencies } from './pipeline';
export { redisSeenFacts } from './seen-facts';
export { openIntake, factTopicConfig, type IntakeRuntime } from './runtime';
