// The heavy face of the demo: `hub demo`, the stand-in agencies' HTTP servers and the push client.
export { runDemo } from './run-demo';
export {
  startStandInAgency,
  verifiedAsReadmeSays,
  type StandInAgency,
  type StandInDelivery,
  type StandInWarning,
  type ReceiptPolicy,
} from './stand-in-agency';
export { pushFile, type PushSummary } from './push-client';
