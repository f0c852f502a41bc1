import type { Logger } from '../../../services/platform';
import type { ProduceRequest } from '../../../services/kafka/records';
import type { TransactionPort, TransactionalProducerPort } from '../../../services/kafka/transactions';

/** A logger that keeps what it was given, by level. */
export function recordingLogger(): { logger: Logger; lines: { level: string; msg: string }[] } {
  const lines: { level: string; msg: string }[] = [];
  const at =
    (level: string) =>
    (_fields: unknown, msg?: string): void => {
      lines.push({ level, msg: msg ?? '' });
    };
  const logger = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') } as unknown as Logger;
  return { logger, lines };
}

/** What one transaction of a fake producer did. */
export interface FakeTransaction {
  readonly sent: ProduceRequest[];
  readonly offsets: { consumerGroupId: string; topics: { topic: string; partitions: { partition: number; offset: string }[] }[] }[];
  outcome: 'open' | 'committed' | 'aborted';
}

/** A transactional producer that records its transactions; `failCommit` makes the next commits fail. */
export function fakeTransactionalProducer(id = 'tx'): TransactionalProducerPort & {
  readonly id: string;
  readonly transactions: FakeTransaction[];
  connected: boolean;
  failCommit: Error[];
  /** Called in each commit before it resolves (to hold a transaction open). */
  beforeCommit: (() => Promise<void>) | undefined;
} {
  const producer = {
    id,
    transactions: [] as FakeTransaction[],
    connected: false,
    failCommit: [] as Error[],
    beforeCommit: undefined as (() => Promise<void>) | undefined,
    connect() {
      producer.connected = true;
      return Promise.resolve();
    },
    disconnect() {
      producer.connected = false;
      return Promise.resolve();
    },
    transaction(): Promise<TransactionPort> {
      const record: FakeTransaction = { sent: [], offsets: [], outcome: 'open' };
      producer.transactions.push(record);
      return Promise.resolve({
        sendBatch(batch) {
          record.sent.push(batch.topicMessages);
          return Promise.resolve([]);
        },
        sendOffsets(offsets) {
          record.offsets.push(offsets);
          return Promise.resolve();
        },
        async commit() {
          await producer.beforeCommit?.();
          const failure = producer.failCommit.shift();
          if (failure !== undefined) throw failure;
          record.outcome = 'committed';
        },
        abort() {
          record.outcome = 'aborted';
          return Promise.resolve();
        },
      });
    },
  };
  return producer;
}

/** An error shaped as kafkajs gives a broker's answer. */
export function brokerError(type: string): Error {
  return Object.assign(new Error(type), { type });
}
