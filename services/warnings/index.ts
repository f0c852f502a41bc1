/**
 * The quarterly warnings service (004 四(二)): per region and period, the warning run over the
 * rules state, its BullMQ schedule, and (with connectors/agency-delivery) delivery to civil
 * affairs and rural revitalization by signed webhook or export file, with receipts.
 *
 * The light face: the warning run, periods and the id directory. What connects (Redis, BullMQ, the
 * service, the command) is in ./runtime.
 */
export type { WarningsRuntime } from './runtime';
export { runWarnings, runKeys, type RunSummary } from './warning-run';
export { cannotBeWarned, type RunRow, type WarningIndexEntry } from './warning-page';
export { periodBounds, periodOf, duePeriods, dueAt, schedulePattern, addDays, type PeriodBounds, type Cadence } from './periods';
export { createIdDirectory, type IdDirectory } from './id-directory';
