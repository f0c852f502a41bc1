import { randomUUID } from 'node:crypto';
import { PassThrough } from 'node:stream';
import { Redis } from 'ioredis';
import { Kafka, Partitioners, logLevel, type IHeaders } from 'kafkajs';
import { afterAll, describe, expect, it } from 'vitest';
import { effectiveEnvironment, loadConfig } from '../../services/platform';
import { ensureStack, registryDatabase, runStack, stackStatus, stopStack, connectPg } from '../../services/stack/runtime';

const config = loadConfig(effectiveEnvironment(), ['kafkaBrokers', 'schemaRegistryUrl', 'redisUrl', 'postgresUrl']);
const runId = `${Date.now()}-${randomUUID().slice(0, 8)}`;

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

describe('Kafka (kafkajs 2.2.4 against the local broker)', () => {
  const kafka = new Kafka({ clientId: `hub-stack-test-${runId}`, brokers: [...config.kafkaBrokers], logLevel: logLevel.NOTHING });
  const topic = `hub-stack-test-${runId}`;

  afterAll(async () => {
    const admin = kafka.admin();
    await admin.connect();
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
  });

  it('creates a topic, produces with an idempotent producer and consumes the record back', async () => {
    const admin = kafka.admin();
    await admin.connect();
    const created = await admin.createTopics({ topics: [{ topic, numPartitions: 1, replicationFactor: 1 }], waitForLeaders: true });
    await admin.disconnect();
    expect(created).toBe(true);

    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    const value = JSON.stringify({ personKey: 'pk-test', year: 2025, runId });
    const [sent] = await producer.send({ topic, acks: -1, messages: [{ key: 'pk-test', value, headers: { 'hub-run': runId } }] });
    await producer.disconnect();
    expect(sent).toMatchObject({ topicName: topic, partition: 0, errorCode: 0, baseOffset: '0' });

    const consumer = kafka.consumer({ groupId: `hub-stack-test-${runId}` });
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    let deliver: (record: { key: string | undefined; value: string | undefined; headers: IHeaders; offset: string }) => void = () =>
      undefined;
    const received = new Promise<Parameters<typeof deliver>[0]>((resolve) => {
      deliver = resolve;
    });
    await consumer.run({
      eachMessage: ({ message }) => {
        deliver({ key: message.key?.toString(), value: message.value?.toString(), headers: message.headers ?? {}, offset: message.offset });
        return Promise.resolve();
      },
    });
    try {
      const record = await withTimeout(received, 60_000, `a record on ${topic}`);
      expect(record.key).toBe('pk-test');
      expect(record.value).toBe(value);
      expect(record.offset).toBe('0');
      expect(record.headers['hub-run']?.toString()).toBe(runId);
    } finally {
      await consumer.disconnect();
    }
  });
});

describe('schema registry (Apicurio, Confluent API)', () => {
  const base = config.schemaRegistryUrl;
  const subject = `hub-stack-test-${runId}-value`;
  const contentType = { 'Content-Type': 'application/vnd.schemaregistry.v1+json' };
  const v1 = { type: 'record', name: 'StackTest', namespace: 'cn.medsec.hub.test', fields: [{ name: 'personKey', type: 'string' }] };
  const v2 = { ...v1, fields: [...v1.fields, { name: 'region', type: 'string', default: '' }] };
  const register = (schema: object): Promise<Response> =>
    fetch(`${base}/subjects/${subject}/versions`, {
      method: 'POST',
      headers: contentType,
      body: JSON.stringify({ schema: JSON.stringify(schema) }),
    });

  afterAll(async () => {
    await fetch(`${base}/subjects/${subject}`, { method: 'DELETE' });
    await fetch(`${base}/subjects/${subject}?permanent=true`, { method: 'DELETE' });
  });

  it('accepts a backward-compatible change and refuses incompatible ones with 409 under BACKWARD', async () => {
    const first = await register(v1);
    expect(first.status).toBe(200);
    const { id: firstId } = (await first.json()) as { id: number };
    expect(firstId).toBeGreaterThan(0);

    const config = await fetch(`${base}/config/${subject}`, {
      method: 'PUT',
      headers: contentType,
      body: JSON.stringify({ compatibility: 'BACKWARD' }),
    });
    expect(config.status).toBe(200);
    expect(await config.json()).toMatchObject({ compatibility: 'BACKWARD' });
    const readBack = await fetch(`${base}/config/${subject}`);
    expect(await readBack.json()).toMatchObject({ compatibilityLevel: 'BACKWARD' });

    // A new field with a default: new readers can still read old records.
    const compatible = await register(v2);
    expect(compatible.status).toBe(200);
    const { id: secondId } = (await compatible.json()) as { id: number };
    expect(secondId).not.toBe(firstId);

    // A new field without a default: a new reader cannot fill it from an old record.
    const noDefault = await register({ ...v2, fields: [...v2.fields, { name: 'year', type: 'int' }] });
    expect(noDefault.status).toBe(409);
    expect(await noDefault.json()).toMatchObject({ error_code: 409 });

    // A changed type: string personKey cannot be read as int.
    const changedType = await register({
      ...v2,
      fields: [
        { name: 'personKey', type: 'int' },
        { name: 'region', type: 'string', default: '' },
      ],
    });
    expect(changedType.status).toBe(409);

    const versions = await fetch(`${base}/subjects/${subject}/versions`);
    expect(await versions.json()).toEqual([1, 2]);
  });

  it('keeps its schemas in PostgreSQL, across a restart', async (context) => {
    const before = await stackStatus();
    const registry = before.components.find((c) => c.component === 'registry');
    // Only the registry this checkout started is ours to restart, and only its storage is known.
    if (registry?.pid === undefined) {
      context.skip();
      return;
    }
    const registryStorage = new URL(config.postgresUrl);
    registryStorage.pathname = `/${registryDatabase}`;
    const client = await connectPg(registryStorage.toString(), 5_000);
    try {
      const rows = await client.query<{ count: string }>('SELECT count(*) AS count FROM versions WHERE artifactid = $1', [subject]);
      expect(rows.rows[0]?.count).toBe('2');
    } finally {
      await client.end();
    }

    const stopped = await stopStack({ only: 'registry' });
    expect(stopped.find((s) => s.component === 'registry')?.outcome).toBe('stopped');
    const after = await ensureStack();
    expect(after.components.find((c) => c.component === 'registry')?.pid).not.toBe(registry.pid);

    const versions = await fetch(`${base}/subjects/${subject}/versions`);
    expect(await versions.json()).toEqual([1, 2]);
    const refused = await register({ ...v2, fields: [{ name: 'personKey', type: 'int' }] });
    expect(refused.status).toBe(409);
  });
});

describe('Redis and PostgreSQL', () => {
  it('Redis answers PING and keeps maxmemory-policy noeviction', async () => {
    const redis = new Redis(config.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
    await redis.connect();
    try {
      expect(await redis.ping()).toBe('PONG');
      expect(await redis.config('GET', 'maxmemory-policy')).toEqual(['maxmemory-policy', 'noeviction']);
    } finally {
      redis.disconnect();
    }
  });

  it('PostgreSQL answers a query', async () => {
    const client = await connectPg(config.postgresUrl, 5_000);
    try {
      const result = await client.query<{ answer: number }>('SELECT 41 + 1 AS answer');
      expect(result.rows).toEqual([{ answer: 42 }]);
    } finally {
      await client.end();
    }
  });
});

describe('hub stack', () => {
  it('up is idempotent: a running stack is left alone', async () => {
    const before = await stackStatus();
    const started = Date.now();
    const report = await ensureStack();
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(report.healthy).toBe(true);
    for (const component of report.components) {
      expect(component.pid).toBe(before.components.find((c) => c.component === component.component)?.pid);
    }
  });

  it('status prints all four components healthy and exits 0', async () => {
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    let out = '';
    stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    const code = await runStack(['status'], { stdin: new PassThrough(), stdout, stderr, env: process.env });
    expect(code).toBe(0);
    const lines = out.trim().split('\n');
    expect(lines).toHaveLength(5);
    expect(lines[0]).toMatch(/^COMPONENT\s+ADDRESS\s+STATE\s+PID\s+DETAIL$/);
    for (const [index, name] of ['kafka', 'registry', 'redis', 'postgres'].entries()) {
      expect(lines[index + 1]).toMatch(new RegExp(`^${name}\\s+\\S+\\s+healthy\\s`));
    }
  });
});
