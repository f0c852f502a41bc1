import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { Writable } from 'node:stream';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { topics } from '../../schemas';
import { agencies } from '../../connectors';
import { fileKeyStore, type RunningConnector } from '../../connectors/api';
import { startConnector } from '../../connectors/api/runtime';
import { derivePersonKey } from '../../services/identity';
import {
  aclBindings,
  kafkaClientSecurity,
  kafkaPrincipals,
  kafkaSecurityFromConfig,
  kafkaSecurityKeys,
  type HubKafka,
  type KafkaSecurity,
  type PrincipalName,
} from '../../services/kafka';
import { connectKafka, describeAllAcls } from '../../services/kafka/runtime';
import { effectiveEnvironment, loadConfig } from '../../services/platform';
import { createLogger } from '../../services/platform/runtime';
import { createTopicCodec } from '../../services/registry';
import { createRegistryClient, registerAllSchemas } from '../../services/registry/runtime';
import { stackPaths, type SecureKafka } from '../../services/stack';
import { ensureSecureKafka, kafkaToolCommand, stopSecureKafka } from '../../services/stack/runtime';
import { validRaw } from '../unit/connectors/fixtures';

/**
 * The deployment's ACLs proven on a real broker: `hub stack up --secure` (SASL/SCRAM-SHA-512, the
 * StandardAuthorizer, the principals and ACLs of services/kafka/acls.ts), started here when it is
 * not running and stopped again at the end if this file started it (a broker that was running is
 * reused and left running). It uses the secure broker's own topics (no prefix: the ACLs under test
 * are the ones `up --secure` creates), with record ids of its own per run; the registry and Redis
 * are the plain stack's.
 */
const runId = randomUUID().slice(0, 8);
const keysDir = mkdtempSync(join(tmpdir(), 'hub-it-secure-'));
const env = {
  ...effectiveEnvironment(),
  HUB_TOPIC_PREFIX: '',
  HUB_AGENCY_KEYS_FILE: join(keysDir, 'agency-keys.json'),
  HUB_LOG_LEVEL: 'warn',
};
const config = loadConfig(env, ['personKeySecret', 'schemaRegistryUrl', 'redisUrl', 'stateDir']);
const logger = createLogger({ level: 'warn', role: 'secure-kafka-test' });
const ruralTopic = topics.ruralRevitalizationStatus.name;

let secure: SecureKafka;
const clients: HubKafka[] = [];
let connector: RunningConnector | undefined;
const seenKeys: string[] = [];

/** The hub's own Kafka client, logged in as `principal`. */
/** The refusals below are expected; kafkajs logs each at error level. */
const quiet = createLogger({ level: 'silent', role: 'secure-kafka-test' });

function kafkaAs(principal: PrincipalName, log = quiet): HubKafka {
  const kafka = connectKafka(
    {
      brokers: secure.brokers,
      clientId: `it-secure-${principal}-${runId}`,
      topicPrefix: '',
      partitions: 3,
      replication: 1,
      security: secure.security(principal),
    },
    log,
  );
  clients.push(kafka);
  return kafka;
}

/** The broker's answer inside whatever kafkajs wrapped it in: its error name and numeric code. */
function brokerError(error: unknown): { type: string; code: number } | undefined {
  for (let at: unknown = error, depth = 0; at !== undefined && at !== null && depth < 5; depth += 1) {
    const { type, code } = at as { type?: unknown; code?: unknown };
    if (typeof type === 'string' && typeof code === 'number') return { type, code };
    at = (at as { cause?: unknown }).cause;
  }
  return undefined;
}

async function refusal(attempt: Promise<unknown>): Promise<{ type: string; code: number } | 'succeeded' | 'other error'> {
  try {
    await attempt;
    return 'succeeded';
  } catch (error) {
    return brokerError(error) ?? 'other error';
  }
}

const topicDenied = { type: 'TOPIC_AUTHORIZATION_FAILED', code: 29 };
const record = (suffix: string) => ({
  key: `it-secure-${runId}-${suffix}`,
  value: Buffer.from(`not Avro: refused or read back raw (${runId})`),
});

beforeAll(async () => {
  secure = await ensureSecureKafka({
    env,
    progress: (line) => {
      process.stderr.write(`secure-kafka test: ${line}\n`);
    },
  });
});

afterAll(async () => {
  await connector?.close();
  for (const kafka of clients) await kafka.close().catch(() => undefined);
  if (seenKeys.length > 0) {
    const redis = new Redis(config.redisUrl);
    await redis.del(...seenKeys);
    redis.disconnect();
  }
  rmSync(keysDir, { recursive: true, force: true });
  // A broker this file started is stopped again (a machine has one secure broker port); one that
  // was running before is left as it was found.
  if (secure.started) await stopSecureKafka({ env });
});

describe('the secure local Kafka enforces the declared ACLs', () => {
  it('holds exactly the declared ACLs, with admin as the only super user', async () => {
    const admin = kafkaAs('admin');
    // The hub's client has no ACL call; the stack's own reads them, as the operator.
    const raw = new Kafka({
      clientId: `it-secure-acls-${runId}`,
      brokers: [...secure.brokers],
      logLevel: logLevel.NOTHING,
      ...kafkaClientSecurity(secure.security('admin')),
    }).admin();
    await raw.connect();
    try {
      const present = await describeAllAcls(raw);
      expect(present.length).toBe(aclBindings(kafkaPrincipals()).length);
      expect(new Set(present.map((acl) => acl.principal))).toEqual(
        new Set(
          kafkaPrincipals()
            .filter((p) => !p.superUser)
            .map((p) => `User:${p.name}`),
        ),
      );
    } finally {
      await raw.disconnect();
    }
    // The operator, with no ACL of its own, reads every topic's offsets: a super user.
    expect((await admin.endOffsets(topics.quarterlyWarnings.name)).size).toBeGreaterThan(0);
  });

  it('refuses the rural-revitalization principal a write to the civil-affairs topic (TOPIC_AUTHORIZATION_FAILED, 29)', async () => {
    const producer = await kafkaAs('rural-revitalization').createProducer();
    expect(await refusal(producer.send(topics.civilAffairsStatus.name, [record('foreign')]))).toEqual(topicDenied);
    // The same producer, a moment later, writes its own topic: the refusal is the ACL, not the client.
    expect(await refusal(producer.send(ruralTopic, [record('own')]))).toBe('succeeded');
  });

  it(
    'refuses the rural-revitalization principal any read of warnings.quarterly (29 to kafkajs, ' +
      "TopicAuthorizationException to Kafka's own consumer)",
    async () => {
      const rural = kafkaAs('rural-revitalization');
      // Offsets (ListOffsets, needs Describe) and subscribing (Metadata) are refused alike.
      expect(await refusal(rural.endOffsets(topics.quarterlyWarnings.name))).toEqual(topicDenied);
      const consumer = rural.createConsumer({
        groupId: 'hub-warnings-delivery',
        topics: [topics.quarterlyWarnings.name],
        fromBeginning: true,
        handleBatch: () => Promise.resolve(),
      });
      expect(await refusal(consumer.start())).toEqual(topicDenied);
      await consumer.stop().catch(() => undefined);
      // The delivery principal reads the same topic's offsets: the refusal is per principal.
      expect((await kafkaAs('delivery').endOffsets(topics.quarterlyWarnings.name)).size).toBeGreaterThan(0);

      // Fetch itself, by an independent client with no group (assigned partition 0): Kafka's console consumer.
      const dir = mkdtempSync(join(tmpdir(), 'hub-it-secure-client-'));
      const clientConfig = join(dir, 'client.properties');
      const { HUB_KAFKA_SASL_PASSWORD: password = '' } = secure.environment('rural-revitalization');
      writeFileSync(
        clientConfig,
        [
          'security.protocol=SASL_PLAINTEXT',
          'sasl.mechanism=SCRAM-SHA-512',
          `sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required ` +
            `username="rural-revitalization" password="${password}";`,
          '',
        ].join('\n'),
        { mode: 0o600 },
      );
      try {
        const tool = await kafkaToolCommand(
          stackPaths(config.stateDir, env),
          process.env,
          'org.apache.kafka.tools.consumer.ConsoleConsumer',
          [
            '--bootstrap-server',
            secure.brokers.join(','),
            '--consumer.config',
            clientConfig,
            '--topic',
            topics.quarterlyWarnings.name,
            '--partition',
            '0',
            '--offset',
            'earliest',
            '--max-messages',
            '1',
            '--timeout-ms',
            '20000',
          ],
        );
        // The tool's log (where it reports the refusal) to stdout, not /dev/null.
        const args = tool.args.map((arg) =>
          arg.startsWith('-Dlog4j.configuration=')
            ? `-Dlog4j.configuration=file:${join(stackPaths(config.stateDir, env).deployDir, 'kafka-log4j.properties')}`
            : arg,
        );
        const output = await new Promise<string>((resolve) => {
          execFile(tool.bin, args, { timeout: 90_000, maxBuffer: 1 << 22 }, (_error, stdout, stderr) => {
            resolve(`${stdout}\n${stderr}`);
          });
        });
        expect(output).toMatch(/TopicAuthorizationException: Not authorized to access topics: \[warnings\.quarterly\]/);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );

  it(
    'lets the rural-revitalization principal write its own topic and dead letters in a transaction of its ' + 'own id, and no other id',
    async () => {
      const rural = kafkaAs('rural-revitalization');
      const own = await rural.createTransactionalPublisher(`intake-rural-revitalization-${runId}`);
      const admin = kafkaAs('admin');
      const before = await admin.endOffsets(ruralTopic);
      await own.publish([
        { topic: ruralTopic, records: [record('tx')] },
        { topic: topics.deadLetters.name, records: [record('tx-dead')] },
      ]);
      // One record and its commit marker, on one partition (the marker lands a moment after the commit returns).
      const grown = async (): Promise<number> =>
        [...(await admin.endOffsets(ruralTopic))].reduce(
          (sum, [partition, end]) => sum + Number(BigInt(end) - BigInt(before.get(partition) ?? '0')),
          0,
        );
      await expect.poll(grown, { timeout: 10_000 }).toBe(2);

      // Another connector's transactional id is refused. kafkajs reports the refused coordinator
      // lookup as "Failed to find group coordinator"; the broker's answer is in its log.
      const lines: string[] = [];
      const capture = new Writable({
        write(chunk: Buffer, _encoding, done) {
          lines.push(chunk.toString('utf8'));
          done();
        },
      });
      const watched = kafkaAs('rural-revitalization', createLogger({ level: 'warn', role: 'secure-kafka-test', destination: capture }));
      const foreign = await watched.createTransactionalPublisher(`intake-civil-affairs-${runId}`).then(
        (publisher) =>
          publisher.publish([{ topic: ruralTopic, records: [record('foreign-tx')] }]).then(
            () => 'succeeded',
            (error: unknown) => (error as Error).name,
          ),
        (error: unknown) => (error as Error).name,
      );
      expect(foreign).toBe('KafkaJSGroupCoordinatorNotFound');
      // TRANSACTIONAL_ID_AUTHORIZATION_FAILED (53), in kafkajs's words, to FindCoordinator (key 10).
      expect(lines.join('')).toMatch(/"error":"Transactional Id authorization failed".*"msg":"Response GroupCoordinator\(key: 10/);
    },
  );

  it(
    'runs the rural-revitalization connector with its credentials end to end: one record pushed, published, ' +
      'read back by the rules principal',
    async () => {
      await registerAllSchemas(env);
      const connectorEnv = { ...env, ...secure.environment('rural-revitalization') };
      // The connector's own configuration path: HUB_KAFKA_SASL_* validated, then handed to kafkajs.
      expect(kafkaSecurityFromConfig(loadConfig(connectorEnv, kafkaSecurityKeys))).toEqual<KafkaSecurity>(
        secure.security('rural-revitalization'),
      );
      const key = (await fileKeyStore(env.HUB_AGENCY_KEYS_FILE).issue('rural-revitalization')).key;
      connector = await startConnector({ agency: agencies['rural-revitalization'], env: connectorEnv, logger, port: 0 });
      expect((await fetch(`${connector.url}/readyz`)).status).toBe(200);

      const recordId = `XC-secure-${runId}`;
      const response = await fetch(`${connector.url}/v1/records`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
        body: JSON.stringify({ records: [{ ...validRaw['rural-revitalization'], recordId }] }),
      });
      const answer = (await response.json()) as { accepted: number; results: { status: string; eventId?: string }[] };
      expect(response.status).toBe(200);
      expect(answer).toMatchObject({ accepted: 1, rejected: 0, results: [{ status: 'accepted' }] });
      const eventId = answer.results[0]?.eventId ?? '';
      seenKeys.push(`hub:intake:fact:${ruralTopic}:${eventId}`);

      const codec = createTopicCodec(createRegistryClient(config.schemaRegistryUrl), 'ruralRevitalizationStatus', ruralTopic);
      const rules = kafkaAs('rules');
      const published = async () => {
        const raws = (await rules.readAll(ruralTopic)).filter((raw) => raw.value !== null && raw.value[0] === 0);
        const decoded = await Promise.all(raws.map((raw) => codec.decode(raw.value ?? Buffer.alloc(0))));
        return decoded.filter((value) => value.eventId === eventId);
      };
      // The transaction's commit marker lands a moment after the connector's answer; until then a
      // read-committed reader's end is before the record.
      await expect.poll(async () => (await published()).length, { timeout: 20_000 }).toBe(1);
      const mine = await published();
      expect(mine[0]).toMatchObject({
        personKey: derivePersonKey(validRaw['rural-revitalization'].idNumber, config.personKeySecret),
        category: 'MONITORED',
      });
    },
  );
});
