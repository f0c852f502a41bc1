import type { DeliveryReceipt } from '../../schemas';
import type { Logger } from '../platform';

/**
 * Collects the hub's own delivery receipts and publishes them in batches: one Kafka send per
 * delivered warning held the delivery worker to the producer's round trips. A batch is sent when
 * it reaches `maxRecords` or `lingerMs` after its first receipt; `flush` sends what is left.
 */
export function receiptBatcher(
  publish: (receipts: readonly DeliveryReceipt[]) => Promise<void>,
  logger: Logger,
  options: { maxRecords?: number; lingerMs?: number } = {},
) {
  const maxRecords = options.maxRecords ?? 500;
  // Short: a delivery job waits for its receipt, so the linger is added to every delivery's time.
  const lingerMs = options.lingerMs ?? 10;
  let pending: { receipt: DeliveryReceipt; done: () => void; failed: (e: unknown) => void }[] = [];
  let timer: NodeJS.Timeout | undefined;
  const send = (): Promise<void> => {
    if (timer !== undefined) {
      clearTimeout(timer);
      timer = undefined;
    }
    const batch = pending;
    pending = [];
    if (batch.length === 0) return Promise.resolve();
    return publish(batch.map((p) => p.receipt)).then(
      () => {
        for (const p of batch) p.done();
      },
      (error: unknown) => {
        logger.error({ err: error, receipts: batch.length }, 'cannot publish delivery receipts');
        for (const p of batch) p.failed(error);
      },
    );
  };
  return {
    /** Resolves once the receipt is on its topic. */
    add(receipt: DeliveryReceipt): Promise<void> {
      return new Promise<void>((resolve, reject) => {
        pending.push({ receipt, done: resolve, failed: reject });
        if (pending.length >= maxRecords) void send();
        else
          timer ??= setTimeout(() => {
            void send();
          }, lingerMs);
      });
    },
    flush: send,
  };
}
