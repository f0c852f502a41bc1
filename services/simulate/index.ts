export {
  simulateRegion,
  describeSimulation,
  feedAgencies,
  type SimulationOptions,
  type SimulationSummary,
  type FeedSummary,
  type FeedAgency,
} from './simulate-region';
export { regions, regionOf, type Region } from './regions';
export { nationalIdNumber } from './people';
export { Random } from './random';
export { residentContributionFen } from './contributions';
export { XlsxSheetWriter, xlsxWorkbook, type XlsxCell } from './xlsx-writer';
export { runSimulate } from './simulate-command';
