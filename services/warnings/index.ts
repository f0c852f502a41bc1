/**
 * The quarterly warnings service (004 四(二)): per region and period, the warning run over the
 * rules state, its BullMQ schedule, and (with connectors/agency-delivery) delivery to civil
 * affairs and rural revitalization by signed webhook or export file, with receipts.
 */
export { runWarningsCommand, describe as describeRun, table as runTable } from './warnings-command';
export { openWarnings, warningsNamespace, bullPrefix, type WarningsRuntime } from './runtime';
export { startWarningsService, type RunningWarnings } from './service';
export { runWarnings, runKeys, type RunSummary } from './warning-run';
export { cannotBeWarned, type RunRow, type WarningIndexEntry } from './warning-page';
export { registerSchedulers, runDue, runQueue, runWorker, schedulerId, runQueueName } from './scheduler';
export { periodBounds, periodOf, duePeriods, dueAt, schedulePattern, addDays, type PeriodBounds, type Cadence } from './periods';
export { createIdDirectory, type IdDirectory } from './id-directory';
