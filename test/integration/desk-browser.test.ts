import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import ExcelJS from 'exceljs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectKafka } from '../../services/kafka/runtime';
import { createLogger } from '../../services/platform/runtime';
import { type RunningDesk } from '../../services/desk';
import { dropDatabase, startDesk } from '../../services/desk/runtime';
import { launchChromium } from '../support/chromium';
import { deskFixture, deskTestEnv, fixtureWarnings, publishFixture } from '../support/desk-fixtures';
import { runHub } from '../support/run-hub';

const logger = createLogger({ level: 'silent', role: 'test' });
const artifacts = join(import.meta.dirname, '../artifacts');
const serverUrl = process.env.HUB_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const password = 'Browser-test-2022';
/** Polls the page from Node: the desk's CSP forbids the string evaluation waitForFunction would use. */
async function until(what: string, probe: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
const moneyPattern = /^-?\d{1,3}(,\d{3})*\.\d{2}$/;

describe('the warning desk in a browser', () => {
  const env = deskTestEnv('ui');
  const fixture = deskFixture(60, 29);
  let desk: RunningDesk;
  let browser: Browser;

  beforeAll(async () => {
    mkdirSync(artifacts, { recursive: true });
    browser = await launchChromium();
    await publishFixture(env, fixture.records);
    desk = await startDesk(env, logger);
    const deadline = Date.now() + 90_000;
    while (!(await desk.consumer.caughtUp())) {
      if (Date.now() > deadline) throw new Error('the desk did not catch up');
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    for (const [user, role, name] of [
      ['wang', 'ANALYST', '王分析'],
      ['civil', 'CIVIL_AFFAIRS_VIEWER', '李民政'],
      ['zhao', 'SUPERVISOR', '赵主管'],
      ['qian', 'AUDITOR', '钱审计'],
    ] as const) {
      expect(
        (await runHub(['desk', 'users', 'add', user, '--role', role, '--name', name, '--password-stdin'], env, `${password}\n`)).code,
      ).toBe(0);
    }
  });

  afterAll(async () => {
    await browser?.close();
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
    if (desk !== undefined) await kafka.deleteGroup(desk.consumer.groupId).catch(() => undefined);
    await kafka.close();
    await dropDatabase(serverUrl, env.HUB_DESK_DATABASE ?? '');
  });

  async function logIn(username: string): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 1366, height: 768 }, locale: 'zh-CN', acceptDownloads: true });
    const page = await context.newPage();
    await page.goto(desk.url);
    await page.fill('input[name=username]', username);
    await page.fill('input[name=password]', password);
    await page.click('button[type=submit]');
    await page.waitForSelector('#kpi-total');
    return page;
  }

  it('logs an analyst in to an overview with charts, filters the list, exports it and opens a person with the clear ID', async () => {
    const context = await browser.newContext({ viewport: { width: 1366, height: 768 }, locale: 'zh-CN' });
    const anonymous = await context.newPage();
    await anonymous.goto(desk.url);
    await anonymous.fill('input[name=username]', 'wang');
    await anonymous.fill('input[name=password]', 'not-the-password-1');
    await anonymous.click('button[type=submit]');
    await anonymous.waitForSelector('.error');
    expect(await anonymous.textContent('.error')).toContain('用户名或密码错误');
    await anonymous.screenshot({ path: join(artifacts, 'desk-login.png') });
    await context.close();

    const page = await logIn('wang');
    const q2 = fixtureWarnings(fixture).filter((w) => w.period === '2022-Q2');
    expect(await page.textContent('#kpi-total')).toBe(String(q2.length));
    // ECharts drew on a canvas in each chart box.
    await page.waitForSelector('#chart-region canvas');
    expect(await page.locator('.chart canvas').count()).toBeGreaterThanOrEqual(5);
    await page.screenshot({ path: join(artifacts, 'desk-overview.png'), fullPage: true });

    await page.click('nav a[data-page=warnings]');
    await page.waitForSelector('#warning-table');
    await page.selectOption('select[name=category]', 'DIBAO');
    await page.click('#warning-filters button[type=submit]');
    await until('the list filtered to DIBAO', async () => {
      const cells = await page.locator('#warning-table tbody td:nth-child(3)').allTextContents();
      return cells.length > 0 && cells.every((c) => c === '低保对象');
    });
    const dibao = q2.filter((w) => w.categories.includes('DIBAO'));
    const rows = page.locator('#warning-table tbody tr');
    expect(await rows.count()).toBe(Math.min(50, dibao.length));
    expect(await rows.locator('td:nth-child(3)').allTextContents()).toEqual(Array(Math.min(50, dibao.length)).fill('低保对象'));
    const amounts = await rows.locator('td:nth-child(6)').allTextContents();
    expect(amounts.every((a) => moneyPattern.test(a))).toBe(true);
    const highest = Math.max(...dibao.map((w) => w.selfPayFen));
    expect(amounts[0]).toBe(`${Math.floor(highest / 100).toLocaleString('en-US')}.${String(highest % 100).padStart(2, '0')}`);
    await page.screenshot({ path: join(artifacts, 'desk-warnings.png'), fullPage: true });

    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#export-warnings')]);
    const file = join(artifacts, 'desk-warnings.xlsx');
    await download.saveAs(file);
    const workbook = new ExcelJS.Workbook();
    await workbook.xlsx.readFile(file);
    const sheet = workbook.getWorksheet('预警清单');
    expect(sheet?.getRow(1).values).toContain('个人自付（元）');
    expect((sheet?.rowCount ?? 0) - 1).toBe(dibao.length);

    await rows.first().locator('a.key').click();
    await page.waitForSelector('#person-key');
    const personKey = await page.textContent('#person-key');
    const person = fixture.people.find((p) => p.personKey === personKey);
    expect(await page.textContent('#clear-id')).toBe('已加密，不显示');
    await page.click('#show-clear-id');
    expect(await page.textContent('#clear-id')).toContain('请先填写查看原因');
    await page.fill('input[name=reason]', '核实医疗救助申请材料');
    await page.click('#show-clear-id');
    await until('the clear ID shown', async () => /^\d{17}[\dX]$/.test((await page.textContent('#clear-id')) ?? ''));
    expect(await page.textContent('#clear-id')).toBe(person?.idNumber);
    expect(await page.textContent('main')).toContain('结算（各基金支付）');
    await page.screenshot({ path: join(artifacts, 'desk-person.png'), fullPage: true });

    await page.click('nav a[data-page=deliveries]');
    await page.waitForSelector('#delivery-table');
    await page.screenshot({ path: join(artifacts, 'desk-deliveries.png'), fullPage: true });
    await page.click('nav a[data-page=payments]');
    await page.waitForSelector('#payments-table');
    await page.screenshot({ path: join(artifacts, 'desk-payments.png'), fullPage: true });
  });

  it('shows the auditor who opened which clear ID and why, with no way to change it', async () => {
    const page = await logIn('qian');
    await page.click('nav a[data-page=audit]');
    await page.waitForSelector('#audit-table');
    const rows = await page.locator('#audit-table tbody tr').allTextContents();
    expect(rows.some((r) => r.includes('wang') && r.includes('查看身份证号明文') && r.includes('核实医疗救助申请材料'))).toBe(true);
    expect(await page.locator('#audit-table button, #audit-table input').count()).toBe(0);
    await page.screenshot({ path: join(artifacts, 'desk-audit.png'), fullPage: true });
  });

  it('keeps a civil-affairs viewer to civil-affairs warnings and away from clear ID numbers', async () => {
    const page = await logIn('civil');
    expect(await page.textContent('#kpi-total')).toBe(
      String(fixtureWarnings(fixture).filter((w) => w.period === '2022-Q2' && w.routedTo.includes('CIVIL_AFFAIRS')).length),
    );
    await page.click('nav a[data-page=warnings]');
    await page.waitForSelector('#warning-table');
    expect(await page.locator('select[name=agency]').count()).toBe(0);
    const agencies = await page.locator('#warning-table tbody td:nth-child(8)').allTextContents();
    expect(agencies.every((a) => a.includes('民政部门'))).toBe(true);
    expect(await page.locator('nav a[data-page=payments]').isHidden()).toBe(true);

    const ruralOnly = fixture.people.find((p) => p.agency === 'RURAL_REVITALIZATION' && p.index % 7 !== 0);
    await page.goto(`${desk.url}#/person/${ruralOnly?.personKey}`);
    await page.waitForSelector('.error');
    expect(await page.textContent('.error')).toContain('没有转给您部门的预警');
    const answers = await page.evaluate(
      async ([index, key]) => {
        const session = (await (await fetch('/api/session')).json()) as { csrfToken: string };
        const warning = await fetch(`/api/warnings/w-2022-Q2-${index}`);
        const clear = await fetch(`/api/people/${key}/clear-id`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-csrf-token': session.csrfToken },
          body: JSON.stringify({ reason: '想看一下号码' }),
        });
        return [warning.status, clear.status];
      },
      [ruralOnly?.index, ruralOnly?.personKey] as const,
    );
    expect(answers).toEqual([404, 403]);

    const civilPerson = fixture.people.find((p) => p.agency === 'CIVIL_AFFAIRS');
    await page.goto(`${desk.url}#/person/${civilPerson?.personKey}`);
    await page.waitForSelector('#person-key');
    expect(await page.locator('#show-clear-id').count()).toBe(0);
    expect(await page.textContent('#clear-id-card')).toContain('无权查看明文');
    await page.screenshot({ path: join(artifacts, 'desk-civil-viewer.png'), fullPage: true });
  });
});
