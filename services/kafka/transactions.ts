import type { ProduceRequest } from './records';

/** The part of a kafkajs transaction the hub uses (a fake in the unit tests). */
export interface TransactionPort {
  sendBatch(batch: { acks: number; topicMessages: ProduceRequest }): Promise<unknown>;
  sendOffsets(offsets: {
    consumerGroupId: string;
    topics: { topic: string; partitions: { partition: number; offset: string }[] }[];
  }): Promise<void>;
  commit(): Promise<void>;
  abort(): Promise<void>;
}

/** The part of a kafkajs transactional producer the hub uses. */
export interface TransactionalProducerPort {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  transaction(): Promise<TransactionPort>;
}

/** Most attempts of a transaction step the broker keeps answering CONCURRENT_TRANSACTIONS. */
export const concurrentTransactionAttempts = 50;

/**
 * Runs a transaction step again while the broker answers CONCURRENT_TRANSACTIONS, which it does
 * routinely while the previous transaction's markers are still being written. kafkajs retries this
 * for produce requests but not for AddOffsetsToTxn (kafkajs issue #430), so the hub does.
 */
export async function retryConcurrentTransactions<T>(step: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await step();
    } catch (error) {
      const type = (error as { type?: unknown }).type;
      if (type !== 'CONCURRENT_TRANSACTIONS' || attempt >= concurrentTransactionAttempts) throw error;
      await new Promise((resolve) => setTimeout(resolve, Math.min(20 * attempt, 200)));
    }
  }
}

/** Runs `steps` in one transaction of `producer` and commits it; aborts it when a step or the commit fails. */
export async function inTransaction(
  producer: TransactionalProducerPort,
  steps: (transaction: TransactionPort) => Promise<void>,
): Promise<void> {
  const transaction = await producer.transaction();
  try {
    await steps(transaction);
    await retryConcurrentTransactions(() => transaction.commit());
  } catch (error) {
    await transaction.abort().catch(() => undefined);
    throw error;
  }
}

/** Sends produce requests in a transaction, each retried while the broker is still writing the previous markers. */
export async function sendInTransaction(transaction: TransactionPort, requests: readonly ProduceRequest[]): Promise<void> {
  for (const topicMessages of requests) await retryConcurrentTransactions(() => transaction.sendBatch({ acks: -1, topicMessages }));
}
