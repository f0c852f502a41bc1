import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import ExcelJS from 'exceljs';
import iconv from 'iconv-lite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { civilAffairs, hospitals } from '../../connectors';
import { verify, type AgencyWarning } from '../../connectors/agency-delivery';
import {
  acceptReceipts,
  deliveryJobId,
  deliveryQueue,
  enqueueDeliveries,
  retryDeadDelivery,
  writeExportFile,
} from '../../connectors/agency-delivery/runtime';
import { fileKeyStore, type RunningConnector } from '../../connectors/api';
import { startConnector } from '../../connectors/api/runtime';
import { type IntakeItem } from '../../connectors/intake';
import { openIntake } from '../../connectors/intake/runtime';
import type { DeliveryReceipt, QuarterlyWarning } from '../../schemas';
import { main } from '../../services/cli';
import { decryptNationalId, encryptNationalId } from '../../services/identity';
import { listPolicies, loadPolicy, parsePolicy, policyDirectory } from '../../services/policy';
import { effectiveEnvironment, loadConfig } from '../../services/platform';
import { createLogger } from '../../services/platform/runtime';
import { registerAllSchemas } from '../../services/registry/runtime';
import { dropAllState, encodePerson, partitionKeys, stateNamespace, watchScores, type StoredFact } from '../../services/rules';
import { startRules, type RulesRuntime } from '../../services/rules/runtime';
import { runKeys, type WarningsRuntime } from '../../services/warnings';
import { openWarnings, registerSchedulers, startWarningsService, type RunningWarnings } from '../../services/warnings/runtime';
import { idNumber } from '../support/person-events';
import { sleep, waitFor } from '../support/rules-harness';

/**
 * Quarterly warnings on the real stack (Kafka, registry, Redis), with hand-made people of the
 * Huangshan policy (anhui-huangshan-2022: self-pay on the TOTAL basis, threshold 10,000 yuan,
 * 特困 and 低保 always reported) sent through the real connectors and folded by the real rules
 * service. Receivers are local HTTP servers.
 */
const logger = createLogger({ level: 'silent', role: 'test' });
const policyId = 'anhui-huangshan-2022';
const caSecret = 'civil-affairs-shared-secret-0123456789abcdef';
const rrSecret = 'rural-revitalization-secret-0123456789abcdef';

const people = {
  under: idNumber(1001), // 9,999.99 yuan self-pay: not warned
  over: idNumber(1002), // 10,000.01 yuan: warned
  tekun: idNumber(1003), // 特困 with a 100-yuan stay: reported
  periodEnd: idNumber(1004), // 5,000 on 30 June, 20,000 on 1 July: not warned in Q2
  dibao: idNumber(1005), // 14,000 self-pay; later 低保 back-dated to March
  employee: idNumber(1006), // an employee with 15,000 self-pay
};

let seq = 0;
/** A settlement in Huangshan (division 341002); amounts in yuan as the national interface sends them. */
function settlement(
  id: string,
  at: string,
  amounts: { total: string; ownPay: string; scope: string; basic: string },
  insutype = '390',
): IntakeItem {
  seq += 1;
  return {
    rawFormat: 'json',
    position: `records[${seq}]`,
    raw: {
      fixmedins_code: 'H34100200001',
      setl_id: `S-${seq}`,
      mdtrt_id: `M-${seq}`,
      psn_no: `P-${seq}`,
      certno: id,
      insutype,
      insu_admdvs: '341002',
      med_type: '21',
      setl_time: at,
      medfee_sumamt: amounts.total,
      fulamt_ownpay_amt: amounts.ownPay,
      overlmt_selfpay: '0.00',
      preselfpay_amt: '0.00',
      inscp_scp_amt: amounts.scope,
      hifp_pay: amounts.basic,
      hifmi_pay: '0.00',
      maf_pay: '0.00',
      psn_part_amt: '0.00',
      is_reversal: false,
      orig_setl_id: null,
    },
  };
}

function status(id: string, recordId: string, category: string, validFrom: string, decidedAt: string): IntakeItem {
  return {
    rawFormat: 'json',
    position: 'records[0]',
    raw: {
      recordId,
      version: 1,
      idNumber: id,
      admdvs: '341002',
      category,
      action: 'CERTIFY',
      validFrom,
      validTo: null,
      decidedAt,
    },
  };
}

/** One warning as received, with the request that carried it (a request carries several). */
interface Delivery {
  readonly id: string;
  readonly body: { deliveryId: string; agency: string; warnings: AgencyWarning[] };
  readonly warning: AgencyWarning;
  readonly valid: boolean;
}

/** A local receiver that checks the signature as an agency would, and can be told to fail. */
function receiver(secret: string) {
  const received: Delivery[] = [];
  let attempts = 0;
  const state = { failing: false };
  const server: Server = createServer((request: IncomingMessage, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      attempts += 1;
      if (state.failing) {
        response.writeHead(503).end();
        return;
      }
      const body = Buffer.concat(chunks);
      const valid = verify({
        secret,
        body,
        timestamp: request.headers['x-hub-timestamp'] as string | undefined,
        signature: request.headers['x-hub-signature'] as string | undefined,
      });
      const parsed = JSON.parse(body.toString('utf8')) as Delivery['body'];
      for (const warning of parsed.warnings) received.push({ id: String(request.headers['x-hub-delivery']), body: parsed, warning, valid });
      response.writeHead(valid ? 200 : 401).end();
    });
  });
  return {
    received,
    state,
    server,
    attempts: () => attempts,
    async listen(): Promise<string> {
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const address = server.address();
      return `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}/hub-warnings`;
    },
  };
}

describe('quarterly warnings', () => {
  const prefix = `it-warn-${randomUUID().slice(0, 8)}.`;
  const civil = receiver(caSecret);
  const rural = receiver(rrSecret);
  const keysFile = join(mkdtempSync(join(tmpdir(), 'hub-warnings-')), 'agency-keys.json');
  let env: Record<string, string | undefined>;
  let rules: { runtime: RulesRuntime; stop(): Promise<void> };
  let runtime: WarningsRuntime;
  let service: RunningWarnings;
  let idKey: Buffer;
  const now = Date.parse('2022-07-12T03:00:00+08:00');

  const send = async (agency: typeof civilAffairs | typeof hospitals, items: IntakeItem[]): Promise<void> => {
    const intake = await openIntake(agency, env, logger);
    try {
      const outcomes = await intake.intake.ingest(items, 'test');
      expect(outcomes.filter((o) => o.status === 'rejected')).toEqual([]);
    } finally {
      await intake.close();
    }
  };
  const drained = () =>
    waitFor(
      'the rules group to catch up',
      async () => {
        const lags = await rules.runtime.kafka.consumerLag(rules.runtime.groupId, rules.runtime.inboundTopics).catch(() => []);
        return lags.length > 0 && lags.every((l) => l.lag === 0 && (l.committed !== '-1' || l.end === '0')) ? true : undefined;
      },
      180_000,
    );
  const warnings = async (): Promise<QuarterlyWarning[]> =>
    Promise.all(
      (await runtime.kafka.readAll(runtime.warningsCodec.topic)).map((m) => runtime.warningsCodec.decode(m.value ?? Buffer.alloc(0))),
    );
  const receipts = async (): Promise<DeliveryReceipt[]> =>
    Promise.all(
      (await runtime.kafka.readAll(runtime.receiptsCodec.topic)).map((m) => runtime.receiptsCodec.decode(m.value ?? Buffer.alloc(0))),
    );
  const idOf = (w: QuarterlyWarning): string => decryptNationalId(w.idCipher, idKey, w.personKey);
  const q2 = async (): Promise<Map<string, QuarterlyWarning[]>> => {
    const byId = new Map<string, QuarterlyWarning[]>();
    for (const w of (await warnings()).filter((r) => r.period === '2022-Q2')) byId.set(idOf(w), [...(byId.get(idOf(w)) ?? []), w]);
    return byId;
  };
  const cli = async (args: string[]): Promise<{ code: number; out: string }> => {
    let out = '';
    const stdout = new Writable({
      write(chunk: Buffer, _e, done) {
        out += chunk.toString();
        done();
      },
    });
    const code = await main(args, { stdin: process.stdin, stdout, stderr: stdout, env });
    return { code, out };
  };

  beforeAll(async () => {
    env = {
      ...effectiveEnvironment(),
      HUB_TOPIC_PREFIX: prefix,
      HUB_TOPIC_PARTITIONS: '3',
      HUB_KAFKA_SESSION_TIMEOUT_MS: '6000',
      HUB_LOG_LEVEL: 'silent',
      HUB_CIVIL_AFFAIRS_WEBHOOK_URL: await civil.listen(),
      HUB_CIVIL_AFFAIRS_WEBHOOK_SECRET: caSecret,
      HUB_RURAL_REVITALIZATION_WEBHOOK_URL: await rural.listen(),
      HUB_RURAL_REVITALIZATION_WEBHOOK_SECRET: rrSecret,
      HUB_DELIVERY_ATTEMPTS: '3',
      HUB_DELIVERY_BACKOFF_MS: '100',
      HUB_AGENCY_KEYS_FILE: keysFile,
      HUB_CONNECTOR_PORT: '0',
    };
    idKey = loadConfig(env, ['idEncryptionKey']).idEncryptionKey;
    await registerAllSchemas(env);
    rural.state.failing = true;
    const amounts = (total: string, ownPay: string, scope: string, basic: string) => ({ total, ownPay, scope, basic });
    await send(hospitals, [
      settlement(people.under, '2022-05-02 10:00:00', amounts('10999.99', '9999.99', '1000.00', '1000.00')),
      settlement(people.over, '2022-05-02 10:00:00', amounts('11000.01', '10000.01', '1000.00', '1000.00')),
      settlement(people.tekun, '2022-04-20 10:00:00', amounts('100.00', '0.00', '100.00', '60.00')),
      settlement(people.periodEnd, '2022-06-30 23:59:59', amounts('6000.00', '5000.00', '1000.00', '1000.00')),
      settlement(people.periodEnd, '2022-07-01 00:00:00', amounts('21000.00', '20000.00', '1000.00', '1000.00')),
      settlement(people.dibao, '2022-05-02 10:00:00', amounts('30000.00', '0.00', '30000.00', '16000.00')),
      settlement(people.employee, '2022-06-01 10:00:00', amounts('16000.00', '15000.00', '1000.00', '1000.00'), '310'),
    ]);
    await send(civilAffairs, [status(people.tekun, 'MZ-TK-1', 'TEKUN', '2022-01-01', '2022-01-05 09:00:00')]);
    rules = await startRules(env, logger);
    await drained();
    runtime = await openWarnings(env, logger);
    service = await startWarningsService(runtime, logger, { now: () => now });
  }, 300_000);

  afterAll(async () => {
    await service?.stop();
    await rules?.stop();
    if (runtime !== undefined) {
      const keys = await runtime.redis.keys(`${runtime.namespace}*`);
      const bull = await runtime.redis.keys(`${runtime.delivery.prefix}*`);
      for (const key of [...keys, ...bull]) await runtime.redis.del(key);
      await dropAllState(runtime.redis, stateNamespace(prefix));
      await runtime.redis.del(`${stateNamespace(prefix)}:layout`);
      // The connectors' duplicate guards of this test's records.
      for (const key of await runtime.redis.keys(`hub:intake:fact:${prefix}*`)) await runtime.redis.del(key);
      await runtime.close();
    }
    civil.server.close();
    rural.server.close();
  });

  it('registers one job scheduler per region at start-up, again without duplicates, in Asia/Shanghai', async () => {
    await registerSchedulers(runtime, service.runs);
    const schedulers = await service.runs.getJobSchedulers();
    expect(schedulers.map((s) => s.key).sort()).toEqual(runtime.policies.map((p) => `region.${p.id}`).sort());
    const huangshan = schedulers.find((s) => s.key === `region.${policyId}`);
    // Quarterly, 10 days' grace: 02:00 on the 11th of January, April, July and October.
    expect(huangshan).toMatchObject({ pattern: '0 2 11 1,4,7,10 *', tz: 'Asia/Shanghai' });
    expect(huangshan?.next).toBeGreaterThan(Date.now());
    // The immediate alert is off by default: nothing is published before a run.
    expect(await warnings()).toEqual([]);
  });

  it('a scheduled run crashed after publishing resumes on retry without duplicates; each region-period runs once', async () => {
    // A first run dies after publishing its first page and before recording it, as a killed worker would.
    await expect(
      runtime.run(policyId, '2022-Q2', {
        dryRun: false,
        afterPublish: () => {
          throw new Error('worker killed');
        },
      }),
    ).rejects.toThrow('worker killed');
    expect(await runtime.redis.exists(runKeys(runtime.namespace).done(policyId, '2022-Q2'))).toBe(0);
    // The scheduler's job (as fired on 12 July 2022) runs every due period not yet done: Q1 and Q2.
    await service.runs.add('run', { policyId });
    await waitFor('Q2 done', async () =>
      (await runtime.redis.exists(runKeys(runtime.namespace).done(policyId, '2022-Q2'))) === 1 ? true : undefined,
    );
    expect(await runtime.redis.exists(runKeys(runtime.namespace).done(policyId, '2022-Q1'))).toBe(1);
    // Fired again (another instance, a restart): nothing more is published.
    const before = (await warnings()).length;
    const job = await service.runs.add('run', { policyId });
    await waitFor('the second firing', async () => ((await job.getState()) === 'completed' ? true : undefined));
    expect((await service.runs.getJob(job.id ?? ''))?.returnvalue).toEqual([]);
    expect((await warnings()).length).toBe(before);

    const byId = await q2();
    // The crashed page was published twice with the same event ids; one warning per person.
    for (const list of byId.values()) expect(new Set(list.map((w) => w.eventId)).size).toBe(1);
    expect([...byId.keys()].sort()).toEqual([people.over, people.tekun, people.dibao, people.employee].sort());
  });

  it("warns over 10,000.00 yuan and not at 9,999.99; reports 特困 with any cost; counts nothing after the period's last day", async () => {
    const byId = await q2();
    expect(byId.has(people.under)).toBe(false);
    expect(byId.get(people.over)?.[0]).toMatchObject({
      policyId,
      period: '2022-Q2',
      windowFrom: '2022-01-01',
      windowTo: '2022-06-30',
      warned: true,
      supersedes: null,
      reasons: ['SELF_PAY_OVER_THRESHOLD'],
      categories: [],
      selfPayFen: 1_000_001,
      thresholdFen: 1_000_000,
      medfeeFen: 1_100_001,
      basicFen: 100_000,
      routedTo: ['CIVIL_AFFAIRS', 'RURAL_REVITALIZATION'],
    });
    expect(byId.get(people.over)?.[0]?.settlements).toHaveLength(1);
    // Huangshan routes as 004 says: every record to civil affairs and rural revitalization, whatever the category.
    expect(byId.get(people.tekun)?.[0]).toMatchObject({
      reasons: ['ALWAYS_REPORTED_CATEGORY'],
      categories: ['TEKUN'],
      medfeeFen: 10_000,
      routedTo: ['CIVIL_AFFAIRS', 'RURAL_REVITALIZATION'],
    });
    // 5,000 on 30 June counts; the 20,000 on 1 July belongs to Q3.
    expect(byId.has(people.periodEnd)).toBe(false);
    expect(byId.get(people.dibao)?.[0]).toMatchObject({
      reasons: ['SELF_PAY_OVER_THRESHOLD'],
      selfPayFen: 1_400_000,
      routedTo: ['CIVIL_AFFAIRS', 'RURAL_REVITALIZATION'],
    });
  });

  it('warns an employee over the threshold (item 1: employees are in scope)', async () => {
    const byId = await q2();
    expect(byId.get(people.employee)?.[0]).toMatchObject({ reasons: ['SELF_PAY_OVER_THRESHOLD'], selfPayFen: 1_500_000 });
  });

  it('delivers signed webhooks, the clear ID only to the agencies routed, each warning once', async () => {
    const byId = await q2();
    await waitFor('civil affairs deliveries', () => (civil.received.length >= 4 ? true : undefined));
    await sleep(500);
    expect(civil.received.every((d) => d.valid)).toBe(true);
    expect(civil.received.map((d) => d.warning.idNumber).sort()).toEqual([people.over, people.tekun, people.dibao, people.employee].sort());
    expect(new Set(civil.received.map((d) => d.warning.warningId)).size).toBe(civil.received.length);
    expect(civil.received.every((d) => d.body.agency === 'CIVIL_AFFAIRS' && d.id === d.body.deliveryId)).toBe(true);
    expect(civil.received.find((d) => d.warning.idNumber === people.tekun)?.warning.warningId).toBe(byId.get(people.tekun)?.[0]?.eventId);
    // Nothing sealed leaves the hub: the body has the clear number for its own people, no cipher.
    expect(JSON.stringify(civil.received[0]?.body)).not.toContain('idCipher');
  });

  it('a failing webhook is retried, then dead, listed, retried by hand and delivered once', async () => {
    // Rural revitalization answers 503: three attempts of each request carrying its four warnings (100 ms, 200 ms backoff), then dead.
    const deadJobs = await waitFor('four warnings dead', async () => {
      const failed = await service.deliveries.getFailed();
      return failed.reduce((n, job) => n + job.data.warnings.length, 0) === 4 ? failed : undefined;
    });
    expect(rural.attempts()).toBe(3 * deadJobs.length);
    const dead = await cli(['warnings', 'deliveries', '--dead']);
    expect(dead.code).toBe(0);
    expect(dead.out).toContain(`${deadJobs.length} dead deliveries (4 warnings)`);
    expect(dead.out).not.toContain(people.over);
    await waitFor('FAILED receipts', async () => ((await receipts()).filter((r) => r.status === 'FAILED').length === 4 ? true : undefined));

    rural.state.failing = false;
    // The desk's retry names one warning (`<warningId>.<AGENCY>`): it finds the request carrying it.
    const overId = (await q2()).get(people.over)?.[0]?.eventId ?? '';
    const carrier = deadJobs.find((job) => job.data.warnings.some((w) => w.eventId === overId));
    expect(await retryDeadDelivery(service.deliveries, deliveryJobId(overId, 'RURAL_REVITALIZATION'))).toEqual({
      outcome: 'QUEUED',
      state: 'waiting',
    });
    expect(await service.deliveries.getJobState(carrier?.id ?? '')).not.toBe('failed');
    expect((await cli(['warnings', 'deliveries', '--retry', 'all'])).code).toBe(0);
    await waitFor('rural revitalization deliveries', () => (rural.received.length >= 4 ? true : undefined));
    await sleep(1000);
    expect(rural.received.map((d) => d.warning.idNumber).sort()).toEqual([people.over, people.tekun, people.dibao, people.employee].sort());
    expect(rural.received.every((d) => d.valid)).toBe(true);
    expect(await service.deliveries.getFailedCount()).toBe(0);
    const summary = await cli(['warnings', 'deliveries']);
    expect(summary.out).toContain(`delivered ${new Set([...civil.received, ...rural.received].map((d) => d.id)).size}`);
    expect(summary.out).toContain('dead 0');
  });

  it(
    'a back-dated 低保 certification changes the self-pay and the verdict: the rerun publishes a correction, ' +
      'an unchanged rerun nothing',
    async () => {
      const first = (await q2()).get(people.dibao)?.[0];
      await send(civilAffairs, [status(people.dibao, 'MZ-DB-1', 'DIBAO', '2022-03-01', '2022-07-20 09:00:00')]);
      await drained();
      const dry = await cli(['warnings', 'run', '--region', policyId, '--period', '2022-Q2', '--dry-run']);
      expect(dry.out).toMatch(/CORRECTION .*DIBAO .*ALWAYS_REPORTED_CATEGORY .*2932\.50/);
      expect(dry.out).toContain('would publish 1 (1 corrections, 0 withdrawals), 3 unchanged');
      const rerun = await runtime.run(policyId, '2022-Q2', { dryRun: false });
      expect(rerun).toMatchObject({ rerun: true, published: 1, corrections: 1, unchanged: 3, warned: 4 });
      const list = (await q2()).get(people.dibao) ?? [];
      const correction = list.find((w) => w.supersedes !== null);
      expect(correction).toMatchObject({
        supersedes: first?.eventId,
        warned: true,
        reasons: ['ALWAYS_REPORTED_CATEGORY'],
        categories: ['DIBAO'],
        selfPayFen: 293_250,
        criticalIllnessFen: 422_500,
        assistanceFen: 684_250,
        routedTo: ['CIVIL_AFFAIRS', 'RURAL_REVITALIZATION'],
      });
      expect(correction?.changes).toEqual(
        expect.arrayContaining([
          'reasons: SELF_PAY_OVER_THRESHOLD -> ALWAYS_REPORTED_CATEGORY',
          'selfPayFen: 14000.00 yuan -> 2932.50 yuan',
        ]),
      );
      expect(correction?.changes.some((change) => change.startsWith('routedTo'))).toBe(false);
      expect((await runtime.run(policyId, '2022-Q2', { dryRun: false })).published).toBe(0);
      await waitFor('the correction delivered to civil affairs', () =>
        civil.received.some((d) => d.warning.warningId === correction?.eventId) ? true : undefined,
      );
    },
  );

  it('a receipt sent to the civil-affairs connector is joined to its warning and lands on warnings.delivery-receipts', async () => {
    const tekun = (await q2()).get(people.tekun)?.[0];
    const { key } = await fileKeyStore(keysFile).issue('civil-affairs');
    const connector: RunningConnector = await startConnector({ agency: civilAffairs, env, logger, port: 0 });
    try {
      const post = (body: unknown) =>
        fetch(`${connector.url}/v1/receipts`, {
          method: 'POST',
          headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
      const answer = await post({
        receipts: [
          {
            receiptId: 'MZ-R-1',
            warningId: tekun?.eventId,
            outcome: 'CERTIFIED',
            certifiedCategory: 'ILLNESS_POVERTY',
            decidedAt: '2022-07-25 10:00:00',
          },
          {
            receiptId: 'MZ-R-2',
            warningId: tekun?.eventId,
            outcome: 'ASSISTANCE_GIVEN',
            assistanceKind: '临时救助',
            assistanceAmount: '1500.5',
          },
          { receiptId: 'MZ-R-3', warningId: 'warn-unknown', outcome: 'RECEIVED' },
          { receiptId: 'MZ-R-4', warningId: tekun?.eventId, outcome: 'NO_ACTION' },
        ],
      });
      expect(answer.status).toBe(200);
      const json = (await answer.json()) as { accepted: number; rejected: { position: string; message: string }[] };
      expect(json.accepted).toBe(2);
      expect(json.rejected.map((r) => r.position)).toEqual(['receipts[2]', 'receipts[3]']);
      // A resend of the same receipt is the same record (same event id).
      const again = await post({
        receipts: [
          {
            receiptId: 'MZ-R-1',
            warningId: tekun?.eventId,
            outcome: 'CERTIFIED',
            certifiedCategory: 'ILLNESS_POVERTY',
            decidedAt: '2022-07-25 10:00:00',
          },
        ],
      });
      expect(again.status).toBe(200);
      const unauthorised = await fetch(`${connector.url}/v1/receipts`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{}',
      });
      expect(unauthorised.status).toBe(401);
    } finally {
      await connector.close();
    }
    const joined = await waitFor('the receipts', async () => {
      const found = (await receipts()).filter((r) => r.warningId === tekun?.eventId && r.outcome !== null);
      return found.length === 3 && new Set(found.map((r) => r.eventId)).size === 2 ? found : undefined;
    });
    expect(joined.find((r) => r.agencyRecordId === 'MZ-R-1')).toMatchObject({
      agency: 'CIVIL_AFFAIRS',
      status: 'FOLLOW_UP_STARTED',
      outcome: 'CERTIFIED',
      certifiedCategory: 'ILLNESS_POVERTY',
      personKey: tekun?.personKey,
      period: '2022-Q2',
      occurredAt: Date.parse('2022-07-25T10:00:00+08:00'),
    });
    expect(joined.find((r) => r.agencyRecordId === 'MZ-R-2')).toMatchObject({
      outcome: 'ASSISTANCE_GIVEN',
      assistanceKind: '临时救助',
      assistanceFen: 150_050,
      status: 'FOLLOW_UP_CLOSED',
    });
    // A warning routed to civil affairs only (as a region that narrows routing by category, such as
    // Xianyang's file, sends a 特困 person's) is not rural revitalization's to answer.
    const narrowed = 'warn-routed-to-civil-affairs-only';
    await runtime.redis.hset(
      runKeys(runtime.namespace).index,
      narrowed,
      JSON.stringify({ personKey: tekun?.personKey, policyId, period: '2022-Q2', routedTo: ['CIVIL_AFFAIRS'], warned: true }),
    );
    const refused = await acceptReceipts(
      {
        agency: 'RURAL_REVITALIZATION',
        redis: runtime.redis,
        indexKey: runKeys(runtime.namespace).index,
        channel: 'WEBHOOK',
        publish: () => Promise.resolve(),
      },
      {
        receipts: [
          { receiptId: 'X-1', warningId: narrowed, outcome: 'RECEIVED' },
          { receiptId: 'X-2', warningId: tekun?.eventId, outcome: 'RECEIVED' },
        ],
      },
    );
    expect(refused.rejected).toEqual([expect.objectContaining({ position: 'receipts[0]', code: 'FORBIDDEN' })]);
    expect(refused.accepted).toBe(1);
  });

  it('writes one export file per agency and period: XLSX with Chinese headers, CSV with BOM or in GBK', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hub-export-'));
    const records = await warnings();
    const common = { records, policyId, period: '2022-Q2', dir, idEncryptionKey: idKey };
    const csv = await writeExportFile({ ...common, agency: 'CIVIL_AFFAIRS', format: 'csv', encoding: 'utf-8' });
    const bytes = readFileSync(csv.path);
    expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const text = bytes.subarray(3).toString('utf8');
    expect(text.split('\r\n')[0]).toMatch(/^预警编号,状态,更正的预警编号/);
    expect(csv.rows).toBe(4);
    // The corrected person appears once, with the correction's figures.
    expect(text.split('\r\n').filter((line) => line.includes(people.dibao))).toEqual([expect.stringContaining(',更正,')]);
    expect(text).toContain('2932.50');
    const gbk = await writeExportFile({ ...common, agency: 'RURAL_REVITALIZATION', format: 'csv', encoding: 'gbk' });
    const gbkText = iconv.decode(readFileSync(gbk.path), 'gbk');
    expect(gbkText).toContain('公民身份号码');
    // Both agencies have every Huangshan record; the corrected person once, with the correction's figures.
    expect(gbk.rows).toBe(4);
    for (const id of [people.tekun, people.over, people.employee]) expect(gbkText).toContain(id);
    expect(gbkText.split('\r\n').filter((line) => line.includes(people.dibao))).toEqual([expect.stringContaining(',更正,')]);
    const xlsx = await writeExportFile({ ...common, agency: 'CIVIL_AFFAIRS', format: 'xlsx', encoding: 'utf-8' });
    const workbook = new ExcelJS.Workbook();
    await workbook.xlsx.readFile(xlsx.path);
    const sheet = workbook.worksheets[0];
    expect(sheet?.getRow(1).getCell(8).value).toBe('公民身份号码');
    expect(sheet?.rowCount).toBe(5);
  });

  it("BullMQ's keys in Redis hold no clear ID number", async () => {
    const bullKeys = await runtime.redis.keys(`${runtime.delivery.prefix}*`);
    for (const key of bullKeys) {
      const type = await runtime.redis.type(key);
      const dump =
        type === 'hash' ? JSON.stringify(await runtime.redis.hgetall(key)) : type === 'string' ? String(await runtime.redis.get(key)) : '';
      for (const id of Object.values(people)) expect(dump).not.toContain(id);
    }
    expect(bullKeys.length).toBeGreaterThan(0);
  });
});

describe("the immediate alert (a policy's warning.immediate)", () => {
  const prefix = `it-warn-now-${randomUUID().slice(0, 8)}.`;
  let env: Record<string, string | undefined>;
  let rules: { runtime: RulesRuntime; stop(): Promise<void> } | undefined;
  let runtime: WarningsRuntime | undefined;
  let service: RunningWarnings | undefined;

  afterAll(async () => {
    await service?.stop();
    await rules?.stop();
    if (runtime !== undefined) {
      for (const key of [
        ...(await runtime.redis.keys(`${runtime.namespace}*`)),
        ...(await runtime.redis.keys(`${runtime.delivery.prefix}*`)),
      ])
        await runtime.redis.del(key);
      await dropAllState(runtime.redis, stateNamespace(prefix));
      await runtime.redis.del(`${stateNamespace(prefix)}:layout`);
      // The connectors' duplicate guards of this test's records.
      for (const key of await runtime.redis.keys(`hub:intake:fact:${prefix}*`)) await runtime.redis.del(key);
      await runtime.close();
    }
  });

  it("warns a person the moment the self-pay crosses the threshold, and the period's run then sends nothing more", async () => {
    env = {
      ...effectiveEnvironment(),
      HUB_TOPIC_PREFIX: prefix,
      HUB_TOPIC_PARTITIONS: '3',
      HUB_KAFKA_SESSION_TIMEOUT_MS: '6000',
      HUB_LOG_LEVEL: 'silent',
    };
    // The shipped Huangshan file with its switch turned on, through the loader's validation.
    const shipped = readFileSync(`${policyDirectory}${policyId}.yaml`, 'utf8');
    expect(shipped).toContain('  immediate: false\n');
    const policies = listPolicies().map((id) =>
      id === policyId ? parsePolicy(shipped.replace('  immediate: false\n', '  immediate: true\n'), `${id}.yaml`) : loadPolicy(id),
    );
    expect(policies.find((p) => p.id === policyId)?.warning.immediate).toBe(true);
    const idKey = loadConfig(env, ['idEncryptionKey']).idEncryptionKey;
    await registerAllSchemas(env);
    const intake = await openIntake(hospitals, env, logger);
    try {
      await intake.intake.ingest(
        [
          settlement(idNumber(1101), '2022-05-02 10:00:00', { total: '13000.00', ownPay: '12000.00', scope: '1000.00', basic: '1000.00' }),
          settlement(idNumber(1102), '2022-05-02 10:00:00', { total: '9000.00', ownPay: '8000.00', scope: '1000.00', basic: '1000.00' }),
        ],
        'test',
      );
    } finally {
      await intake.close();
    }
    rules = await startRules(env, logger);
    runtime = await openWarnings(env, logger, policies);
    service = await startWarningsService(runtime, logger);
    const live = runtime;
    const read = async () =>
      Promise.all((await live.kafka.readAll(live.warningsCodec.topic)).map((m) => live.warningsCodec.decode(m.value ?? Buffer.alloc(0))));
    const warned = await waitFor(
      'the immediate warning',
      async () => {
        const all = await read();
        return all.length > 0 ? all : undefined;
      },
      120_000,
    );
    await sleep(2000);
    expect(await read()).toHaveLength(1);
    expect(decryptNationalId(warned[0]?.idCipher ?? '', idKey, warned[0]?.personKey ?? '')).toBe(idNumber(1101));
    expect(warned[0]).toMatchObject({ period: '2022-Q2', selfPayFen: 1_200_000, reasons: ['SELF_PAY_OVER_THRESHOLD'], supersedes: null });
    // No run happened: the warning came from the self-pay record, not the period's end.
    expect(await live.redis.exists(runKeys(live.namespace).done(policyId, '2022-Q2'))).toBe(0);
    expect(await live.run(policyId, '2022-Q2', { dryRun: false })).toMatchObject({ warned: 1, published: 0, unchanged: 1 });
  });
});

describe('a rerun whose routing narrows (item 3 of the follow-up: the dropped agency is told)', () => {
  const prefix = `it-warn-narrow-${randomUUID().slice(0, 8)}.`;
  let runtime: WarningsRuntime | undefined;

  afterAll(async () => {
    if (runtime !== undefined) {
      for (const key of [
        ...(await runtime.redis.keys(`${runtime.namespace}*`)),
        ...(await runtime.redis.keys(`${runtime.delivery.prefix}*`)),
      ])
        await runtime.redis.del(key);
      await dropAllState(runtime.redis, stateNamespace(prefix));
      await runtime.close();
    }
  });

  it('withdraws the warning from an agency that no longer receives the person, and corrects it for the one that does', async () => {
    const env = { ...effectiveEnvironment(), HUB_TOPIC_PREFIX: prefix, HUB_TOPIC_PARTITIONS: '3', HUB_LOG_LEVEL: 'silent' };
    const idKey = loadConfig(env, ['idEncryptionKey']).idEncryptionKey;
    await registerAllSchemas(env);
    // Huangshan's file with routing by category, as the other regions' files route: 低保 to civil
    // affairs only, a person in no category to both.
    const shipped = readFileSync(`${policyDirectory}${policyId}.yaml`, 'utf8');
    expect(shipped).toContain('  routing: {}\n');
    const narrowing = parsePolicy(
      shipped.replace('  routing: {}\n', '  routing:\n    CIVIL_AFFAIRS: [TEKUN, DIBAO]\n    RURAL_REVITALIZATION: [MONITORED]\n'),
      `${policyId}.yaml`,
    );
    runtime = await openWarnings(env, logger, [narrowing]);
    const live = runtime;
    // One person in the rules state's documented layout (the person and its warning watch): a May
    // stay leaving 14,000 yuan self-pay.
    const personKey = 'narrowing-person-0001';
    const stateKeys = partitionKeys(stateNamespace(prefix), 0);
    const stateKey = stateKeys.person(personKey);
    const facts = new Map<`s:${string}` | `h:${string}` | `c:${string}`, StoredFact>([
      [
        'h:H34100200001/N-1',
        {
          kind: 'settlement',
          eventId: 'e-n-1',
          key: 'H34100200001/N-1',
          reversesKey: null,
          fixmedinsCode: 'H34100200001',
          setlId: 'N-1',
          admdvs: '341002',
          insuredType: 'RESIDENT',
          medType: '21',
          settledAt: '2022-05-02',
          setlTime: Date.parse('2022-05-02T10:00:00+08:00'),
          totalFen: 1_500_000,
          fullOwnPayFen: 1_400_000,
          overLimitFen: 0,
          preSelfPayFen: 0,
          policyScopeFen: 100_000,
          basicPaidFen: 100_000,
          settledCriticalIllnessFen: 0,
          settledAssistanceFen: 0,
        },
      ],
    ]);
    await live.redis.set(stateKey, encodePerson({ facts, emitted: new Map() }));
    for (const [id, score] of watchScores(facts.values(), live.resolver)) await live.redis.zadd(stateKeys.watch(id), score, personKey);
    await live.redis.hset(`${live.namespace}:ids`, personKey, encryptNationalId(idNumber(1201), idKey, personKey));
    const read = async () =>
      Promise.all((await live.kafka.readAll(live.warningsCodec.topic)).map((m) => live.warningsCodec.decode(m.value ?? Buffer.alloc(0))));

    expect(await live.run(policyId, '2022-Q2', { dryRun: false })).toMatchObject({ published: 1, warned: 1 });
    const [first] = await read();
    expect(first).toMatchObject({
      warned: true,
      supersedes: null,
      routedTo: ['CIVIL_AFFAIRS', 'RURAL_REVITALIZATION'],
      selfPayFen: 1_400_000,
    });

    // A 低保 certification back-dated to March arrives: the person is now civil affairs' alone.
    facts.set('s:civil-affairs/N-DB', {
      kind: 'status',
      eventId: 'e-n-s',
      version: 1,
      category: 'DIBAO',
      action: 'CERTIFY',
      from: '2022-03-01',
      to: null,
    });
    await live.redis.set(stateKey, encodePerson({ facts, emitted: new Map() }));
    for (const [id, score] of watchScores(facts.values(), live.resolver)) await live.redis.zadd(stateKeys.watch(id), score, personKey);
    expect(await live.run(policyId, '2022-Q2', { dryRun: false })).toMatchObject({
      rerun: true,
      published: 2,
      corrections: 1,
      withdrawals: 1,
    });
    const [, withdrawal, correction] = await read();
    expect(withdrawal).toMatchObject({ supersedes: first?.eventId, warned: false, routedTo: ['RURAL_REVITALIZATION'] });
    expect(withdrawal?.changes[0]).toBe('no longer routed to RURAL_REVITALIZATION: the person is now followed up by CIVIL_AFFAIRS');
    expect(correction).toMatchObject({ supersedes: first?.eventId, warned: true, routedTo: ['CIVIL_AFFAIRS'], categories: ['DIBAO'] });
    expect(correction?.changes).toContain('routedTo: CIVIL_AFFAIRS, RURAL_REVITALIZATION -> CIVIL_AFFAIRS');
    // Each agency's deliveries follow its own records: rural revitalization gets the withdrawal.
    const queue = deliveryQueue(live.delivery);
    try {
      const endpoints = new Map(
        [...live.endpoints].map(
          ([agency, endpoint]) => [agency, { ...endpoint, webhook: { url: 'http://127.0.0.1:9/', secret: 's'.repeat(40) } }] as const,
        ),
      );
      expect(
        await enqueueDeliveries(
          queue,
          live.delivery,
          endpoints,
          [withdrawal, correction].filter((w) => w !== undefined),
        ),
      ).toBe(2);
      expect(
        (await queue.getJob(deliveryJobId(withdrawal?.eventId ?? '', 'RURAL_REVITALIZATION')))?.data.warnings.map((w) => w.warned),
      ).toEqual([false]);
      expect(await queue.getJob(deliveryJobId(withdrawal?.eventId ?? '', 'CIVIL_AFFAIRS'))).toBeUndefined();
      expect((await queue.getJob(deliveryJobId(correction?.eventId ?? '', 'CIVIL_AFFAIRS')))?.data.warnings.map((w) => w.routedTo)).toEqual(
        [['CIVIL_AFFAIRS']],
      );
    } finally {
      await queue.obliterate({ force: true });
      await queue.close();
    }
    // An unchanged rerun publishes nothing more.
    expect((await live.run(policyId, '2022-Q2', { dryRun: false })).published).toBe(0);

    // Rules state of an older layout has no warning watch: a run refuses it rather than find nobody.
    const layoutKey = `${stateNamespace(prefix)}:layout`;
    await live.redis.set(layoutKey, '3');
    await expect(live.run(policyId, '2022-Q2', { dryRun: true })).rejects.toMatchObject({ code: 'STATE_LAYOUT_CHANGED' });
    await live.redis.del(layoutKey);
    expect((await live.run(policyId, '2022-Q2', { dryRun: true })).personYears).toBe(1);
  });
});
