import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import iconv from 'iconv-lite';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agencyIds, topics, type DeadLetter, type TopicRecords } from '../../schemas';
import { agencies } from '../../connectors';
import { fileKeyStore, type RunningConnector } from '../../connectors/api';
import { startConnector } from '../../connectors/api/runtime';
import { type AgencyId, type InboundTopicId } from '../../connectors/intake';
import { decryptNationalId, derivePersonKey } from '../../services/identity';
import { type HubKafka, type InboundRecord } from '../../services/kafka';
import { connectKafka } from '../../services/kafka/runtime';
import { effectiveEnvironment, loadConfig } from '../../services/platform';
import { createLogger } from '../../services/platform/runtime';
import { createTopicCodec } from '../../services/registry';
import { createRegistryClient, registerAllSchemas } from '../../services/registry/runtime';
import { readAtLeast } from '../support/read-settled';
import { liSi, validId, validRaw, zhangSan } from '../unit/connectors/fixtures';

/**
 * The four connectors in-process against the real local Kafka, schema registry and Redis. A topic
 * prefix of its own per run keeps runs apart on the shared cluster (and, since facts seen are kept
 * per topic, in the shared Redis too), so the record ids below can stay fixed from run to run.
 */
const runId = randomUUID().slice(0, 8);
const env = {
  ...effectiveEnvironment(),
  HUB_TOPIC_PREFIX: `it-connectors-${runId}.`,
  HUB_AGENCY_KEYS_FILE: join(mkdtempSync(join(tmpdir(), 'hub-it-keys-')), 'agency-keys.json'),
  HUB_TOPIC_PARTITIONS: '3',
  HUB_LOG_LEVEL: 'warn',
};
const config = loadConfig(env, ['personKeySecret', 'idEncryptionKey', 'schemaRegistryUrl', 'kafkaBrokers', 'topicPrefix', 'redisUrl']);
const { redisUrl } = config;
const logger = createLogger({ level: 'warn', role: 'connectors-api-test' });
const registry = createRegistryClient(config.schemaRegistryUrl);

const connectors = new Map<AgencyId, RunningConnector>();
const keys = new Map<AgencyId, string>();
let kafka: HubKafka;

const topicOf = (topic: InboundTopicId | 'deadLetters'): string => `${config.topicPrefix}${topics[topic].name}`;

function connector(agency: AgencyId): RunningConnector {
  const running = connectors.get(agency);
  if (running === undefined) throw new Error(`${agency} connector not started`);
  return running;
}

async function push(agency: AgencyId, records: readonly unknown[], key: string | undefined = keys.get(agency)) {
  const response = await fetch(`${connector(agency).url}/v1/records`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key ?? ''}` },
    body: JSON.stringify({ records }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

async function readTopic<K extends InboundTopicId | 'deadLetters'>(id: K): Promise<{ raw: InboundRecord; record: TopicRecords[K] }[]> {
  const codec = createTopicCodec(registry, id, topicOf(id));
  const raws = await kafka.readAll(topicOf(id));
  return Promise.all(raws.map(async (raw) => ({ raw, record: await codec.decode(raw.value ?? Buffer.alloc(0)) })));
}

function expectNoClearIdentity(raw: InboundRecord, ...people: { idNumber: string; name: string }[]): void {
  const bytes = Buffer.concat([Buffer.from(raw.key ?? ''), raw.value ?? Buffer.alloc(0)]).toString('latin1');
  const utf8 = raw.value?.toString('utf8') ?? '';
  for (const person of people) {
    expect(bytes).not.toContain(person.idNumber);
    expect(utf8).not.toContain(person.name);
  }
}

const personKeyOf = (idNumber: string): string => derivePersonKey(idNumber, config.personKeySecret);

beforeAll(async () => {
  await registerAllSchemas(env);
  kafka = connectKafka(
    {
      brokers: config.kafkaBrokers,
      clientId: `connectors-api-test-${runId}`,
      topicPrefix: config.topicPrefix,
      partitions: 3,
      replication: 1,
    },
    logger,
  );
  const store = fileKeyStore(env.HUB_AGENCY_KEYS_FILE);
  for (const agency of agencyIds) {
    keys.set(agency, (await store.issue(agency)).key);
    connectors.set(agency, await startConnector({ agency: agencies[agency], env, logger, port: 0 }));
  }
});

afterAll(async () => {
  for (const running of connectors.values()) await running.close();
  // Leave the shared stack as found: this run's topics, and the facts it marked seen in Redis.
  await kafka.deleteTopics(await kafka.topicsStartingWith(config.topicPrefix)).catch(() => undefined);
  await kafka.close();
  const redis = new Redis(redisUrl);
  const seenKeys = await redis.keys(`hub:intake:fact:${config.topicPrefix}*`);
  if (seenKeys.length > 0) await redis.del(...seenKeys);
  redis.disconnect();
});

describe('connector push API against the local stack', () => {
  it('is ready: Kafka and Redis answer', async () => {
    const response = await fetch(`${connector('civil-affairs').url}/readyz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ ok: true, checks: { kafka: 'ok', redis: 'ok' } });
  });

  it('publishes a civil-affairs certification pseudonymised, and dead-letters a bad record with its reason', async () => {
    const bad = { ...validRaw['civil-affairs'], recordId: 'MZ-2019-0002', validFrom: '2019-02-30' };
    const answer = await push('civil-affairs', [validRaw['civil-affairs'], bad]);
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({
      accepted: 1,
      duplicates: 0,
      rejected: 1,
      results: [
        { position: 'records[0]', status: 'accepted' },
        {
          position: 'records[1]',
          status: 'rejected',
          problems: [{ field: 'validFrom', reason: '"2019-02-30" is not a real date (YYYY-MM-DD)' }],
        },
      ],
    });

    const published = await readTopic('civilAffairsStatus');
    expect(published).toHaveLength(1);
    const [only] = published;
    if (only === undefined) throw new Error('nothing on the topic');
    const personKey = personKeyOf(zhangSan.idNumber);
    expect(only.raw.key).toBe(personKey);
    expect(only.record).toEqual({
      eventId: (answer.body.results as { eventId: string }[])[0]?.eventId,
      source: expect.stringMatching(/^civil-affairs:api:key-[0-9a-f]{12}$/) as unknown,
      occurredAt: Date.parse('2019-02-27T10:00:00+08:00'),
      recordedAt: expect.any(Number) as unknown,
      sourceRecordId: 'MZ-2019-0001',
      sourceVersion: 1,
      personKey,
      idCipher: expect.stringMatching(/^v1\./) as unknown,
      admdvs: '330302',
      category: 'DIBAO',
      action: 'CERTIFY',
      validFrom: '2019-03-01',
      validTo: null,
    });
    expect(decryptNationalId(only.record.idCipher, config.idEncryptionKey, personKey)).toBe(zhangSan.idNumber);
    expectNoClearIdentity(only.raw, zhangSan);

    const letters = (await readTopic('deadLetters')).filter((letter) => letter.record.origin === 'civil-affairs');
    expect(letters).toHaveLength(1);
    const [letter] = letters;
    if (letter === undefined) throw new Error('no dead letter');
    expect(letter.record).toMatchObject({
      origin: 'civil-affairs',
      source: 'civil-affairs:connector',
      errorCode: 'INPUT_INVALID',
      field: 'validFrom',
      sourceRecordId: 'MZ-2019-0002',
      errorMessage: 'validFrom: "2019-02-30" is not a real date (YYYY-MM-DD)',
      rawFormat: 'json',
    } satisfies Partial<DeadLetter>);
    expectNoClearIdentity(letter.raw, zhangSan);
    const sealed = JSON.parse(letter.record.raw.toString('utf8')) as Record<string, unknown>;
    expect(sealed).toMatchObject({ recordId: 'MZ-2019-0002', validFrom: '2019-02-30', name: '[removed]' });
    expect(decryptNationalId(String(sealed.idNumber), config.idEncryptionKey, 'dead-letter')).toBe(zhangSan.idNumber);
  });

  it('keeps a pushed-again record one fact on the topic', async () => {
    const answer = await push('civil-affairs', [validRaw['civil-affairs']]);
    expect(answer.body).toMatchObject({ accepted: 0, duplicates: 1, rejected: 0, results: [{ status: 'duplicate' }] });
    expect(await readTopic('civilAffairsStatus')).toHaveLength(1);
  });

  it("answers 403 to another agency's key and writes nothing", async () => {
    const before = (await kafka.readAll(topicOf('taxContributions'))).length;
    const answer = await push('tax', [validRaw.tax], keys.get('hospitals'));
    expect(answer.status).toBe(403);
    expect(answer.body).toMatchObject({ error: { code: 'FORBIDDEN' } });
    expect(await kafka.readAll(topicOf('taxContributions'))).toHaveLength(before);
  });

  it('publishes a rural-revitalization risk elimination on its own topic', async () => {
    const answer = await push('rural-revitalization', [validRaw['rural-revitalization']]);
    expect(answer.body).toMatchObject({ accepted: 1 });
    const published = await readTopic('ruralRevitalizationStatus');
    expect(published.map((p) => p.record)).toEqual([
      expect.objectContaining({
        sourceRecordId: 'XC-77',
        sourceVersion: 2,
        personKey: personKeyOf(liSi.idNumber),
        admdvs: '330302',
        category: 'MONITORED',
        action: 'RISK_ELIMINATED',
        validFrom: '2018-06-01',
        validTo: '2019-03-15',
        occurredAt: Date.parse('2019-03-10T09:30:00+08:00'),
      }),
    ]);
    expectNoClearIdentity(
      published[0]?.raw ?? { topic: '', partition: 0, offset: '0', key: null, value: null, headers: {}, timestamp: 0 },
      liSi,
    );
  });

  it('publishes a hospital settlement with its amounts in fen', async () => {
    const answer = await push('hospitals', [validRaw.hospitals]);
    expect(answer.body).toMatchObject({ accepted: 1 });
    const published = await readTopic('hospitalSettlements');
    expect(published).toHaveLength(1);
    expect(published[0]?.record).toEqual(
      expect.objectContaining({
        fixmedins_code: 'H33030200001',
        setl_id: 'S20190402001',
        mdtrt_id: 'M20190325001',
        psn_no: '33000019491231002',
        insutype: '390',
        insu_admdvs: '330300',
        med_type: '21',
        setl_time: Date.parse('2019-04-02T10:15:00+08:00'),
        medfee_sumamt: 10_000_000,
        fulamt_ownpay_amt: 500_000,
        overlmt_selfpay: 100_000,
        preselfpay_amt: 400_000,
        inscp_scp_amt: 9_000_000,
        hifp_pay: 5_400_000,
        hifmi_pay: 0,
        maf_pay: 0,
        psn_part_amt: 4_600_000,
        is_reversal: false,
        orig_setl_id: null,
        dise_codg: null,
        personKey: personKeyOf(zhangSan.idNumber),
      }),
    );
    if (published[0] !== undefined) expectNoClearIdentity(published[0].raw, zhangSan);
  });

  it('publishes a tax contribution with its amounts in fen', async () => {
    const answer = await push('tax', [validRaw.tax]);
    expect(answer.body).toMatchObject({ accepted: 1 });
    const published = await readTopic('taxContributions');
    expect(published.map((p) => p.record)).toEqual([
      expect.objectContaining({
        sourceRecordId: 'SW-1',
        sourceVersion: 1,
        admdvs: '330300',
        insuranceYear: 2019,
        insutype: '390',
        kind: 'PAYMENT',
        contributionDueFen: 25_000,
        paidFen: 25_000,
        subsidisedFen: 0,
        paidAt: Date.parse('2018-12-10T09:00:00+08:00'),
        personKey: personKeyOf(zhangSan.idNumber),
      }),
    ]);
  });

  it("imports a GBK-encoded CSV roster posted to /v1/files onto the agency's topic", async () => {
    const csv = [
      '业务编号,版本号,身份证号,姓名,行政区划代码,人员类别,业务类型,纳入日期,退出日期,审批时间',
      `XC-78,1,${liSi.idNumber},${liSi.name},330302,防止返贫监测对象,认定,2019-01-15,,2019-01-10 16:00:00`,
      `XC-79,1,${liSi.idNumber},${liSi.name},330302,脱贫人口,风险消除,2019-01-15,2019-05-01,2019-01-10 16:00:00`,
    ].join('\r\n');
    const response = await fetch(`${connector('rural-revitalization').url}/v1/files?format=csv&encoding=gbk`, {
      method: 'POST',
      headers: { 'content-type': 'text/csv', authorization: `Bearer ${keys.get('rural-revitalization') ?? ''}` },
      body: iconv.encode(`${csv}\r\n`, 'gbk'),
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      rows: 2,
      accepted: 1,
      duplicates: 0,
      rejected: 1,
      rejectionsTruncated: false,
      rejections: [
        {
          position: 'row 3',
          status: 'rejected',
          problems: [{ field: 'action', reason: 'risk elimination (风险消除) ends a MONITORED status only' }],
        },
      ],
    });
    const fromFile = (await readTopic('ruralRevitalizationStatus')).filter((p) => p.record.sourceRecordId === 'XC-78');
    expect(fromFile.map((p) => p.record)).toEqual([
      expect.objectContaining({
        source: expect.stringMatching(/^rural-revitalization:file-api:key-[0-9a-f]{12}$/) as unknown,
        personKey: personKeyOf(liSi.idNumber),
        category: 'MONITORED',
        action: 'CERTIFY',
        validFrom: '2019-01-15',
        validTo: null,
      }),
    ]);
    if (fromFile[0] !== undefined) expectNoClearIdentity(fromFile[0].raw, liSi);
    const letters = (await readTopic('deadLetters')).filter((letter) => letter.record.origin === 'rural-revitalization');
    expect(letters.map((letter) => [letter.record.sourceRecordId, letter.record.field, letter.record.rawFormat])).toEqual([
      ['XC-79', 'action', 'csv-row'],
    ]);
    for (const letter of letters) expectNoClearIdentity(letter.raw, liSi);
  });

  it('answers 503 with Retry-After, and publishes nothing, when the schema registry is down', async () => {
    const offline = await startConnector({
      // Silent: the 503 it is about to log at error level is the point of this case.
      agency: agencies['civil-affairs'],
      logger: createLogger({ level: 'silent', role: 'connectors-api-test' }),
      port: 0,
      env: { ...env, HUB_SCHEMA_REGISTRY_URL: 'http://127.0.0.1:9/apis/ccompat/v7' },
    });
    try {
      const before = (await kafka.readAll(topicOf('civilAffairsStatus'))).length;
      const response = await fetch(`${offline.url}/v1/records`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${keys.get('civil-affairs') ?? ''}` },
        body: JSON.stringify({ records: [{ ...validRaw['civil-affairs'], recordId: 'MZ-2019-0099' }] }),
      });
      expect(response.status).toBe(503);
      expect(response.headers.get('retry-after')).toBe('5');
      expect(await response.json()).toMatchObject({ error: { code: 'REGISTRY_UNAVAILABLE' } });
      expect(await kafka.readAll(topicOf('civilAffairsStatus'))).toHaveLength(before);
    } finally {
      await offline.close();
    }
  });

  it(
    'answers 429 with Retry-After to an address that keeps presenting wrong keys, and still takes a good key ' +
      'from it (issue 10, item 9)',
    async () => {
      const statuses: number[] = [];
      for (let i = 0; i < 10; i += 1)
        statuses.push((await push('rural-revitalization', [validRaw['rural-revitalization']], `wrong-key-${i}`)).status);
      expect(statuses).toEqual(Array<number>(10).fill(401));
      const refused = await fetch(`${connector('rural-revitalization').url}/v1/records`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: 'Bearer wrong-key-10' },
        body: '{"records":[]}',
      });
      expect(refused.status).toBe(429);
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(await refused.json()).toMatchObject({ error: { code: 'TOO_MANY_FAILED_KEYS' } });
      const good = await push('rural-revitalization', [{ ...validRaw['rural-revitalization'], recordId: 'XC-90' }]);
      expect(good).toMatchObject({ status: 200, body: { accepted: 1 } });
      expect((await readTopic('ruralRevitalizationStatus')).map((p) => p.record.sourceRecordId)).toContain('XC-90');
    },
  );
});

describe('connector push API: batches larger than one Kafka message (issue 10, item 1)', () => {
  // The local broker keeps Kafka's default message.max.bytes (about 1 MB); each case below sent more
  // than that in one produce request before sends were split by bytes, and was answered 503 after
  // the batch's good records were already on the topic.
  const settlement = (n: number, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
    ...validRaw.hospitals,
    setl_id: `S-BIG-${n}`,
    mdtrt_id: `M-BIG-${n}`,
    ...extra,
  });

  it("dead-letters 2,000 refused settlements of one request, each once, beside the request's good records", async () => {
    const before = (await kafka.readAll(topicOf('hospitalSettlements'))).length;
    const records = [
      ...Array.from({ length: 2_000 }, (_, i) => settlement(10_000 + i, { insu_admdvs: '33030X', remark: `需复核 ${'x'.repeat(300)}` })),
      ...Array.from({ length: 5 }, (_, i) => settlement(20_000 + i)),
    ];
    const answer = await push('hospitals', records);
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ accepted: 5, duplicates: 0, rejected: 2_000 });
    expect(await readAtLeast(() => kafka.readAll(topicOf('hospitalSettlements')), before + 5)).toHaveLength(before + 5);
    const refused = async () =>
      (await readTopic('deadLetters')).filter((letter) => letter.record.sourceRecordId?.startsWith('S-BIG-1') === true);
    const letters = await readAtLeast(refused, 2_000);
    expect(letters).toHaveLength(2_000);
    expect(new Set(letters.map((letter) => letter.record.sourceRecordId)).size).toBe(2_000);
    for (const letter of letters) expectNoClearIdentity(letter.raw, zhangSan);
  });

  it('publishes 3,000 good settlements of one person in one request, each once', async () => {
    const records = Array.from({ length: 3_000 }, (_, i) => settlement(30_000 + i));
    const answer = await push('hospitals', records);
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ accepted: 3_000, duplicates: 0, rejected: 0 });
    const published = await readAtLeast(
      async () => (await readTopic('hospitalSettlements')).filter((p) => p.record.setl_id.startsWith('S-BIG-3')),
      3_000,
    );
    expect(published).toHaveLength(3_000);
    expect(new Set(published.map((p) => p.record.setl_id)).size).toBe(3_000);
  });

  it('keeps a bounded copy of a refused record with a 1 MB field: its length, hash and first bytes', async () => {
    const huge = 'y'.repeat(1024 * 1024);
    const answer = await push('hospitals', [settlement(40_000, { med_type: huge })]);
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ rejected: 1, results: [{ status: 'rejected', problems: [{ field: 'med_type' }] }] });
    const letters = await readAtLeast(
      async () => (await readTopic('deadLetters')).filter((letter) => letter.record.sourceRecordId === 'S-BIG-40000'),
      1,
    );
    expect(letters).toHaveLength(1);
    const letter = letters[0]?.record;
    if (letter === undefined) throw new Error('no dead letter');
    expect(letter.raw.length).toBeLessThanOrEqual(4 * 1024);
    expect(letter.errorMessage.length).toBeLessThan(2_100);
    const kept = JSON.parse(letter.raw.toString('utf8')) as { truncated: boolean; bytes: number; sha256: string; head: string };
    expect(kept).toMatchObject({ truncated: true, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) as unknown });
    expect(kept.bytes).toBeGreaterThan(1024 * 1024);
    expect(kept.head.startsWith('{"fixmedins_code":"H33030200001"')).toBe(true);
  });

  it("publishes a transaction's records together or not at all: a refused send leaves nothing readable", async () => {
    const publisher = await kafka.createTransactionalPublisher(`${config.topicPrefix}it-publisher-${randomUUID()}`);
    const topic = topicOf('hospitalSettlements');
    const before = (await kafka.readAll(topic)).length;
    try {
      // The first record goes in a request of its own and is taken; the second is larger than the
      // broker accepts, so the transaction is aborted and the first must not become visible.
      await expect(
        publisher.publish([
          { topic, records: [{ key: 'k', value: Buffer.from('small') }] },
          { topic: topicOf('deadLetters'), records: [{ key: 'k', value: Buffer.alloc(2 * 1024 * 1024, 0x61) }] },
        ]),
      ).rejects.toThrow();
      expect(await kafka.readAll(topic)).toHaveLength(before);
    } finally {
      await publisher.close();
    }
  });
});

describe('no clear ID number or name on a topic or in Redis (issue 10, item 3)', () => {
  const wang = { idNumber: '330302194501258303', name: '王秀英' };
  const zhao = { idNumber: validId('44030619900307211'), name: '赵六' };
  const spaced = (id: string): string => `${id.slice(0, 4)} ${id.slice(4, 8)} ${id.slice(8, 12)} ${id.slice(12, 16)} ${id.slice(16)}`;
  const dashed = (id: string): string => `${id.slice(0, 6)}-${id.slice(6, 14)}-${id.slice(14)}`;
  const fullWidth = (id: string): string => id.replace(/[0-9]/g, (d) => String.fromCharCode(0xff10 + Number(d)));
  /** Every form of an ID number a sender may use, for the scans: digits only, separators removed. */
  const folded = (text: string): string =>
    text.replace(/[\uFF10-\uFF19]/g, (c) => String.fromCharCode(c.charCodeAt(0) - 0xff10 + 48)).replace(/[\s\u3000\-_]/g, '');

  it('publishes and keeps no clear ID number or name, whatever field or form a sender puts them in', async () => {
    const lettersBefore = (await kafka.readAll(topicOf('deadLetters'))).length;
    const settle = (n: number, extra: Record<string, unknown>): Record<string, unknown> => ({
      ...validRaw.hospitals,
      certno: wang.idNumber,
      psn_name: wang.name,
      setl_id: `S-PII-${n}`,
      mdtrt_id: `M-PII-${n}`,
      ...extra,
    });
    const hospitalRecords = [
      settle(1, {}), // a good record of each person, so their facts are on the topic too
      settle(2, { certno: zhao.idNumber, psn_name: zhao.name }),
      settle(3, { setl_id: wang.idNumber }), // (a) identifiers that are or hold an ID number
      settle(4, { setl_id: `ZY${zhao.idNumber}` }),
      settle(5, { psn_no: wang.idNumber }),
      settle(6, { mdtrt_id: spaced(zhao.idNumber) }),
      settle(7, { insu_admdvs: wang.idNumber }), // (b) the reason quotes the value
      settle(8, { med_type: spaced(wang.idNumber) }), // (c) spaced, dashed, full-width forms
      settle(9, { med_type: dashed(zhao.idNumber) }),
      settle(10, { fixmedins_code: fullWidth(wang.idNumber) }),
      // (d) names elsewhere
      settle(11, { 姓名: zhao.name, psnName: wang.name, remark: `患者${zhao.name} ${spaced(zhao.idNumber)}`, med_type: 'x' }),
      settle(12, { certno: Number(zhao.idNumber) }), // an ID number as a JSON number
      settle(13, { orig_setl_id: fullWidth(zhao.idNumber), is_reversal: true }),
    ];
    const hospitalAnswer = await push('hospitals', hospitalRecords);
    expect(hospitalAnswer.status).toBe(200);
    expect(hospitalAnswer.body).toMatchObject({ accepted: 2, rejected: 11 });
    const civil = { ...validRaw['civil-affairs'], idNumber: zhao.idNumber, name: zhao.name };
    const civilAnswer = await push('civil-affairs', [
      { ...civil, recordId: 'MZ-PII-1' },
      { ...civil, recordId: zhao.idNumber },
      { ...civil, recordId: 'MZ-PII-2', admdvs: dashed(wang.idNumber) },
      { ...civil, recordId: 'MZ-PII-3', 姓名: wang.name, category: fullWidth(wang.idNumber) },
    ]);
    expect(civilAnswer.body).toMatchObject({ accepted: 1, rejected: 3 });
    const csv = [
      '业务编号,版本号,身份证号,姓名,行政区划代码,人员类别,业务类型,纳入日期,退出日期,审批时间,备注',
      `${wang.idNumber},1,${wang.idNumber},${wang.name},330302,防止返贫监测对象,认定,2019-01-15,,2019-01-10 16:00:00,${zhao.name}`,
      `XC-PII-2,1,${wang.idNumber},${wang.name},${spaced(zhao.idNumber)},防止返贫监测对象,认定,2019-01-15,,2019-01-10 ` +
        `16:00:00,${spaced(wang.idNumber)}`,
    ].join('\r\n');
    const upload = await fetch(`${connector('rural-revitalization').url}/v1/files?format=csv`, {
      method: 'POST',
      headers: { 'content-type': 'text/csv', authorization: `Bearer ${keys.get('rural-revitalization') ?? ''}` },
      body: csv,
    });
    expect(await upload.json()).toMatchObject({ rows: 2, rejected: 2 });

    const people = [wang, zhao, zhangSan, liSi];
    const mine = await kafka.topicsStartingWith(config.topicPrefix);
    expect(mine.length).toBeGreaterThanOrEqual(5);
    // Wait for the letters of this case, so the scan sees them.
    await readAtLeast(() => kafka.readAll(topicOf('deadLetters')), lettersBefore + 16);
    let scanned = 0;
    for (const topic of mine) {
      for (const record of await kafka.readAll(topic)) {
        scanned += 1;
        const text = [
          record.key ?? '',
          ...Object.values(record.headers),
          record.value?.toString('utf8') ?? '',
          record.value?.toString('latin1') ?? '',
        ].join('\n');
        for (const person of people) {
          expect(folded(text), `${topic} ${record.partition}/${record.offset}`).not.toContain(person.idNumber);
          expect(text, `${topic} ${record.partition}/${record.offset}`).not.toContain(person.name);
        }
      }
    }
    expect(scanned).toBeGreaterThan(15);
    const redis = new Redis(redisUrl);
    let keysScanned = 0;
    try {
      for await (const batch of redis.scanStream({ match: `*${config.topicPrefix}*`, count: 1_000 }) as AsyncIterable<string[]>) {
        for (const key of batch) {
          keysScanned += 1;
          const type = await redis.type(key);
          const value =
            type === 'string'
              ? ((await redis.getBuffer(key))?.toString('utf8') ?? '')
              : type === 'hash'
                ? JSON.stringify(await redis.hgetall(key))
                : '';
          for (const person of people) {
            expect(folded(`${key}\n${value}`)).not.toContain(person.idNumber);
            expect(value).not.toContain(person.name);
          }
        }
      }
    } finally {
      redis.disconnect();
    }
    expect(keysScanned).toBeGreaterThanOrEqual(3);
  });
});
