/**
 * Delivery of warnings to the agencies (民政, 乡村振兴): signed webhooks as BullMQ jobs, export
 * files (XLSX, CSV UTF-8 with BOM or GBK), and the receipts route of their connectors.
 */
export { sign, verify, signatureHeader, timestampHeader, deliveryIdHeader, defaultSkewSeconds } from './signature';
export { agencyEndpoints, agencyConnector, agencyOfConnector, type AgencyEndpoint } from './agencies';
export { agencyView, type AgencyWarning } from './agency-view';
export {
  deliveryQueue,
  deliveryWorker,
  enqueueDeliveries,
  retryDeadDelivery,
  type RetryOutcome,
  postWarnings,
  deliveryReceipts,
  deliveryJobId,
  deliveryQueueName,
  type DeliveryJobData,
  type DeliverySettings,
} from './webhook';
export {
  writeExportFile,
  latestForAgency,
  exportHeaders,
  exportRow,
  fenToYuan,
  type ExportFormat,
  type ExportEncoding,
} from './export-files';
export { acceptReceipts, readReceipt, registerReceiptsRoute, yuanToFen, type ReceiptInput, type ReceiptsAnswer } from './receipts';
