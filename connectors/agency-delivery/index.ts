/**
 * Delivery of warnings to the agencies (民政, 乡村振兴): signed webhooks as BullMQ jobs, export
 * files (XLSX, CSV UTF-8 with BOM or GBK), and the receipts route of their connectors.
 *
 * The light face: signatures, the agencies' endpoints and their view of a warning. Webhooks
 * (BullMQ, node:http), export files (ExcelJS) and the receipts route are in ./runtime.
 */
export { sign, verify, signatureHeader, timestampHeader, deliveryIdHeader, defaultSkewSeconds } from './signature';
export { agencyEndpoints, agencyConnector, agencyOfConnector, type AgencyEndpoint } from './agencies';
export { agencyView, type AgencyWarning } from './agency-view';
