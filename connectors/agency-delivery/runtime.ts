// The heavy face of agency-delivery: webhook delivery as BullMQ jobs, export files, receipts.
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
