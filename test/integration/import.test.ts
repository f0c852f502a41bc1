import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agencyIds, agencyTable, topics, type TopicId, type TopicRecords } from '../../schemas';
import { readAtLeast } from '../support/read-settled';
import { runHub } from '../support/run-hub';
import { type HubKafka } from '../../services/kafka';
import { connectKafka } from '../../services/kafka/runtime';
import { effectiveEnvironment, loadConfig } from '../../services/platform';
import { createLogger } from '../../services/platform/runtime';
import { createTopicCodec } from '../../services/registry';
import { createRegistryClient, registerAllSchemas } from '../../services/registry/runtime';
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

function feed(agency: FeedSummary['agency']): FeedSummary {
  const found = simulation.feeds.find((f) => f.agency === agency);
  if (found === undefined) throw new Error(`no ${agency} feed`);
  return found;
}

beforeAll(async () => {
  await registerAllSchemas(env);
  // Seed and rate chosen so that every file, the small XLSX roster too, carries some bad records.
  simulation = await simulateRegion({ people: 2_000, region: 'anhui-huangshan-2022', outDir, seed: 'it4', badRate: 0.04 });
  kafka = connectKafka(
    { brokers: config.kafkaBrokers, clientId: `it-import-${runId}`, topicPrefix: config.topicPrefix, partitions: 3, replication: 1 },
    createLogger({ level: 'warn', role: 'it-import' }),
  );
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
  it.each(agencyIds)(
    'publishes every good record of the simulated %s file, dead-letters the planted bad ones, and adds nothing on a second import',
    async (agency) => {
      const { file, good, bad, records } = feed(agency);
      expect(bad).toBeGreaterThan(0);
      const path = join(outDir, file);

      const first = await hub(['import', agency, path]);
      expect(first.stderr).not.toMatch(/hub: /);
      // Exit 3: the import ran and some rows were refused.
      expect(first.code).toBe(3);
      expect(first.stdout).toContain(
        `${records} rows: ${good} accepted, 0 duplicates, ${bad} rejected; rejected rows in ${join(outDir, `${agency}.rejected.csv`)}`,
      );

      const published = await readAtLeast(() => readTopic(agencyTable[agency].topic), good);
      expect(published.length).toBe(good);
      expect(new Set(published.map((record) => record.eventId)).size).toBe(good);
      expect(published.every((record) => /^[0-9a-f]{64}$/.test(record.personKey) && record.source === `${agency}:file:${file}`)).toBe(true);

      const ofAgency = async () => (await readTopic('deadLetters')).filter((letter) => letter.origin === agency);
      const letters = await readAtLeast(ofAgency, bad);
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
      expect((await readTopic(agencyTable[agency].topic)).length).toBe(good);
    },
  );

  it('reports 2,500 refused rows of one file, each dead-lettered once, instead of failing on a dead-letter batch over 1 MB', async () => {
    const header =
      'fixmedins_code,setl_id,mdtrt_id,psn_no,certno,psn_name,insutype,insu_admdvs,med_type,setl_time,' +
      'medfee_sumamt,fulamt_ownpay_amt,overlmt_selfpay,preselfpay_amt,inscp_scp_amt,hifp_pay,hifmi_pay,maf_pay,psn_part_amt';
    // Each row refused for its division code (33030X); before dead letters were sent by bytes, one
    // batch of 2,000 such letters was a single produce request over the broker's 1 MB limit.
    const rows = Array.from(
      { length: 2_500 },
      (_, i) =>
        `H33030200001,S-REF-${i},M-REF-${i},P-REF-${i},330302194501258303,王秀英,390,33030X,11,2019-04-02 ` +
        `10:00:00,100.00,5.00,0.00,5.00,90.00,45.00,0.00,0.00,55.00`,
    );
    const path = join(outDir, 'refused-settlements.csv');
    writeFileSync(path, [header, ...rows].join('\r\n'));
    const result = await hub(['import', 'hospitals', path]);
    expect(result.stderr).not.toMatch(/hub: /);
    expect(result.code).toBe(3);
    expect(result.stdout).toContain('2500 rows: 0 accepted, 0 duplicates, 2500 rejected; rejected rows in');
    expect(
      readFileSync(join(outDir, 'refused-settlements.rejected.csv'), 'utf8')
        .split('\r\n')
        .filter((line) => line.includes('S-REF-')),
    ).toHaveLength(2_500);
    const refused = async () => (await readTopic('deadLetters')).filter((letter) => letter.sourceRecordId?.startsWith('S-REF-') === true);
    const letters = await readAtLeast(refused, 2_500);
    expect(letters).toHaveLength(2_500);
    expect(new Set(letters.map((letter) => letter.eventId)).size).toBe(2_500);
  });

  it('exits 4 and says how far it got when a file breaks off at an unclosed quote, the rows before imported', async () => {
    const header = '业务编号,行政区划代码,身份证号,姓名,人员类别,业务类型,生效日期,终止日期,审批时间';
    const row = (n: number, quote = ''): string =>
      `MZ-CUT-${n},330302,${quote}330302194501258303,王秀英,低保对象,认定,2019-03-01,,2019-02-20 10:00:00`;
    const path = join(outDir, 'cut-roster.csv');
    writeFileSync(path, [header, row(1), row(2), row(3), row(4, '"')].join('\r\n'));
    const result = await hub(['import', 'civil-affairs', path]);
    expect(result.code).toBe(4);
    expect(result.stderr).toMatch(
      new RegExp(
        String.raw`^hub: INPUT_INVALID: .*Quote Not Closed.*; the rows before it were imported ` +
          String.raw`\(3 rows: 3 accepted, 0 duplicates, 0 rejected\), the rest of the file was not$`,
        'm',
      ),
    );
    const cut = async () => (await readTopic('civilAffairsStatus')).filter((record) => record.sourceRecordId.startsWith('MZ-CUT-'));
    const published = await readAtLeast(cut, 3);
    expect(published.map((record) => record.sourceRecordId).sort()).toEqual(['MZ-CUT-1', 'MZ-CUT-2', 'MZ-CUT-3']);
  });

  it('exits 2 naming the file when it cannot be read', async () => {
    const result = await hub(['import', 'tax', join(outDir, 'no-such-file.csv')]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^hub: INPUT_INVALID: cannot read .*no-such-file\.csv: ENOENT/);
  });
});
