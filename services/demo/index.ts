// The light face of the demo: the figures its summary prints and the stand-ins' types. The demo
// itself (the whole stack), the stand-in agencies (node:http) and the push client are in ./runtime.
export { storyFigures, latestWarnings, type StoryFigures, type AgencyFigures } from './figures';
export type { StandInAgency, StandInDelivery, StandInWarning, ReceiptPolicy } from './stand-in-agency';
export type { PushSummary } from './push-client';
