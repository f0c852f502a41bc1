// The light face of the intake: agency definitions, field readers, the pipeline, the stores'
// contracts and file mappings; light enough for the agencies and the prepare worker threads. What
// connects (Redis, Kafka, the registry), reads files (ExcelJS) or spawns processes is in ./runtime.
export { agencyIds, defineAgency, type AgencyId, type AgencyDefinition, type AgencyFact, type InboundTopicId } from './agency';
export { readStatusFields } from './status-agency';
export { FieldReader, yuanToFen, toIsoDate, toMillis, shanghaiDate, type FieldProblem, type RawRecord } from './fields';
export {
  createIntake,
  defaultMaxWaitingBatches,
  type Intake,
  type IntakeBatch,
  type IntakeItem,
  type IntakeOutcome,
  type SeenFacts,
  type IntakeDependencies,
} from './pipeline';
export { redisSeenFacts } from './seen-facts';
export { redisSourceVersions, type SourceVersions, type SourceVersionAnswer, type SourceVersionClaim } from './source-versions';
export type { IntakeRuntime } from './runtime';
export { outOfScope, type KeyScope } from './key-scope';
export type { ImportSummary, ImportFileOptions } from './file-import';
export type { FileFormat, EncodingChoice, TextEncoding, FileRow } from './file-formats';
export {
  loadFileMapping,
  parseFileMapping,
  fieldCatalogue,
  resolveHeader,
  rowToRaw,
  type FileMapping,
  type FieldCatalogue,
} from './file-mapping';
