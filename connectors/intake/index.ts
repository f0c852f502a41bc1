export { agencyIds, defineAgency, type AgencyId, type AgencyDefinition, type AgencyFact, type InboundTopicId } from './agency';
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
export { openIntake, type IntakeRuntime } from './runtime';
export { outOfScope, type KeyScope } from './key-scope';
export {
  importFile,
  importedBefore,
  describeSummary,
  maskIdNumber,
  defaultReportPath,
  type ImportSummary,
  type ImportFileOptions,
} from './file-import';
export {
  detectEncoding,
  readFileRows,
  formatOfFileName,
  type FileFormat,
  type EncodingChoice,
  type TextEncoding,
  type FileRow,
} from './file-formats';
export {
  loadFileMapping,
  parseFileMapping,
  fieldCatalogue,
  resolveHeader,
  rowToRaw,
  type FileMapping,
  type FieldCatalogue,
} from './file-mapping';
export { importCommand, exitRowsRejected } from './import-command';
export { defaultConnectorHeapMb, heapCapCommand, heapCapped } from './heap-cap';
