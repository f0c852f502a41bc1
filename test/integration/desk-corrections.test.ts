import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { topics, type TopicRecords } from '../../schemas';
import { connectKafka } from '../../services/kafka/runtime';
import { createLogger } from '../../services/platform/runtime';
import { type RunningDesk } from '../../services/desk';
import { dropDatabase, startDesk } from '../../services/desk/runtime';
import { deskFixture, deskTestEnv, publishFixture, type FixtureRecord } from '../support/desk-fixtures';
import { deskClient, type DeskClient } from '../support/desk-client';
import { launchChromium } from '../support/chromium';
import { runHub } from '../support/run-hub';

/**
 * Corrections and withdrawals of warnings, the agencies' answers, and a record the desk cannot
 * decode, on the real stack: the correction is published before the warning it supersedes, and the
 * read model built again from the topics must give the same rows.
 */
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const serverUrl = process.env.HUB_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const password = 'Desk-test-pass-2022';

type Warning = TopicRecords['quarterlyWarnings'];
type Receipt = TopicRecords['deliveryReceipts'];

async function caughtUp(desk: RunningDesk): Promise<void> {
  const deadline = Date.now() + 90_000;
  while (!(await desk.consumer.caughtUp())) {
    if (Date.now() > deadline) throw new Error('the desk did not catch up with the topics');
    await sleep(300);
  }
}

async function digest(desk: RunningDesk): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const [table, order] of Object.entries({ warnings: 'warning_id', receipts: 'event_id', deliveries: 'warning_id, agency' })) {
    const { rows } = await desk.pool.query<{ n: number; md5: string }>(
      `select count(*)::int as n, md5(coalesce(string_agg(t::text, '|' order by ${order}), '')) as md5 from ${table} t`,
    );
    out[table] = `${rows[0]?.n}:${rows[0]?.md5}`;
  }
  return out;
}

describe('the desk on corrections, withdrawals and agency answers', () => {
  const env = deskTestEnv('corr');
  // The shared fixture's own reruns and answers left out: this test writes its own, in its own order.
  const shared = deskFixture(6);
  const fixture = {
    ...shared,
    records: shared.records.filter(
      (r) =>
        !(r.topic === 'quarterlyWarnings' && (r.record as Warning).supersedes !== null) &&
        !(r.topic === 'deliveryReceipts' && (r.record as Receipt).outcome !== null),
    ),
  };
  const warning = (id: string): FixtureRecord<'quarterlyWarnings'> => {
    const found = fixture.records.find((r) => r.topic === 'quarterlyWarnings' && (r.record as Warning).eventId === id);
    if (found === undefined) throw new Error(id);
    return found as FixtureRecord<'quarterlyWarnings'>;
  };
  const original = warning('w-2022-Q2-0');
  const correction: FixtureRecord<'quarterlyWarnings'> = {
    topic: 'quarterlyWarnings',
    key: original.key,
    record: {
      ...original.record,
      eventId: 'w-2022-Q2-0-c1',
      recordedAt: original.record.recordedAt + 86_400_000,
      selfPayFen: original.record.selfPayFen + 1_000_00,
      supersedes: 'w-2022-Q2-0',
      changes: ['个人自付费用：增加 1,000.00 元'],
      settlements: [
        {
          fixmedinsCode: 'H34100200000',
          setlId: 'S-0',
          settledAt: '2022-06-10',
          medfeeFen: 300_000_00,
          basicFen: 1,
          criticalIllnessFen: 2,
          assistanceFen: 3,
          selfPayFen: 123_456_78,
        },
      ],
    },
  };
  const withdrawn = warning('w-2022-Q2-2');
  const withdrawal: FixtureRecord<'quarterlyWarnings'> = {
    topic: 'quarterlyWarnings',
    key: withdrawn.key,
    record: {
      ...withdrawn.record,
      eventId: 'w-2022-Q2-2-x',
      recordedAt: withdrawn.record.recordedAt + 86_400_000,
      warned: false,
      reasons: [],
      supersedes: 'w-2022-Q2-2',
      changes: ['不再符合预警条件'],
    },
  };
  const answer = (warningId: string, agency: Receipt['agency'], n: number, fields: Partial<Receipt>): FixtureRecord<'deliveryReceipts'> => {
    const w = warningId === correction.record.eventId ? correction.record : warning(warningId).record;
    return {
      topic: 'deliveryReceipts',
      key: w.personKey,
      record: {
        eventId: `answer-${warningId}-${agency}-${n}`,
        source: 'civil-affairs:api:test',
        occurredAt: w.occurredAt + 86_400_000 * n,
        recordedAt: w.occurredAt + 86_400_000 * n,
        warningId,
        agency,
        channel: 'WEBHOOK',
        status: 'FOLLOW_UP_CLOSED',
        attempt: 1,
        detail: null,
        outcome: null,
        assistanceKind: null,
        assistanceFen: null,
        certifiedCategory: null,
        reason: null,
        agencyRecordId: `MZ-${warningId}-${n}`,
        personKey: w.personKey,
        period: w.period,
        ...fields,
      },
    };
  };
  const answers = [
    answer('w-2022-Q2-3', 'CIVIL_AFFAIRS', 1, { status: 'ACKNOWLEDGED', outcome: 'RECEIVED' }),
    answer('w-2022-Q2-3', 'CIVIL_AFFAIRS', 2, { outcome: 'ASSISTANCE_GIVEN', assistanceKind: '临时救助', assistanceFen: 1_234_56 }),
    answer('w-2022-Q2-4', 'CIVIL_AFFAIRS', 1, { outcome: 'CERTIFIED', certifiedCategory: 'ILLNESS_POVERTY' }),
    answer('w-2022-Q2-5', 'RURAL_REVITALIZATION', 1, { status: 'ACKNOWLEDGED', outcome: 'NO_ACTION', reason: '已由其他渠道救助' }),
    // The correction of person 0 is routed to both agencies; each answers.
    answer('w-2022-Q2-0-c1', 'CIVIL_AFFAIRS', 1, { status: 'ACKNOWLEDGED', outcome: 'RECEIVED' }),
    answer('w-2022-Q2-0-c1', 'RURAL_REVITALIZATION', 1, { status: 'ACKNOWLEDGED', outcome: 'NO_ACTION', reason: '非本部门对象' }),
  ];
  const logLines: string[] = [];
  const logger = createLogger({
    level: 'error',
    role: 'test',
    destination: new Writable({
      write(chunk, _enc, done) {
        logLines.push(String(chunk));
        done();
      },
    }),
  });
  const groups: string[] = [];
  let desk: RunningDesk;
  let analyst: DeskClient;
  let garbageOffset = '';

  beforeAll(async () => {
    // The correction first: the desk reads it before the warning it supersedes.
    await publishFixture(env, [correction]);
    const kafka = connectKafka(
      {
        brokers: [env.HUB_KAFKA_BROKERS ?? '127.0.0.1:9092'],
        clientId: 'desk-test',
        topicPrefix: env.HUB_TOPIC_PREFIX ?? '',
        partitions: 3,
        replication: 1,
      },
      logger,
    );
    const producer = await kafka.createProducer();
    const name = `${env.HUB_TOPIC_PREFIX ?? ''}${topics.quarterlyWarnings.name}`;
    // Bytes that are not a registry-framed Avro record, between good ones on the same partition.
    await producer.send(name, [{ key: original.key, value: Buffer.from('{"personKey":"not avro"}') }]);
    await producer.close();
    const ends = await kafka.endOffsets(name);
    garbageOffset =
      [...ends.values()]
        .map((v) => BigInt(v))
        .find((v) => v > 1n)
        ?.toString() ?? '';
    await kafka.close();
    await publishFixture(env, [...fixture.records, withdrawal, ...answers]);
    desk = await startDesk(env, logger);
    groups.push(desk.consumer.groupId);
    await caughtUp(desk);
    await runHub(['desk', 'users', 'add', 'ana', '--role', 'ANALYST', '--password-stdin'], env, `${password}\n`);
    await runHub(['desk', 'users', 'add', 'civ', '--role', 'CIVIL_AFFAIRS_VIEWER', '--password-stdin'], env, `${password}\n`);
    analyst = deskClient(desk.url);
    await analyst.login('ana', password);
  }, 180_000);

  afterAll(async () => {
    await desk?.stop();
    const kafka = connectKafka(
      {
        brokers: [env.HUB_KAFKA_BROKERS ?? '127.0.0.1:9092'],
        clientId: 'desk-test',
        topicPrefix: env.HUB_TOPIC_PREFIX ?? '',
        partitions: 3,
        replication: 1,
      },
      logger,
    );
    for (const group of groups) await kafka.deleteGroup(group).catch(() => undefined);
    await kafka.close();
    await dropDatabase(serverUrl, env.HUB_DESK_DATABASE ?? '');
  });

  it(
    'lists and counts only the latest word per person-period: the correction, not what it replaced, and no ' + 'withdrawn warning',
    async () => {
      const page = await analyst.json<{ rows: { warningId: string; selfPayFen: number }[] }>('/api/warnings?period=2022-Q2&limit=200');
      const ids = page.rows.map((r) => r.warningId).sort();
      expect(ids).toEqual(['w-2022-Q2-0-c1', 'w-2022-Q2-1', 'w-2022-Q2-3', 'w-2022-Q2-4', 'w-2022-Q2-5']);
      expect(page.rows.find((r) => r.warningId === 'w-2022-Q2-0-c1')?.selfPayFen).toBe(correction.record.selfPayFen);
      const overview = await analyst.json<{
        total: number;
        selfPayFen: number;
        trend: { period: string; count: number; selfPayFen: number }[];
      }>('/api/overview?period=2022-Q2');
      const expected = page.rows.reduce((n, r) => n + r.selfPayFen, 0);
      expect(overview.total).toBe(5);
      expect(overview.selfPayFen).toBe(expected);
      expect(overview.trend.find((t) => t.period === '2022-Q2')).toEqual({ period: '2022-Q2', count: 5, selfPayFen: expected });
    },
  );

  it(
    "keeps the corrected and the withdrawn warning in the person's timeline as history, with the changes and " + 'the settlements',
    async () => {
      type T = {
        warnings: {
          warningId: string;
          state: string;
          supersededBy: string | null;
          changes: string[];
          settlements: { setlId: string; selfPayFen: number }[];
        }[];
      };
      const p0 = await analyst.json<T>(`/api/people/${original.key}/timeline`);
      const q2 = p0.warnings.filter((w) => w.warningId.startsWith('w-2022-Q2'));
      expect(q2.map((w) => [w.warningId, w.state, w.supersededBy])).toEqual([
        ['w-2022-Q2-0', 'CORRECTED', 'w-2022-Q2-0-c1'],
        ['w-2022-Q2-0-c1', 'CURRENT', null],
      ]);
      expect(q2[1]?.changes).toEqual(['个人自付费用：增加 1,000.00 元']);
      expect(q2[1]?.settlements).toEqual([expect.objectContaining({ setlId: 'S-0', selfPayFen: 123_456_78 })]);
      const p2 = await analyst.json<T>(`/api/people/${withdrawn.key}/timeline`);
      expect(p2.warnings.map((w) => [w.warningId, w.state])).toEqual([
        ['w-2022-Q2-2', 'WITHDRAWN'],
        ['w-2022-Q2-2-x', 'WITHDRAWN'],
      ]);
    },
  );

  it("derives the follow-up status from the agencies' answers, filters by it, and still filters by the older statuses", async () => {
    type Row = {
      warningId: string;
      outcomes: {
        agency: string;
        outcome: string;
        assistanceKind: string | null;
        assistanceFen: number | null;
        certifiedCategory: string | null;
        reason: string | null;
        agencyRecordId: string | null;
      }[];
    };
    const list = async (status: string) =>
      (await analyst.json<{ rows: Row[] }>(`/api/warnings?period=2022-Q2&followUpStatus=${status}`)).rows;
    const given = await list('ASSISTANCE_GIVEN');
    expect(given.map((r) => r.warningId)).toEqual(['w-2022-Q2-3']);
    // The latest answer is the agency's word: RECEIVED, then ASSISTANCE_GIVEN.
    expect(given[0]?.outcomes).toEqual([
      {
        agency: 'CIVIL_AFFAIRS',
        outcome: 'ASSISTANCE_GIVEN',
        assistanceKind: '临时救助',
        assistanceFen: 1_234_56,
        certifiedCategory: null,
        reason: null,
        agencyRecordId: 'MZ-w-2022-Q2-3-2',
      },
    ]);
    expect((await list('CERTIFIED')).map((r) => [r.warningId, r.outcomes[0]?.certifiedCategory])).toEqual([
      ['w-2022-Q2-4', 'ILLNESS_POVERTY'],
    ]);
    expect((await list('NO_ACTION')).map((r) => r.warningId).sort()).toEqual(['w-2022-Q2-0-c1', 'w-2022-Q2-5']);
    expect((await list('RECEIVED')).map((r) => [r.warningId, r.outcomes.map((o) => o.outcome)])).toEqual([
      ['w-2022-Q2-0-c1', ['RECEIVED', 'NO_ACTION']],
    ]);
    // A civil-affairs viewer sees civil affairs' answer only.
    const civil = deskClient(desk.url);
    await civil.login('civ', password);
    const seen = await civil.json<{ rows: Row[] }>('/api/warnings?period=2022-Q2&followUpStatus=RECEIVED');
    expect(seen.rows.map((r) => r.outcomes.map((o) => o.agency))).toEqual([['CIVIL_AFFAIRS']]);
    expect((await list('CLOSED')).map((r) => r.warningId).sort()).toEqual(['w-2022-Q2-3', 'w-2022-Q2-4']);
    const timeline = await analyst.json<{
      warnings: { warningId: string; deliveries: { outcome: string | null; assistanceFen: number | null }[] }[];
    }>(`/api/people/${warning('w-2022-Q2-3').key}/timeline`);
    expect(timeline.warnings.find((w) => w.warningId === 'w-2022-Q2-3')?.deliveries.filter((d) => d.outcome !== null)).toEqual([
      expect.objectContaining({ outcome: 'RECEIVED', assistanceFen: null }),
      expect.objectContaining({ outcome: 'ASSISTANCE_GIVEN', assistanceFen: 1_234_56 }),
    ]);
    const meta = await analyst.json<{ followUp: Record<string, string> }>('/api/meta');
    expect(meta.followUp).toMatchObject({
      RECEIVED: '已接收',
      ASSISTANCE_GIVEN: '已救助',
      CERTIFIED: '已认定',
      NO_ACTION: '无需处理',
      CLOSED: '已办结',
    });
  });

  it("shows 已更正 with the changes and 已撤销 in the timeline, and the agency's answer in the list, in a browser", async () => {
    const browser = await launchChromium();
    try {
      const page = await (await browser.newContext({ locale: 'zh-CN' })).newPage();
      await page.goto(desk.url);
      await page.fill('input[name=username]', 'ana');
      await page.fill('input[name=password]', password);
      await page.click('button[type=submit]');
      await page.waitForSelector('#kpi-total');
      await page.goto(`${desk.url}#/person/${encodeURIComponent(original.key)}`);
      await page.waitForSelector('tr[data-warning-id="w-2022-Q2-0"] .warning-state');
      expect(await page.textContent('tr[data-warning-id="w-2022-Q2-0"] .warning-state')).toBe('已更正');
      expect(await page.textContent('tr[data-warning-id="w-2022-Q2-0-c1"]')).toContain('个人自付费用：增加 1,000.00 元');
      expect(await page.textContent('tr[data-warning-id="w-2022-Q2-0-c1"]')).toContain('自付 123,456.78 元');
      await page.goto(`${desk.url}#/person/${encodeURIComponent(withdrawn.key)}`);
      await page.waitForSelector('tr[data-warning-id="w-2022-Q2-2-x"] .warning-state');
      expect(await page.textContent('tr[data-warning-id="w-2022-Q2-2-x"] .warning-state')).toBe('已撤销');
      await page.goto(`${desk.url}#/warnings?period=2022-Q2&followUpStatus=ASSISTANCE_GIVEN`);
      await page.waitForSelector('#warning-table .follow-up');
      expect(await page.textContent('#warning-table .follow-up')).toBe('已救助（临时救助 1,234.56 元）');
    } finally {
      await browser.close();
    }
  }, 60_000);

  it('skips a record it cannot decode: logged by position without its payload, counted, its offset committed', async () => {
    const name = `${env.HUB_TOPIC_PREFIX ?? ''}${topics.quarterlyWarnings.name}`;
    const line = logLines.find((l) => l.includes('cannot decode'));
    expect(line).toBeDefined();
    const logged = JSON.parse(line ?? '{}') as { level: number; topic: string; partition: number; offset: string };
    expect(logged).toMatchObject({ level: 50, topic: name });
    expect(BigInt(logged.offset) + 1n).toBe(BigInt(garbageOffset));
    expect(line).not.toContain('not avro');
    const stored = await desk.pool.query<{ next_offset: string }>(
      'select next_offset from consumer_offsets where topic = $1 and partition = $2',
      [name, logged.partition],
    );
    expect(BigInt(stored.rows[0]?.next_offset ?? '0')).toBeGreaterThan(BigInt(logged.offset));
    const metrics = await (await fetch(new URL('/metrics', desk.url))).text();
    expect(metrics).toMatch(
      new RegExp(
        `hub_records_total\\{[^}]*topic="${name.replace(/\./g, '\\.')}"[^}]*outcome="undecodable"[^}]*\\} ` +
          `1|hub_records_total\\{[^}]*outcome="undecodable"[^}]*topic="${name.replace(/\./g, '\\.')}"[^}]*\\} 1`,
      ),
    );
  });

  it('gives the same rows when the read model is built again from the topics', async () => {
    const before = await digest(desk);
    await desk.stop();
    await dropDatabase(serverUrl, env.HUB_DESK_DATABASE ?? '');
    desk = await startDesk(env, logger);
    groups.push(desk.consumer.groupId);
    await caughtUp(desk);
    expect(await digest(desk)).toEqual(before);
  }, 120_000);
});
