import { Redis } from 'ioredis';
import { deliveryJobId, deliveryQueue, retryDeadDelivery, type RetryOutcome } from '../../connectors/agency-delivery/runtime';
import type { AgencyCode } from '../../schemas';
import { bullPrefix } from '../warnings/runtime';

/**
 * How the desk's retry button reaches the warnings service's deliveries: the very retry of
 * `hub warnings deliveries --retry ID` (BullMQ, same Redis, same queue name and key prefix), so a
 * dead delivery retried from the desk is posted again by the warnings service's worker.
 */
export interface DeliveryRetrier {
  requestRetry(request: { warningId: string; agency: AgencyCode; requestedBy: string }): Promise<RetryOutcome>;
  close(): Promise<void>;
}

export function bullMqRetrier(redisUrl: string, topicPrefix: string): DeliveryRetrier {
  // BullMQ's own connection rules: no per-request retry limit on its connections.
  const connection = new Redis(redisUrl, { maxRetriesPerRequest: null, lazyConnect: true });
  const queue = deliveryQueue({ connection, prefix: bullPrefix(topicPrefix), attempts: 1, backoffMs: 0, timeoutMs: 0, concurrency: 1 });
  return {
    async requestRetry(request) {
      return (await retryDeadDelivery(queue, deliveryJobId(request.warningId, request.agency))).outcome;
    },
    async close() {
      await queue.close();
      connection.disconnect();
    },
  };
}
