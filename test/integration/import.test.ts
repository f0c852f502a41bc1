import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { topics, type TopicId, type TopicRecords } from '../../schemas';
import { runHub } from '../support/run-hub';
import { connectKafka, type HubKafka } from '../../services/kafka';
import { createLogger, effectiveEnvironment, loadConfig } from '../../services/platform';
import { createRegistryClient, createTopicCodec, registerAllSchemas } from '../../services/registry';
import { simulateRegion, type FeedSummary, type SimulationSummary } from '../../services/simulate';

/**
 * `hub import` of each agency's simulated file against the real local Kafka, schema registry and
 * Redis, under a topic prefix of its own per run, then the topics read back.
 */
const runId = randomUUID().slice(0, 8);
const env = {
  ...effectiveEnvironment(),
  HUB_TOPIC_PREFIX: `it-import-${runId}.`,
  HUB_TOPIC_PARTITIONS: '3',
  HUB_LOG_LEVEL: 'warn',
};
const config = loadConfig(env, ['kafkaBrokers', 'topicPrefix', 'schemaRegistryUrl', 'redisUrl']);
const registry = createRegistryClient(config.schemaRegistryUrl);
const outDir = mkdtempSync(join(tmpdir(), 'hub-it-import-'));
let simulation: SimulationSummary;
let kafka: HubKafka;

const hub = (args: readonly string[]) => runHub(args, env);

async function readTopic<K extends TopicId>(id: K): Promise<TopicRecords[K][]> {
  const name = `${config.topicPrefix}${topics[id].name}`;
  const codec = createTopicCodec(registry, id, name);
  const records = await kafka.readAll(name);
  return Promise.all(records.map((record) => codec.decode(record.value ?? Buffer.alloc(0))));
}

const topicOfAgency = {
  'civil-affairs': 'civilAffairsStatus', 'rural-revitalization': 'ruralRevitalizationStatus', hospitals: 'hospitalSettlements', tax: 'taxContributions',
} as const;

function feed(agency: FeedSummary['agency']): FeedSummary {
  const found = simulation.feeds.find((f) => f.agency === agency);
  if (found === undefined) throw new Error(`no ${agency} feed`);
  return found;
}

beforeAll(async () => {
  await registerAllSchemas(env);
  // Seed and rate chosen so that every file, the small XLSX roster too, carries some bad records.
  simulation = await simulateRegion({ people: 2_000, region: 'anhui-huangshan-2022', outDir, seed: 'it3', badRate: 0.04 });
  kafka = connectKafka({ brokers: config.kafkaBrokers, clientId: `it-import-${runId}`, topicPrefix: config.topicPrefix, partitions: 3, replication: 1 }, createLogger({ level: 'warn', role: 'it-import' }));
});

afterAll(async () => {
  await kafka.close();
  // The intake's memory of this run's facts (keys name the prefixed topic).
  const redis = new Redis(config.redisUrl);
  const stream = redis.scanStream({ match: `hub:intake:fact:${config.topicPrefix}*`, count: 1_000 });
  for await (const keys of stream as AsyncIterable<string[]>) if (keys.length > 0) await redis.unlink(...keys);
  redis.disconnect();
});

describe('hub import', () => {
  it.each(['civil-affairs', 'rural-revitalization', 'hospitals', 'tax'] as const)(
    'publishes every good record of the simulated %s file, dead-letters the planted bad ones, and adds nothing on a second import',
    async (agency) => {
      const { file, good, bad, records } = feed(agency);
      expect(bad).toBeGreaterThan(0);
      const path = join(outDir, file);

      const first = await hub(['import', agency, path]);
      expect(first.stderr).not.toMatch(/hub: /);
      // Exit 3: the import ran and some rows were refused.
      expect(first.code).toBe(3);
      expect(first.stdout).toContain(`${records} rows: ${good} accepted, 0 duplicates, ${bad} rejected; rejected rows in ${join(outDir, `${agency}.rejected.csv`)}`);

      const published = await readTopic(topicOfAgency[agency]);
      expect(published.length).toBe(good);
      expect(new Set(published.map((record) => record.eventId)).size).toBe(good);
      expect(published.every((record) => /^[0-9a-f]{64}$/.test(record.personKey) && record.source === `${agency}:file:${file}`)).toBe(true);

      const letters = (await readTopic('deadLetters')).filter((letter) => letter.origin === agency);
      expect(new Set(letters.map((letter) => letter.eventId)).size).toBe(bad);
      for (const letter of letters) {
        expect(letter.errorCode).toBe('INPUT_INVALID');
        expect(letter.errorMessage).not.toBe('');
        expect(letter.rawFormat).toBe(file.endsWith('.xlsx') ? 'xlsx-row' : 'csv-row');
        // No clear ID number and no name in what the dead-letter topic keeps.
        expect(letter.raw.toString('utf8')).not.toMatch(/(?<![0-9A-Za-z_-])\d{17}[\dX](?![0-9])/);
      }

      const second = await hub(['import', agency, path]);
      expect(second.code).toBe(3);
      expect(second.stdout).toContain(`${records} rows: 0 accepted, ${good} duplicates, ${bad} rejected`);
      expect((await readTopic(topicOfAgency[agency])).length).toBe(good);
    },
  );

  it('exits 2 naming the file when it cannot be read', async () => {
    const result = await hub(['import', 'tax', join(outDir, 'no-such-file.csv')]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^hub: INPUT_INVALID: cannot read .*no-such-file\.csv: ENOENT/);
  });
});
