import type { Queue, Worker } from 'bullmq';
import { deliveryWorker, enqueueDeliveries, type DeliveryJobData } from '../../connectors/agency-delivery/runtime';
import type { HubConsumer } from '../kafka';
import type { Logger } from '../platform';
import { startImmediateAlerts } from './immediate';
import { receiptBatcher } from './receipt-batcher';
import { registerSchedulers, runQueue, runWorker, type RunJobData } from './scheduler';
import { openDeliveryQueue, type WarningsRuntime } from './runtime';

/**
 * The long-running part of `hub warnings`, on one runtime: the id directory's consumer, the run
 * schedulers and their worker, the feed from `warnings.quarterly` into the delivery queue (its own
 * consumer group, so corrections made by `hub warnings run` elsewhere are delivered too) and the
 * delivery worker. Any number of instances may run: BullMQ gives each job to one of them.
 */
export interface RunningWarnings {
  readonly runs: Queue<RunJobData>;
  readonly deliveries: Queue<DeliveryJobData>;
  readonly schedulers: { policyId: string; pattern: string }[];
  stop(): Promise<void>;
}

export async function startWarningsService(
  runtime: WarningsRuntime,
  logger: Logger,
  options: { now?: () => number } = {},
): Promise<RunningWarnings> {
  await Promise.all([runtime.directory.start(), runtime.startWorkers()]);
  const runs = runQueue(runtime);
  const deliveries = openDeliveryQueue(runtime);
  const schedulers = await registerSchedulers(runtime, runs);
  const workers: Worker[] = [runWorker(runtime, logger, options.now)];
  const receipts = receiptBatcher((batch) => runtime.publishReceipts(batch), logger);
  workers.push(
    deliveryWorker({
      settings: runtime.delivery,
      endpoints: runtime.endpoints,
      idEncryptionKey: runtime.config.idEncryptionKey,
      logger,
      onReceipt: (receipt) => receipts.add(receipt),
    }),
  );
  const feed: HubConsumer = runtime.kafka.createConsumer({
    groupId: `${runtime.config.topicPrefix}hub-warnings-delivery`,
    topics: [runtime.warningsCodec.topic],
    fromBeginning: true,
    handleBatch: async (records) => {
      const warnings = await Promise.all(
        records.filter((r) => r.value !== null).map((r) => runtime.warningsCodec.decode(r.value ?? Buffer.alloc(0))),
      );
      const count = await enqueueDeliveries(deliveries, runtime.delivery, runtime.endpoints, warnings);
      if (count > 0) logger.debug({ count }, 'deliveries enqueued');
    },
  });
  await feed.start();
  const immediate = await startImmediateAlerts(runtime, logger);
  logger.info({ schedulers }, 'warnings service running');
  return {
    runs,
    deliveries,
    schedulers,
    async stop() {
      await feed.stop();
      await immediate?.stop();
      await Promise.all(workers.map((w) => w.close()));
      await receipts.flush();
      await runs.close();
      await deliveries.close();
    },
  };
}
