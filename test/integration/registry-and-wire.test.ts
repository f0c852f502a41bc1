import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import avro from 'avsc';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { avroOptions, topics } from '../../schemas';
import { runHub } from '../support/run-hub';
import { type HubKafka } from '../../services/kafka';
import { connectKafka } from '../../services/kafka/runtime';
import { effectiveEnvironment, loadConfig } from '../../services/platform';
import { createLogger } from '../../services/platform/runtime';
import { createTopicCodec } from '../../services/registry';
import { createRegistryClient, registerAllSchemas } from '../../services/registry/runtime';
import { stackPaths } from '../../services/stack';
import { kafkaToolCommand } from '../../services/stack/runtime';
import { sampleRecords } from '../support/sample-records';

/** Runs `hub <args>` in-process with this run's environment; returns exit code and output. */
const hub = (env: Record<string, string | undefined>, ...args: string[]) => runHub(args, env);

describe('schemas in the registry and records on the wire', () => {
  const prefix = `it-${randomUUID().slice(0, 8)}.`;
  const env = { ...effectiveEnvironment(), HUB_TOPIC_PREFIX: prefix };
  const settlementSubject = `${prefix}${topics.hospitalSettlements.name}-value`;
  let kafka: HubKafka;

  beforeAll(async () => {
    await registerAllSchemas(env);
    const config = loadConfig(env, ['kafkaBrokers']);
    kafka = connectKafka(
      { brokers: config.kafkaBrokers, clientId: 'it-wire', topicPrefix: prefix, partitions: 3, replication: 1 },
      createLogger({ level: 'silent', role: 'test' }),
    );
  });
  afterAll(async () => {
    await kafka.close();
  });

  /** A copy of schemas/ with the settlement schema's fields changed by `edit`. */
  function schemasWith(edit: (fields: object[]) => object[]): string {
    const dir = mkdtempSync(join(tmpdir(), 'hub-schemas-'));
    cpSync(join(import.meta.dirname, '../../schemas'), dir, { recursive: true });
    const file = join(dir, 'hospital-settlement.avsc');
    const schema = JSON.parse(readFileSync(file, 'utf8')) as { fields: object[] };
    writeFileSync(file, JSON.stringify({ ...schema, fields: edit(schema.fields) }));
    return dir;
  }

  it('registers every subject once and finds the committed schemas unchanged', async () => {
    const result = await hub(env, 'schemas', 'check');
    expect(result.code).toBe(0);
    const lines = result.stdout.trim().split('\n');
    expect(lines).toHaveLength(Object.keys(topics).length);
    for (const line of lines) expect(line).toMatch(new RegExp(`^${prefix.replace('.', '\\.')}\\S+-value\\s+unchanged$`));
  });

  it('passes a backward-compatible change: a new field with a default', async () => {
    const dir = schemasWith((fields) => [...fields, { name: 'ward_code', type: ['null', 'string'], default: null }]);
    const result = await hub(env, 'schemas', 'check', '--dir', dir);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`${settlementSubject.replace(/\./g, '\\.')}\\s+compatible\\n`));
  });

  it('fails an incompatible change, refused by the registry: a new field without a default', async () => {
    const dir = schemasWith((fields) => [...fields, { name: 'ward_code', type: 'string' }]);
    const check = await hub(env, 'schemas', 'check', '--dir', dir);
    expect(check.code).toBe(1);
    expect(check.stdout).toMatch(new RegExp(`${settlementSubject.replace(/\./g, '\\.')}\\s+incompatible\\n`));
    expect(check.stderr).toContain(`SCHEMA_INCOMPATIBLE: the registry refuses ${settlementSubject}`);

    const register = await hub(env, 'schemas', 'register', '--dir', dir);
    expect(register.code).toBe(1);
    expect(register.stderr).toContain(`the registry refused ${settlementSubject}`);
    const latest = await createRegistryClient(loadConfig(env, ['schemaRegistryUrl']).schemaRegistryUrl).getLatestSchemaMetadata(
      settlementSubject,
    );
    expect(latest.version).toBe(1);
  });

  it('fails a changed field type too', async () => {
    const dir = schemasWith((fields) =>
      fields.map((f) => ((f as { name: string }).name === 'medfee_sumamt' ? { ...f, type: 'string' } : f)),
    );
    expect((await hub(env, 'schemas', 'check', '--dir', dir)).code).toBe(1);
  });

  it("encodes every connector topic with the fast encoder to the bytes AvroSerializer writes, under the registry's latest id", async () => {
    const config = loadConfig(env, ['schemaRegistryUrl']);
    const client = createRegistryClient(config.schemaRegistryUrl);
    for (const id of [
      'civilAffairsStatus',
      'ruralRevitalizationStatus',
      'hospitalSettlements',
      'taxContributions',
      'deadLetters',
    ] as const) {
      const topic = `${prefix}${topics[id].name}`;
      const fast = await createTopicCodec(client, id, topic).encode(sampleRecords[id]);
      const reference = await createTopicCodec(client, id, topic, { encoder: 'serializer' }).encode(sampleRecords[id]);
      expect(fast.equals(reference)).toBe(true);
      expect(fast.readUInt32BE(1)).toBe((await client.getLatestSchemaMetadata(`${topic}-value`)).id);
      expect(await createTopicCodec(client, id, topic).decode(fast)).toEqual(sampleRecords[id]);
    }
  });

  it(
    "writes records an independent client reads: Kafka's own console consumer sees the wire format and the " + 'schema id resolves',
    async () => {
      const config = loadConfig(env, ['schemaRegistryUrl', 'kafkaBrokers', 'stateDir']);
      const topic = kafka.topicName(topics.hospitalSettlements.name);
      await kafka.ensureTopics([{ name: topic }]);
      const codec = createTopicCodec(createRegistryClient(config.schemaRegistryUrl), 'hospitalSettlements', topic);
      const producer = await kafka.createProducer();
      const record = sampleRecords.hospitalSettlements;
      const encoded = await codec.encode(record);
      // The fast encoder (the default) writes exactly what AvroSerializer writes.
      const reference = createTopicCodec(createRegistryClient(config.schemaRegistryUrl), 'hospitalSettlements', topic, {
        encoder: 'serializer',
      });
      expect(encoded.equals(await reference.encode(record))).toBe(true);
      await producer.send(topic, [{ key: record.personKey, value: encoded }]);

      const tool = await kafkaToolCommand(
        stackPaths(config.stateDir, env),
        process.env,
        'org.apache.kafka.tools.consumer.ConsoleConsumer',
        [
          '--bootstrap-server',
          config.kafkaBrokers.join(','),
          '--topic',
          topic,
          '--from-beginning',
          '--max-messages',
          '1',
          '--timeout-ms',
          '60000',
          '--property',
          'print.key=true',
          '--property',
          'key.separator=|',
        ],
      );
      const output = await new Promise<Buffer>((resolve, reject) => {
        execFile(tool.bin, tool.args, { encoding: 'buffer', timeout: 90_000, maxBuffer: 1 << 20 }, (error, stdout) =>
          error === null ? resolve(stdout) : reject(new Error(`console consumer failed: ${error.message}`)),
        );
      });
      const separator = output.indexOf('|');
      expect(output.subarray(0, separator).toString()).toBe(record.personKey);
      const value = output.subarray(separator + 1, output.length - 1); // the tool ends the record with a newline
      expect(value[0]).toBe(0); // Confluent wire format: magic byte 0, then the 4-byte schema id
      const schemaId = value.readUInt32BE(1);

      const response = await fetch(`${config.schemaRegistryUrl}/schemas/ids/${schemaId}`);
      expect(response.status).toBe(200);
      const { schema } = (await response.json()) as { schema: string };
      const type = avro.Type.forSchema(JSON.parse(schema) as avro.Schema, avroOptions());
      expect(type.fromBuffer(value.subarray(5))).toEqual(record);
      await producer.close();
    },
    120_000,
  );
});
