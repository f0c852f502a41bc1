import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AgencyEndpoint } from '../../connectors/agency-delivery';
import {
  deliveryQueue,
  deliveryWorker,
  enqueueDeliveries,
  type DeliveryJobData,
  type DeliverySettings,
} from '../../connectors/agency-delivery/runtime';
import type { AgencyCode, DeliveryReceipt } from '../../schemas';
import { connectKafka } from '../../services/kafka/runtime';
import { createLogger } from '../../services/platform/runtime';
import { type RunningDesk } from '../../services/desk';
import { dropDatabase, startDesk } from '../../services/desk/runtime';
import { bullPrefix } from '../../services/warnings/runtime';
import { deskFixture, deskTestEnv, fixtureWarnings, publishFixture, testSecrets } from '../support/desk-fixtures';
import { deskClient, type DeskClient } from '../support/desk-client';
import { launchChromium } from '../support/chromium';
import { runHub } from '../support/run-hub';

/**
 * The desk's retry button on the real stack: a webhook fails until its delivery is dead (the
 * warnings service's FAILED receipt reaches the desk), the desk's API retries it through the same
 * BullMQ queue as `hub warnings deliveries --retry`, and the agency receives the warning once.
 */
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const serverUrl = process.env.HUB_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const password = 'Desk-test-pass-2022';
const logger = createLogger({ level: 'silent', role: 'test' });

async function waitFor(what: string, probe: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

describe("the desk's retry button", () => {
  const env = deskTestEnv('retry');
  const warning = fixtureWarnings(deskFixture(1)).find((w) => w.period === '2022-Q2');
  if (warning === undefined) throw new Error('no fixture warning');
  const agency: AgencyCode = 'CIVIL_AFFAIRS';
  const webhook = { failing: true, attempts: 0, delivered: 0 };
  let server: Server;
  let connection: Redis;
  let queue: Queue<DeliveryJobData>;
  let worker: Worker<DeliveryJobData>;
  let desk: RunningDesk;
  let analyst: DeskClient;
  let browser: Browser;

  beforeAll(async () => {
    browser = await launchChromium();
    server = createServer((request, response) => {
      request.resume();
      request.on('end', () => {
        webhook.attempts += 1;
        if (!webhook.failing) webhook.delivered += 1;
        response.writeHead(webhook.failing ? 503 : 200).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const endpoints = new Map<AgencyCode, AgencyEndpoint>([
      [
        agency,
        {
          agency,
          connector: 'civil-affairs',
          label: '民政',
          webhook: { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, secret: 's'.repeat(40) },
        },
      ],
    ]);
    connection = new Redis(env.HUB_REDIS_URL ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: null });
    // The warnings service's queue under this test's prefix: five attempts, then dead.
    const settings: DeliverySettings = {
      connection,
      prefix: bullPrefix(env.HUB_TOPIC_PREFIX ?? ''),
      attempts: 5,
      backoffMs: 20,
      timeoutMs: 2_000,
      concurrency: 1,
    };
    queue = deliveryQueue(settings);
    worker = deliveryWorker({
      settings,
      endpoints,
      idEncryptionKey: testSecrets.idEncryptionKey,
      logger,
      onReceipt: (receipt: DeliveryReceipt) =>
        publishFixture(env, [{ topic: 'deliveryReceipts', key: receipt.personKey ?? receipt.warningId, record: receipt }]),
    });
    await publishFixture(env, [{ topic: 'quarterlyWarnings', key: warning.personKey, record: { ...warning, routedTo: [agency] } }]);
    desk = await startDesk(env, logger);
    await runHub(['desk', 'users', 'add', 'ana', '--role', 'ANALYST', '--password-stdin'], env, `${password}\n`);
    analyst = deskClient(desk.url);
    await analyst.login('ana', password);
    await enqueueDeliveries(queue, settings, endpoints, [{ ...warning, routedTo: [agency] }]);
  }, 120_000);

  afterAll(async () => {
    await browser.close();
    await worker.close();
    await queue.obliterate({ force: true }).catch(() => undefined);
    await queue.close();
    connection.disconnect();
    server.close();
    const groupId = desk.consumer.groupId;
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
    await kafka.deleteGroup(groupId).catch(() => undefined);
    await kafka.close();
    await dropDatabase(serverUrl, env.HUB_DESK_DATABASE ?? '');
  });

  it('retries a dead webhook delivery through BullMQ, audit-logs the outcome, and the agency receives it once', async () => {
    type Failed = { rows: { warningId: string; agency: string; dead: boolean; retryOutcome: string | null }[] };
    await waitFor('the dead delivery in the desk', async () =>
      (await analyst.json<Failed>('/api/deliveries/failed')).rows.some((r) => r.warningId === warning.eventId && r.dead),
    );
    expect(webhook.attempts).toBe(5);
    expect(await queue.getFailedCount()).toBe(1);

    webhook.failing = false;
    // The analyst clicks 重试 on the deliveries page (the page posts to /api/deliveries/retry).
    const context = await browser.newContext({ locale: 'zh-CN' });
    const page = await context.newPage();
    await page.goto(desk.url);
    await page.fill('input[name=username]', 'ana');
    await page.fill('input[name=password]', password);
    await page.click('button[type=submit]');
    await page.waitForSelector('#kpi-total');
    await page.goto(`${desk.url}#/deliveries`);
    await page.click('#delivery-table button');
    await page.waitForSelector('.retry-result');
    expect(await page.textContent('.retry-result')).toBe('已重新排队，将再次推送');
    await context.close();
    await waitFor('the delivery', () => Promise.resolve(webhook.delivered === 1));
    await waitFor('DELIVERED in the desk', async () => {
      const { rows } = await desk.pool.query<{ delivery_status: string }>(
        'select delivery_status from deliveries where warning_id = $1 and agency = $2',
        [warning.eventId, agency],
      );
      return rows[0]?.delivery_status === 'DELIVERED';
    });
    await sleep(1_000);
    expect(webhook.delivered).toBe(1);
    expect(webhook.attempts).toBe(6);
    expect((await analyst.json<Failed>('/api/deliveries/failed')).rows).toEqual([]);
    const audit = await desk.pool.query<{ actor: string; warning_id: string; detail: unknown }>(
      `select actor, warning_id, detail from audit_log where action = 'RETRY_DELIVERY'`,
    );
    expect(audit.rows).toEqual([{ actor: 'ana', warning_id: warning.eventId, detail: { agency, outcome: 'QUEUED' } }]);
    const retries = await desk.pool.query<{ outcome: string }>('select outcome from delivery_retries');
    expect(retries.rows).toEqual([{ outcome: 'QUEUED' }]);
    // Delivered now: nothing left to retry.
    expect((await analyst.post('/api/deliveries/retry', { warningId: warning.eventId, agency })).status).toBe(404);
  }, 120_000);
});
