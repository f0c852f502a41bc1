import { spawn } from 'node:child_process';
import { join } from 'node:path';
import ExcelJS from 'exceljs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectKafka } from '../../services/kafka/runtime';
import { createLogger } from '../../services/platform/runtime';
import { type RunningDesk } from '../../services/desk';
import { dropDatabase, startDesk } from '../../services/desk/runtime';
import { deskFixture, deskTestEnv, fixtureWarnings, publishFixture, type DeskFixture } from '../support/desk-fixtures';
import { deskClient } from '../support/desk-client';
import { runHub } from '../support/run-hub';

const logger = createLogger({ level: 'silent', role: 'test' });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const serverUrl = process.env.HUB_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

async function caughtUp(desk: RunningDesk): Promise<void> {
  const deadline = Date.now() + 90_000;
  while (!(await desk.consumer.caughtUp())) {
    if (Date.now() > deadline) throw new Error('the desk did not catch up with the topics');
    await sleep(300);
  }
}

/** A digest of every read-model table (what the topics make, not the desk's own state): whole rows, so every column, the new ones too. */
async function readModelDigest(desk: RunningDesk): Promise<Record<string, string>> {
  const tables: Record<string, string> = {
    warnings: 'warning_id',
    receipts: 'event_id',
    deliveries: 'warning_id, agency',
    adjustments: 'setl_id',
    subsidy_corrections: 'contribution_record_id',
    self_pay: 'person_key, benefit_year',
    status_changes: 'event_id',
    settlements: 'setl_id',
  };
  const digest: Record<string, string> = {};
  for (const [table, order] of Object.entries(tables)) {
    const { rows } = await desk.pool.query<{ n: number; md5: string }>(
      `select count(*)::int as n, md5(coalesce(string_agg(t::text, '|' order by ${order}), '')) as md5 from ${table} t`,
    );
    digest[table] = `${rows[0]?.n}:${rows[0]?.md5}`;
  }
  return digest;
}

describe('the warning desk', () => {
  const env = deskTestEnv('rm');
  const fixture: DeskFixture = deskFixture(36);
  const groups: string[] = [];
  let desk: RunningDesk;
  const password = 'Desk-test-pass-2022';

  beforeAll(async () => {
    await publishFixture(env, fixture.records);
    desk = await startDesk(env, logger);
    groups.push(desk.consumer.groupId);
    await caughtUp(desk);
    for (const [user, role] of [
      ['ana', 'ANALYST'],
      ['sup', 'SUPERVISOR'],
      ['civil', 'CIVIL_AFFAIRS_VIEWER'],
      ['rural', 'RURAL_VIEWER'],
      ['aud', 'AUDITOR'],
    ] as const) {
      const added = await runHub(
        ['desk', 'users', 'add', user, '--role', role, '--name', `测试${user}`, '--password-stdin'],
        env,
        `${password}\n`,
      );
      expect(added.stderr).toBe('');
    }
  });

  afterAll(async () => {
    await desk.stop();
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

  it('keeps one row per warning, delivery and settlement the topics carry', async () => {
    const warnings = fixture.records.filter((r) => r.topic === 'quarterlyWarnings').length;
    const { rows } = await desk.pool.query<{ warnings: number; settlements: number; failed: number }>(
      `select (select count(*)::int from warnings) as warnings, (select count(*)::int from settlements) as settlements,
              (select count(*)::int from deliveries where delivery_status = 'FAILED') as failed`,
    );
    const failedPeople = fixture.people.filter((p) => p.index % 6 === 1);
    const failedDeliveries = failedPeople.reduce((n, p) => n + (p.index % 4 === 0 ? 2 : 1), 0);
    expect(rows[0]).toEqual({ warnings, settlements: fixture.people.length, failed: failedDeliveries });
    const followed = await desk.pool.query<{ follow_up_status: string }>(
      `select follow_up_status from warnings where warning_id = 'w-2022-Q2-8'`,
    );
    expect(followed.rows[0]?.follow_up_status).toBe('CLOSED');
    // The fixture's corrections, withdrawals and agencies' answers are in the rows the replay below compares.
    const reruns = fixture.records.filter(
      (r) => r.topic === 'quarterlyWarnings' && (r.record as { supersedes: string | null }).supersedes !== null,
    ).length;
    const newer = await desk.pool.query<{ superseded: number; withdrawn: number; answered: number }>(
      `select (select count(*)::int from warnings where superseded_by is not null) as superseded, (select ` +
        `count(*)::int from warnings where not warned) as withdrawn,
              (select count(*)::int from deliveries where outcome = 'ASSISTANCE_GIVEN' and assistance_fen > 0) as answered`,
    );
    expect(reruns).toBeGreaterThan(2);
    expect(newer.rows[0]?.superseded).toBe(reruns);
    expect(newer.rows[0]?.withdrawn).toBeGreaterThan(0);
    expect(newer.rows[0]?.answered).toBeGreaterThan(0);
  });

  it('gives the same rows after a restart, after its Kafka offsets are lost, and from a dropped database', async () => {
    const before = await readModelDigest(desk);
    await desk.stop();
    // Kafka forgets where the desk was; PostgreSQL's offsets make the re-read apply nothing.
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
    await kafka.deleteGroup(desk.consumer.groupId);
    await kafka.close();
    desk = await startDesk(env, logger);
    await caughtUp(desk);
    await sleep(2_000);
    expect(desk.applied()).toBe(0);
    expect(await readModelDigest(desk)).toEqual(before);

    // The same records sent again (a producer retry upstream) land at new offsets and change nothing.
    await publishFixture(env, fixture.records.slice(0, 40));
    await caughtUp(desk);
    expect(desk.applied()).toBe(40);
    expect(await readModelDigest(desk)).toEqual(before);

    await desk.stop();
    await dropDatabase(serverUrl, env.HUB_DESK_DATABASE ?? '');
    desk = await startDesk(env, logger);
    groups.push(desk.consumer.groupId);
    await caughtUp(desk);
    expect(await readModelDigest(desk)).toEqual(before);
    for (const [user, role] of [
      ['ana', 'ANALYST'],
      ['sup', 'SUPERVISOR'],
      ['civil', 'CIVIL_AFFAIRS_VIEWER'],
      ['rural', 'RURAL_VIEWER'],
      ['aud', 'AUDITOR'],
    ] as const) {
      await runHub(['desk', 'users', 'add', user, '--role', role, '--password-stdin'], env, `${password}\n`);
    }
  }, 240_000);

  it('refuses requests without a session, a wrong password, a disabled user and a POST without the CSRF token', async () => {
    expect((await fetch(new URL('/api/warnings?period=2022-Q2', desk.url))).status).toBe(401);
    const client = deskClient(desk.url);
    expect((await client.login('ana', 'wrong-password-1')).status).toBe(401);
    expect((await client.login('ana', password)).status).toBe(200);
    const key = fixture.people[0]?.personKey ?? '';
    expect((await client.post(`/api/people/${key}/clear-id`, { reason: '核实救助申请' }, { csrf: false })).status).toBe(403);
    expect((await client.get('/api/warnings?period=2022-Q2&limit=5000')).status).toBe(400);
    expect((await client.get('/api/warnings?period=2022-Q2&drop=1')).status).toBe(400);

    await runHub(['desk', 'users', 'add', 'gone', '--role', 'ANALYST', '--password-stdin'], env, `${password}\n`);
    const gone = deskClient(desk.url);
    expect((await gone.login('gone', password)).status).toBe(200);
    expect((await runHub(['desk', 'users', 'disable', 'gone'], env)).code).toBe(0);
    expect((await gone.get('/api/session')).status).toBe(401);
    expect((await gone.login('gone', password)).status).toBe(401);
    const listed = await runHub(['desk', 'users', 'list'], env);
    expect(listed.stdout).toMatch(/gone\s+ANALYST\s+disabled/);
    expect(listed.stdout).not.toContain(password);

    // Five wrong passwords in a row lock the name for a while, the right one included.
    for (let i = 0; i < 5; i += 1) expect((await deskClient(desk.url).login('gone-by-guessing', `wrong-${i}-password`)).status).toBe(401);
    await runHub(['desk', 'users', 'add', 'guessed', '--role', 'AUDITOR', '--password-stdin'], env, `${password}\n`);
    for (let i = 0; i < 5; i += 1) await deskClient(desk.url).login('guessed', `wrong-${i}-password`);
    expect((await deskClient(desk.url).login('guessed', password)).status).toBe(429);
    expect((await deskClient(desk.url).login('sup', password)).status).toBe(200);

    // A session ends at its lifetime.
    await desk.pool.query(
      `update sessions set expires_at = now() - interval '1 second' where user_id = (select id from users where username = 'ana')`,
    );
    expect((await client.get('/api/session')).status).toBe(401);
  });

  it('pages a filtered list by self-pay without losing or repeating a row', async () => {
    const client = deskClient(desk.url);
    await client.login('ana', password);
    const expected = fixtureWarnings(fixture)
      .filter((w) => w.period === '2022-Q2' && w.routedTo.includes('CIVIL_AFFAIRS'))
      .sort((a, b) => b.selfPayFen - a.selfPayFen || (a.eventId < b.eventId ? 1 : -1))
      .map((w) => w.eventId);
    const seen: string[] = [];
    let after = '';
    for (;;) {
      const page = await client.json<{ rows: { warningId: string }[]; next: string | null }>(
        `/api/warnings?period=2022-Q2&agency=CIVIL_AFFAIRS&limit=7${after}`,
      );
      seen.push(...page.rows.map((r) => r.warningId));
      if (page.next === null) break;
      after = `&after=${page.next}`;
    }
    expect(seen).toEqual(expected);
    const failed = await client.json<{ rows: { deliveryStatus: string }[] }>(
      '/api/warnings?period=2022-Q2&deliveryStatus=FAILED&limit=200',
    );
    // A withdrawn warning (every ninth from the eighth person) is out of the list, failed or not.
    expect(failed.rows.length).toBe(fixture.people.filter((p) => p.index % 6 === 1 && p.index % 9 !== 7).length);
  });

  it('shows an agency viewer only warnings routed to their agency and no clear ID', async () => {
    const rural = deskClient(desk.url);
    await rural.login('rural', password);
    const page = await rural.json<{ rows: { routedTo: string[] }[] }>('/api/warnings?period=2022-Q2&limit=200');
    const routedRural = fixtureWarnings(fixture).filter(
      (w) => w.period === '2022-Q2' && w.routedTo.includes('RURAL_REVITALIZATION'),
    ).length;
    expect(page.rows.length).toBe(routedRural);
    expect(page.rows.every((r) => r.routedTo.includes('RURAL_REVITALIZATION'))).toBe(true);
    expect((await rural.get('/api/warnings?period=2022-Q2&agency=CIVIL_AFFAIRS')).status).toBe(403);
    const civilOnly = fixture.people.find((p) => p.agency === 'CIVIL_AFFAIRS' && p.index % 7 !== 0);
    expect((await rural.get(`/api/warnings/w-2022-Q2-${civilOnly?.index}`)).status).toBe(404);
    expect((await rural.get(`/api/people/${civilOnly?.personKey}/timeline`)).status).toBe(404);
    const ruralPerson = fixture.people.find((p) => p.agency === 'RURAL_REVITALIZATION');
    expect((await rural.get(`/api/people/${ruralPerson?.personKey}/timeline`)).status).toBe(200);
    expect((await rural.post(`/api/people/${ruralPerson?.personKey}/clear-id`, { reason: '核实救助申请' })).status).toBe(403);
    expect((await rural.get('/api/payments')).status).toBe(403);
    const overview = await rural.json<{ total: number; owed: unknown }>('/api/overview?period=2022-Q2');
    expect(overview).toMatchObject({ total: routedRural, owed: null });
  });

  it('opens a clear ID only with a reason, writes who, whom and why to an audit log PostgreSQL keeps from edits', async () => {
    const analyst = deskClient(desk.url);
    await analyst.login('ana', password);
    const person = fixture.people[4];
    expect((await analyst.post(`/api/people/${person?.personKey}/clear-id`, { reason: '' })).status).toBe(400);
    const opened = await analyst.post(`/api/people/${person?.personKey}/clear-id`, { reason: '核实大病保险补支付对象' });
    expect(await opened.json()).toEqual({ personKey: person?.personKey, idNumber: person?.idNumber });
    const timeline = await (await analyst.get(`/api/people/${person?.personKey}/timeline`)).text();
    expect(timeline).not.toContain(person?.idNumber);

    const auditor = deskClient(desk.url);
    await auditor.login('aud', password);
    const audit = await auditor.json<{ rows: { actor: string; action: string; personKey: string; reason: string }[] }>('/api/audit');
    expect(audit.rows.find((r) => r.action === 'VIEW_CLEAR_ID')).toMatchObject({
      actor: 'ana',
      personKey: person?.personKey,
      reason: '核实大病保险补支付对象',
    });
    expect((await analyst.get('/api/audit')).status).toBe(403);
    await expect(desk.pool.query(`update audit_log set reason = 'x'`)).rejects.toThrow(/append-only/);
    await expect(desk.pool.query('delete from audit_log')).rejects.toThrow(/append-only/);
    await expect(desk.pool.query('truncate audit_log')).rejects.toThrow(/append-only/);
    const rows = await desk.pool.query<{ detail: unknown }>(`select * from audit_log where action = 'VIEW_CLEAR_ID'`);
    expect(JSON.stringify(rows.rows)).not.toContain(person?.idNumber);
  });

  it('lists what each fund owes, exports it, and lets a supervisor mark items paid', async () => {
    const supervisor = deskClient(desk.url);
    await supervisor.login('sup', password);
    const owedByInsurer = fixture.records
      .filter((r) => r.topic === 'benefitAdjustments')
      .reduce(
        (sum, r) =>
          sum +
          (r.record as { dueCriticalIllnessFen: number; settledCriticalIllnessFen: number }).dueCriticalIllnessFen -
          (r.record as { settledCriticalIllnessFen: number }).settledCriticalIllnessFen,
        0,
      );
    const owed = await supervisor.json<{ rows: { itemKind: string; itemId: string; fund: string; amountFen: number }[] }>(
      '/api/payments?fund=CRITICAL_ILLNESS&state=OWED',
    );
    expect(owed.rows.reduce((s, r) => s + r.amountFen, 0)).toBe(owedByInsurer);
    const tax = await supervisor.json<{ rows: unknown[] }>('/api/payments?fund=TAX_BUREAU');
    expect(tax.rows.length).toBe(fixture.records.filter((r) => r.topic === 'subsidyCorrections').length);

    const first = owed.rows[0];
    const item = { itemKind: first?.itemKind, itemId: first?.itemId, fund: first?.fund };
    const analyst = deskClient(desk.url);
    await analyst.login('ana', password);
    expect((await analyst.post('/api/payments/mark-paid', { items: [item], paidOn: '2022-07-01' })).status).toBe(403);
    expect(
      (await supervisor.post('/api/payments/mark-paid', { items: [{ ...item, itemId: 'S-none' }], paidOn: '2022-07-01' })).status,
    ).toBe(400);
    const marked = await supervisor.post('/api/payments/mark-paid', { items: [item], paidOn: '2022-07-01' });
    expect(await marked.json()).toEqual({ marked: 1 });
    const paid = await supervisor.json<{ rows: { itemId: string; paidOn: string }[] }>('/api/payments?fund=CRITICAL_ILLNESS&state=PAID');
    expect(paid.rows).toMatchObject([{ itemId: first?.itemId, paidOn: '2022-07-01' }]);

    const xlsx = await supervisor.get('/api/payments/export.xlsx?fund=CRITICAL_ILLNESS&state=OWED');
    const workbook = new ExcelJS.Workbook();
    await workbook.xlsx.load(Buffer.from(await xlsx.arrayBuffer()) as unknown as ArrayBuffer);
    const sheet = workbook.getWorksheet('应付清单');
    expect(sheet?.getRow(1).getCell(1).value).toBe('付款方');
    expect(sheet?.getRow(1).getCell(8).value).toBe('应付金额（元）');
    expect(sheet?.rowCount).toBe(owed.rows.length); // header + the rows still owed (one is paid now)
    expect(sheet?.getRow(2).getCell(8).numFmt).toBe('#,##0.00');
  });

  it('runs as `hub desk`: serves the page and health, and stops on SIGTERM', async () => {
    const child = spawn(process.execPath, [join(import.meta.dirname, '../../bin/hub.mjs'), 'desk'], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
    });
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      const deadline = Date.now() + 60_000;
      while (!/warning desk at (http:\/\/\S+)/.test(output)) {
        if (Date.now() > deadline || child.exitCode !== null) throw new Error(`hub desk did not start: ${output}`);
        await sleep(200);
      }
      const url = /warning desk at (http:\/\/\S+)/.exec(output)?.[1] ?? '';
      expect(await (await fetch(`${url}/healthz`)).json()).toEqual({ ok: true });
      expect((await fetch(`${url}/readyz`)).status).toBe(200);
      const page = await (await fetch(url)).text();
      expect(page).toContain('<html lang="zh-CN">');
      expect(page).not.toMatch(/https?:\/\/(?!127\.0\.0\.1)/);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
  }, 90_000);

  it('lists failed and dead deliveries; a retry of a delivery the queue does not hold says so and is recorded', async () => {
    const analyst = deskClient(desk.url);
    await analyst.login('ana', password);
    const failed = await analyst.json<{ rows: { warningId: string; agency: string; dead: boolean; attempt: number }[] }>(
      '/api/deliveries/failed',
    );
    expect(failed.rows.filter((r) => r.dead).every((r) => r.attempt === 5)).toBe(true);
    expect(failed.rows.some((r) => r.dead)).toBe(true);
    const target = failed.rows.find((r) => !r.dead);
    // The fixture's failures came from the topics only: the delivery queue has no such job (see desk-retry.test.ts for a real one).
    expect((await analyst.post('/api/deliveries/retry', { warningId: target?.warningId, agency: target?.agency })).status).toBe(409);
    const { rows } = await desk.pool.query('select warning_id, agency, requested_by, outcome from delivery_retries');
    expect(rows).toEqual([{ warning_id: target?.warningId, agency: target?.agency, requested_by: 'ana', outcome: 'NOT_FOUND' }]);
    const after = await analyst.json<{ rows: { warningId: string; retryOutcome: string | null }[] }>('/api/deliveries/failed');
    expect(after.rows.find((r) => r.warningId === target?.warningId)?.retryOutcome).toBe('NOT_FOUND');
    expect((await analyst.post('/api/deliveries/retry', { warningId: 'w-2022-Q2-0', agency: 'CIVIL_AFFAIRS' })).status).toBe(404);
  });
});
