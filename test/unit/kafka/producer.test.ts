import { describe, expect, it } from 'vitest';
import { partitionOfKey } from '../../../services/kafka/runtime';
import { hubProducer, transactionalPublisher } from '../../../services/kafka/producer';
import { maxRequestBytes, produceRequests } from '../../../services/kafka/records';
import { inTransaction, retryConcurrentTransactions } from '../../../services/kafka/transactions';
import { brokerError, fakeTransactionalProducer } from './fakes';

const record = (key: string, bytes = 10) => ({ key, value: Buffer.alloc(bytes, 1) });

describe('produce requests', () => {
  it("puts a batch's topics in one request while it stays below the byte limit", () => {
    const requests = produceRequests([
      { topic: 'a', records: [record('k1'), record('k2')] },
      { topic: 'b', records: [record('k3')] },
    ]);
    expect(requests.map((request) => request.map((entry) => [entry.topic, entry.messages.map((m) => m.key)]))).toEqual([
      [
        ['a', ['k1', 'k2']],
        ['b', ['k3']],
      ],
    ]);
  });

  it('starts a new request before one would pass the limit, keeping the records in order', () => {
    const big = maxRequestBytes / 2;
    const requests = produceRequests([{ topic: 'a', records: [record('k1', big), record('k2', big), record('k3', big)] }]);
    expect(requests.map((request) => request.flatMap((entry) => entry.messages.map((m) => m.key)))).toEqual([['k1'], ['k2'], ['k3']]);
  });

  it('makes no request for batches without records', () => {
    expect(produceRequests([{ topic: 'a', records: [] }])).toEqual([]);
  });
});

describe('transactions', () => {
  it('retries a step the broker answers CONCURRENT_TRANSACTIONS until it goes through', async () => {
    let calls = 0;
    const result = await retryConcurrentTransactions(() => {
      calls += 1;
      return calls < 3 ? Promise.reject(brokerError('CONCURRENT_TRANSACTIONS')) : Promise.resolve('done');
    });
    expect([result, calls]).toEqual(['done', 3]);
  });

  it('gives any other answer to the caller at once', async () => {
    let calls = 0;
    await expect(
      retryConcurrentTransactions(() => {
        calls += 1;
        return Promise.reject(brokerError('INVALID_PRODUCER_EPOCH'));
      }),
    ).rejects.toThrow('INVALID_PRODUCER_EPOCH');
    expect(calls).toBe(1);
  });

  it('aborts the transaction when its commit fails, and rethrows', async () => {
    const producer = fakeTransactionalProducer();
    producer.failCommit.push(brokerError('INVALID_PRODUCER_EPOCH'));
    await expect(inTransaction(producer, () => Promise.resolve())).rejects.toThrow('INVALID_PRODUCER_EPOCH');
    expect(producer.transactions.map((t) => t.outcome)).toEqual(['aborted']);
  });
});

describe('transactional publisher', () => {
  it('publishes each call in one transaction, all its requests inside it', async () => {
    const producer = fakeTransactionalProducer();
    const publisher = transactionalPublisher(producer);
    const big = maxRequestBytes / 2;
    await publisher.publish([
      { topic: 'facts', records: [record('k1', big), record('k2', big)] },
      { topic: 'letters', records: [record('k3')] },
    ]);
    expect(producer.transactions).toHaveLength(1);
    expect(producer.transactions[0]?.outcome).toBe('committed');
    expect(producer.transactions[0]?.sent.map((request) => request.map((entry) => entry.topic))).toEqual([['facts'], ['facts', 'letters']]);
  });

  it('starts no transaction for batches without records', async () => {
    const producer = fakeTransactionalProducer();
    await transactionalPublisher(producer).publish([{ topic: 'facts', records: [] }]);
    expect(producer.transactions).toHaveLength(0);
  });

  it(
    'runs calls one at a time: the second transaction begins after the first committed, and a failed one ' + 'does not stop the next',
    async () => {
      const producer = fakeTransactionalProducer();
      const publisher = transactionalPublisher(producer);
      let release: () => void = () => undefined;
      producer.beforeCommit = () =>
        new Promise<void>((resolve) => {
          release = resolve;
        });
      producer.failCommit.push(brokerError('INVALID_TXN_STATE'));
      const first = publisher.publish([{ topic: 'facts', records: [record('k1')] }]);
      const second = publisher.publish([{ topic: 'facts', records: [record('k2')] }]);
      await new Promise((resolve) => setTimeout(resolve, 10));
      expect(producer.transactions).toHaveLength(1);
      producer.beforeCommit = undefined;
      release();
      await expect(first).rejects.toThrow('INVALID_TXN_STATE');
      await second;
      expect(producer.transactions.map((t) => [t.sent[0]?.[0]?.messages[0]?.key, t.outcome])).toEqual([
        ['k1', 'aborted'],
        ['k2', 'committed'],
      ]);
    },
  );
});

describe('idempotent producer', () => {
  it('sends with acks from all in-sync replicas, and nothing for no records', async () => {
    const sent: unknown[] = [];
    const producer = hubProducer({
      connect: () => Promise.resolve(),
      disconnect: () => Promise.resolve(),
      send: (request) => {
        sent.push(request);
        return Promise.resolve([]);
      },
    });
    await producer.send('facts', []);
    await producer.send('facts', [{ key: 'k1', value: Buffer.from('v'), headers: { source: 'test' } }]);
    expect(sent).toEqual([{ topic: 'facts', acks: -1, messages: [{ key: 'k1', value: Buffer.from('v'), headers: { source: 'test' } }] }]);
  });
});

describe('partition of a key', () => {
  it("gives a key the partition Java's murmur2 partitioner gives it", () => {
    // Kafka's UtilsTest murmur2 cases: Utils.toPositive(murmur2(key)) % 6.
    const partitionOf = partitionOfKey(6);
    const javaHash = { '21': -973932308, foobar: -790332482, 'a-little-bit-long-string': -985981536, abc: 479470107 };
    for (const [key, hash] of Object.entries(javaHash)) expect(partitionOf(key), key).toBe((hash & 0x7fffffff) % 6);
  });
});
