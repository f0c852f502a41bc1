import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { topics } from '../../schemas';
import { type HubKafka } from '../../services/kafka';
import { connectKafka } from '../../services/kafka/runtime';
import { effectiveEnvironment, loadConfig } from '../../services/platform';
import { createLogger } from '../../services/platform/runtime';
import { createTopicCodec } from '../../services/registry';
import { createRegistryClient, registerAllSchemas } from '../../services/registry/runtime';
import { runHub } from '../support/run-hub';
import { sampleRecords } from '../support/sample-records';

describe('hub tail: a topic read back decoded', () => {
  const prefix = `it-${randomUUID().slice(0, 8)}.`;
  const env = { ...effectiveEnvironment(), HUB_TOPIC_PREFIX: prefix };
  let kafka: HubKafka;

  beforeAll(async () => {
    await registerAllSchemas(env);
    const config = loadConfig(env, ['kafkaBrokers', 'schemaRegistryUrl']);
    kafka = connectKafka(
      { brokers: config.kafkaBrokers, clientId: 'it-tail', topicPrefix: prefix, partitions: 3, replication: 1 },
      createLogger({ level: 'silent', role: 'test' }),
    );
    const registry = createRegistryClient(config.schemaRegistryUrl);
    const producer = await kafka.createProducer();
    for (const id of ['hospitalSettlements', 'deadLetters'] as const) {
      const topic = kafka.topicName(topics[id].name);
      await kafka.ensureTopics([{ name: topic }]);
      const codec = createTopicCodec(registry, id, topic);
      const record = sampleRecords[id];
      const other = { ...record, eventId: `${record.eventId}-2`, ...(id === 'hospitalSettlements' ? { personKey: 'b'.repeat(64) } : {}) };
      await producer.send(topic, [
        { key: 'a'.repeat(64), value: await codec.encode(record) },
        { key: 'b'.repeat(64), value: await codec.encode(other) },
      ]);
    }
    await producer.close();
  });
  afterAll(async () => {
    await kafka.close();
  });

  const lines = (stdout: string) =>
    stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { key: string; value: Record<string, unknown> });

  it('prints every record of a topic named by its name, decoded, and stops at the end', async () => {
    const result = await runHub(['tail', 'hospitals.settlements'], env);
    expect(result.code).toBe(0);
    const records = lines(result.stdout);
    expect(records.map((r) => r.value.eventId).sort()).toEqual([
      sampleRecords.hospitalSettlements.eventId,
      `${sampleRecords.hospitalSettlements.eventId}-2`,
    ]);
    expect(records.find((r) => r.key === 'a'.repeat(64))?.value).toEqual(JSON.parse(JSON.stringify(sampleRecords.hospitalSettlements)));
  });

  it("selects one person by key, and shows a dead letter's raw bytes as base64", async () => {
    const byKey = lines((await runHub(['tail', 'deadLetters', '--key', 'b'.repeat(64)], env)).stdout);
    expect(byKey).toHaveLength(1);
    expect(byKey[0]?.value.raw).toBe(Buffer.from(sampleRecords.deadLetters.raw).toString('base64'));
    expect(lines((await runHub(['tail', 'deadLetters', '--last', '1'], env)).stdout)).toHaveLength(1);
  });

  it('refuses an unknown topic with the list of topics', async () => {
    const result = await runHub(['tail', 'no.such-topic'], env);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("unknown topic 'no.such-topic'");
    expect(result.stderr).toContain('benefits.self-pay');
  });
});
