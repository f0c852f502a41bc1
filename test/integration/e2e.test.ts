import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agencies } from '../../connectors';
import { verify } from '../../connectors/agency-delivery';
import { fileKeyStore, type RunningConnector } from '../../connectors/api';
import { startConnector } from '../../connectors/api/runtime';
import { type AgencyId } from '../../connectors/intake';
import { topics, type BenefitAdjustment, type DeliveryReceipt, type QuarterlyWarning } from '../../schemas';
import { type StandInAgency, type StandInDelivery } from '../../services/demo';
import { startStandInAgency } from '../../services/demo/runtime';
import { addUser, type RunningDesk } from '../../services/desk';
import { dropDatabase, startDesk } from '../../services/desk/runtime';
import { decryptNationalId } from '../../services/identity';
import { effectiveEnvironment, loadConfig } from '../../services/platform';
import { createLogger } from '../../services/platform/runtime';
import { createTopicCodec } from '../../services/registry';
import { createRegistryClient, registerAllSchemas } from '../../services/registry/runtime';
import { dropAllState, stateNamespace } from '../../services/rules';
import { startRules, type RulesRuntime } from '../../services/rules/runtime';
import { type WarningsRuntime } from '../../services/warnings';
import { openWarnings, startWarningsService, type RunningWarnings } from '../../services/warnings/runtime';
import { deskClient } from '../support/desk-client';
import { idNumber } from '../support/person-events';
import { waitFor } from '../support/rules-harness';

/**
 * The whole story on a small hand-checked region of Huangshan (anhui-huangshan-2022), every role
 * real and in-process on the real stack: hospitals push settlements by API; civil affairs certifies
 * two people after their settlements (back-dated), rural revitalization one person before; the
 * rules service owes supplementary payments; the 2022-Q2 warning run warns three people; signed
 * webhooks reach two stand-in agencies, which answer through their connectors; the desk's JSON API
 * shows the warnings with the answers and the money owed.
 *
 * The policy's figures (services/policy/policies/anhui-huangshan-2022.yaml), for residents:
 * critical illness (大病) over a deductible of 15,000 yuan (特困/低保: 7,500), 60% up to 50,000 yuan
 * (特困/低保: 65%); medical assistance (救助) for 特困/低保 70% of the in-scope self-pay left after
 * basic and critical illness, no deductible; for 防止返贫监测对象 60% above 3,200 yuan (10% of the
 * placeholder income 32,000 yuan). The eligible base is policy scope − basic. Warnings: 特困 and 低保
 * with any settlement always; anyone whose total self-pay (total − basic − 大病 − 救助) exceeds
 * 10,000 yuan; Huangshan routes every warning to both agencies.
 */
const logger = createLogger({ level: 'silent', role: 'test' });
const policyId = 'anhui-huangshan-2022';
const secrets = { civil: `civil-${randomUUID()}-${randomUUID()}`, rural: `rural-${randomUUID()}-${randomUUID()}` };

const person = {
  dibao: idNumber(1401), // one settlement in May; 低保 certified in July, back-dated to March
  tekun: idNumber(1402), // settlements in April and June; 特困 certified in July, back-dated to January
  over: idNumber(1403), // no category; 22,000 yuan self-pay
  under: idNumber(1404), // no category; 8,000 yuan self-pay
  monitored: idNumber(1405), // 防止返贫监测对象 since January, certified before the settlement, which the hospital settled right
};

const yuan = (fen: number): string => (fen / 100).toFixed(2);

function settlement(
  id: string,
  setlId: string,
  at: string,
  a: { total: number; ownPay: number; scope: number; basic: number; assistance?: number },
) {
  return {
    fixmedins_code: 'H34100200001',
    setl_id: setlId,
    mdtrt_id: `M-${setlId}`,
    psn_no: `P-${setlId}`,
    certno: id,
    insutype: '390',
    insu_admdvs: '341002',
    med_type: '21',
    setl_time: at,
    medfee_sumamt: yuan(a.total),
    fulamt_ownpay_amt: yuan(a.ownPay),
    overlmt_selfpay: '0.00',
    preselfpay_amt: '0.00',
    inscp_scp_amt: yuan(a.scope),
    hifp_pay: yuan(a.basic),
    hifmi_pay: '0.00',
    maf_pay: yuan(a.assistance ?? 0),
    psn_part_amt: '0.00',
    is_reversal: false,
    orig_setl_id: null,
  };
}

const status = (id: string, recordId: string, category: string, validFrom: string, decidedAt: string) => ({
  recordId,
  version: 1,
  idNumber: id,
  admdvs: '341002',
  category,
  action: 'CERTIFY',
  validFrom,
  validTo: null,
  decidedAt,
});

/** What each stand-in agency answers: civil affairs gives 1,500 yuan of 临时救助 to the person over the line, everyone else is acknowledged. */
const civilAnswer = (d: StandInDelivery) =>
  d.warning.idNumber === person.over
    ? {
        receiptId: `MZ-${d.warning.warningId}`,
        warningId: d.warning.warningId,
        outcome: 'ASSISTANCE_GIVEN',
        assistanceKind: '临时救助',
        assistanceAmount: '1500.00',
      }
    : { receiptId: `MZ-${d.warning.warningId}`, warningId: d.warning.warningId, outcome: 'RECEIVED' };
const ruralAnswer = (d: StandInDelivery) => ({
  receiptId: `XC-${d.warning.warningId}`,
  warningId: d.warning.warningId,
  outcome: 'RECEIVED',
});

describe('the whole story on a hand-checked region', () => {
  const suffix = randomUUID().slice(0, 8);
  const prefix = `it-e2e-${suffix}.`;
  const keysFile = join(mkdtempSync(join(tmpdir(), 'hub-e2e-')), 'agency-keys.json');
  let env: Record<string, string | undefined>;
  let idKey: Buffer;
  const keys = new Map<AgencyId, string>();
  const connectors = new Map<AgencyId, RunningConnector>();
  let rules: { runtime: RulesRuntime; stop(): Promise<void> } | undefined;
  let civil: StandInAgency | undefined;
  let rural: StandInAgency | undefined;
  let warnings: WarningsRuntime | undefined;
  let service: RunningWarnings | undefined;
  let desk: RunningDesk | undefined;

  const push = async (agency: AgencyId, records: unknown[]): Promise<{ accepted: number; rejected: number }> => {
    const response = await fetch(`${connectors.get(agency)?.url ?? ''}/v1/records`, {
      method: 'POST',
      body: JSON.stringify({ records }),
      headers: { authorization: `Bearer ${keys.get(agency) ?? ''}`, 'content-type': 'application/json' },
    });
    expect(response.status).toBe(200);
    return (await response.json()) as { accepted: number; rejected: number };
  };
  const drained = async (): Promise<void> => {
    const r = rules?.runtime;
    if (r === undefined) throw new Error('no rules service');
    await waitFor(
      'the rules group to catch up',
      async () => {
        const lags = await r.kafka.consumerLag(r.groupId, r.inboundTopics).catch(() => []);
        return lags.length > 0 && lags.every((l) => l.lag === 0 && (l.committed !== '-1' || l.end === '0')) ? true : undefined;
      },
      180_000,
    );
  };
  const read = async <K extends 'benefitAdjustments' | 'quarterlyWarnings' | 'deliveryReceipts'>(id: K) => {
    const r = rules?.runtime;
    if (r === undefined) throw new Error('no rules service');
    const codec = createTopicCodec(
      createRegistryClient(loadConfig(env, ['schemaRegistryUrl']).schemaRegistryUrl),
      id,
      `${prefix}${topics[id].name}`,
    );
    return Promise.all((await r.kafka.readAll(codec.topic)).map((m) => codec.decode(m.value ?? Buffer.alloc(0))));
  };
  /** The latest adjustment of each settlement, as setl_id -> kind and delta. */
  const adjustments = async (): Promise<
    Record<string, { kind: string; deltaFen: number; dueCriticalIllnessFen: number; dueAssistanceFen: number }>
  > => {
    const latest = new Map<string, BenefitAdjustment>();
    for (const a of await read('benefitAdjustments')) latest.set(a.setlId, a);
    return Object.fromEntries(
      [...latest].map(([id, a]) => [
        id,
        { kind: a.kind, deltaFen: a.deltaFen, dueCriticalIllnessFen: a.dueCriticalIllnessFen, dueAssistanceFen: a.dueAssistanceFen },
      ]),
    );
  };
  const idOf = (w: { idCipher: string; personKey: string }): string => decryptNationalId(w.idCipher, idKey, w.personKey);

  beforeAll(async () => {
    env = {
      ...effectiveEnvironment(),
      HUB_TOPIC_PREFIX: prefix,
      HUB_TOPIC_PARTITIONS: '3',
      HUB_KAFKA_SESSION_TIMEOUT_MS: '6000',
      HUB_LOG_LEVEL: 'silent',
      HUB_AGENCY_KEYS_FILE: keysFile,
      HUB_DESK_DATABASE: `it_e2e_${suffix}`,
      HUB_DESK_PORT: '0',
      HUB_DESK_SECURE_COOKIE: 'false',
      HUB_WARNINGS_REGIONS: policyId,
      HUB_DELIVERY_ATTEMPTS: '3',
      HUB_DELIVERY_BACKOFF_MS: '200',
    };
    idKey = loadConfig(env, ['idEncryptionKey']).idEncryptionKey;
    await registerAllSchemas(env);
    for (const agency of ['hospitals', 'civil-affairs', 'rural-revitalization'] as const) {
      keys.set(agency, (await fileKeyStore(keysFile).issue(agency)).key);
      connectors.set(agency, await startConnector({ agency: agencies[agency], env, logger, port: 0 }));
    }
  }, 120_000);

  afterAll(async () => {
    await service?.stop();
    await desk?.stop();
    await civil?.close();
    await rural?.close();
    for (const connector of connectors.values()) await connector.close();
    await rules?.stop();
    if (warnings !== undefined) {
      for (const key of [
        ...(await warnings.redis.keys(`${warnings.namespace}*`)),
        ...(await warnings.redis.keys(`${warnings.delivery.prefix}*`)),
      ])
        await warnings.redis.del(key);
      for (const key of await warnings.redis.keys(`hub:intake:fact:${prefix}*`)) await warnings.redis.del(key);
      await dropAllState(warnings.redis, stateNamespace(prefix));
      await warnings.redis.del(`${stateNamespace(prefix)}:layout`);
      await warnings.close();
    }
    await dropDatabase(env.HUB_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres', env.HUB_DESK_DATABASE ?? '');
  }, 120_000);

  it('folds settlements as the hospitals settled them: nothing owed before any certification arrives', async () => {
    const settled = await push('hospitals', [
      settlement(person.dibao, 'S-DB', '2022-05-10 10:00:00', { total: 3_000_000, ownPay: 0, scope: 3_000_000, basic: 1_600_000 }),
      settlement(person.tekun, 'S-TK-1', '2022-04-15 10:00:00', { total: 2_000_000, ownPay: 0, scope: 2_000_000, basic: 1_200_000 }),
      settlement(person.tekun, 'S-TK-2', '2022-06-20 10:00:00', { total: 1_000_000, ownPay: 0, scope: 1_000_000, basic: 600_000 }),
      settlement(person.over, 'S-OV', '2022-05-02 10:00:00', { total: 2_500_000, ownPay: 1_200_000, scope: 1_300_000, basic: 300_000 }),
      settlement(person.under, 'S-UN', '2022-05-03 10:00:00', { total: 900_000, ownPay: 800_000, scope: 100_000, basic: 100_000 }),
      // 防止返贫监测对象: assistance 60% × (8,000 − 3,200) = 2,880.00 yuan, settled as due.
      settlement(person.monitored, 'S-MO', '2022-05-20 10:00:00', {
        total: 2_000_000,
        ownPay: 0,
        scope: 2_000_000,
        basic: 1_200_000,
        assistance: 288_000,
      }),
    ]);
    expect(settled).toMatchObject({ accepted: 6, rejected: 0 });
    expect(
      await push('rural-revitalization', [status(person.monitored, 'XC-1', 'MONITORED', '2022-01-01', '2022-02-01 09:00:00')]),
    ).toMatchObject({ accepted: 1, rejected: 0 });
    rules = await startRules(env, logger);
    await drained();
    // Without a category nobody reaches the 15,000-yuan deductible (eligible bases 14,000, 8,000 + 4,000, 10,000, 0): nothing to pay more.
    expect(Object.values(await adjustments()).filter((a) => a.kind === 'SUPPLEMENTARY_PAYMENT')).toEqual([]);
  }, 240_000);

  it('certifications arriving after the settlements make the supplementary payments computed by hand', async () => {
    expect(
      await push('civil-affairs', [
        status(person.dibao, 'MZ-DB-1', 'DIBAO', '2022-03-01', '2022-07-20 09:00:00'),
        status(person.tekun, 'MZ-TK-1', 'TEKUN', '2022-01-01', '2022-07-25 09:00:00'),
      ]),
    ).toMatchObject({ accepted: 2, rejected: 0 });
    await drained();
    const owed = Object.fromEntries(Object.entries(await adjustments()).filter(([, a]) => a.kind === 'SUPPLEMENTARY_PAYMENT'));
    expect(owed).toEqual({
      // 低保, base 30,000 − 16,000 = 14,000: 大病 65% × (14,000 − 7,500) = 4,225.00; 救助 70% × (14,000 − 4,225) = 6,842.50;
      // nothing of either was settled, so 11,067.50 yuan is owed.
      'S-DB': { kind: 'SUPPLEMENTARY_PAYMENT', deltaFen: 1_106_750, dueCriticalIllnessFen: 422_500, dueAssistanceFen: 684_250 },
      // 特困, April, base 8,000: 大病 65% × (8,000 − 7,500) = 325.00; 救助 70% × (8,000 − 325) = 5,372.50; owed 5,697.50.
      'S-TK-1': { kind: 'SUPPLEMENTARY_PAYMENT', deltaFen: 569_750, dueCriticalIllnessFen: 32_500, dueAssistanceFen: 537_250 },
      // 特困, June, base 4,000 (12,000 for the year): 大病 65% × 4,000 = 2,600.00 (the deductible is used up);
      // 救助 70% × (4,000 − 2,600) = 980.00; owed 3,580.00.
      'S-TK-2': { kind: 'SUPPLEMENTARY_PAYMENT', deltaFen: 358_000, dueCriticalIllnessFen: 260_000, dueAssistanceFen: 98_000 },
    });
    // 11,067.50 + 5,697.50 + 3,580.00 = 20,345.00 yuan.
    expect(Object.values(owed).reduce((sum, a) => sum + a.deltaFen, 0)).toBe(2_034_500);
  }, 240_000);

  it('the 2022-Q2 run warns the three expected persons, each to both agencies, as Huangshan routes', async () => {
    civil = await startStandInAgency({
      name: 'civil-affairs',
      secret: secrets.civil,
      connectorUrl: connectors.get('civil-affairs')?.url ?? '',
      apiKey: keys.get('civil-affairs') ?? '',
      receiptFor: civilAnswer,
      flushMs: 50,
    });
    rural = await startStandInAgency({
      name: 'rural-revitalization',
      secret: secrets.rural,
      connectorUrl: connectors.get('rural-revitalization')?.url ?? '',
      apiKey: keys.get('rural-revitalization') ?? '',
      receiptFor: ruralAnswer,
      flushMs: 50,
    });
    env = {
      ...env,
      HUB_CIVIL_AFFAIRS_WEBHOOK_URL: `${civil.url}/hub-warnings`,
      HUB_CIVIL_AFFAIRS_WEBHOOK_SECRET: secrets.civil,
      HUB_RURAL_REVITALIZATION_WEBHOOK_URL: `${rural.url}/hub-warnings`,
      HUB_RURAL_REVITALIZATION_WEBHOOK_SECRET: secrets.rural,
    };
    warnings = await openWarnings(env, logger);
    service = await startWarningsService(warnings, logger);
    const run = await warnings.run(policyId, '2022-Q2', { dryRun: false });
    // Five person-years; the 8,000-yuan and the monitored person (self-pay 20,000 − 12,000 − 2,880 = 5,120.00) are not warned.
    expect(run).toMatchObject({ personYears: 5, warned: 3, published: 3, corrections: 0, withdrawals: 0, rerun: false });
    const byId = new Map((await read('quarterlyWarnings')).map((w: QuarterlyWarning) => [idOf(w), w]));
    expect([...byId.keys()].sort()).toEqual([person.dibao, person.tekun, person.over].sort());
    const both = ['CIVIL_AFFAIRS', 'RURAL_REVITALIZATION'];
    // 低保: self-pay 30,000 − 16,000 − 4,225 − 6,842.50 = 2,932.50 yuan, reported for the category.
    expect(byId.get(person.dibao)).toMatchObject({
      period: '2022-Q2',
      warned: true,
      categories: ['DIBAO'],
      reasons: ['ALWAYS_REPORTED_CATEGORY'],
      selfPayFen: 293_250,
      criticalIllnessFen: 422_500,
      assistanceFen: 684_250,
      routedTo: both,
    });
    // 特困: 30,000 − 18,000 − 2,925 − 6,352.50 = 2,722.50 yuan.
    expect(byId.get(person.tekun)).toMatchObject({
      categories: ['TEKUN'],
      reasons: ['ALWAYS_REPORTED_CATEGORY'],
      selfPayFen: 272_250,
      criticalIllnessFen: 292_500,
      assistanceFen: 635_250,
      routedTo: both,
    });
    // No category: 25,000 − 3,000 = 22,000.00 yuan, over the 10,000-yuan line.
    expect(byId.get(person.over)).toMatchObject({
      categories: [],
      reasons: ['SELF_PAY_OVER_THRESHOLD'],
      selfPayFen: 2_200_000,
      medfeeFen: 2_500_000,
      basicFen: 300_000,
      routedTo: both,
    });
  }, 240_000);

  it('each stand-in agency receives exactly those three warnings, signed, and its answers are joined to them', async () => {
    const warned = [person.dibao, person.tekun, person.over].sort();
    for (const [agency, standIn, secret] of [
      ['CIVIL_AFFAIRS', civil, secrets.civil],
      ['RURAL_REVITALIZATION', rural, secrets.rural],
    ] as const) {
      if (standIn === undefined) throw new Error('no stand-in');
      await waitFor(`${agency} deliveries`, () => (standIn.received.length >= 3 ? true : undefined));
      expect(standIn.received.map((d) => d.warning.idNumber).sort()).toEqual(warned);
      expect(standIn.received.every((d) => d.agency === agency)).toBe(true);
      // The stand-in checked each signature as the README says; the hub's own verify agrees on the bytes it kept.
      expect(standIn.stats()).toMatchObject({ received: 3, refused: 0 });
      for (const d of standIn.received) {
        expect(
          verify({
            secret,
            body: d.rawBody,
            timestamp: d.headers['x-hub-timestamp'] as string,
            signature: d.headers['x-hub-signature'] as string,
          }),
        ).toBe(true);
        expect(
          verify({
            secret: `${secret}x`,
            body: d.rawBody,
            timestamp: d.headers['x-hub-timestamp'] as string,
            signature: d.headers['x-hub-signature'] as string,
          }),
        ).toBe(false);
      }
      await standIn.settled();
      expect(standIn.stats()).toMatchObject({ receiptsSent: 3, receiptsAccepted: 3, receiptsRejected: 0, receiptFailures: 0 });
    }
    const warningIds = new Map((await read('quarterlyWarnings')).map((w) => [idOf(w), w.eventId]));
    const receipts = await waitFor('six deliveries and six answers on the receipts topic', async () => {
      const all = await read('deliveryReceipts');
      return all.filter((r) => r.status === 'DELIVERED').length === 6 && all.filter((r) => r.outcome !== null).length === 6
        ? all
        : undefined;
    });
    const answers = receipts
      .filter((r: DeliveryReceipt) => r.outcome !== null)
      .map((r) => [r.agency, [...warningIds].find(([, id]) => id === r.warningId)?.[0], r.outcome, r.assistanceFen, r.period])
      .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
    expect(answers).toEqual(
      [
        ['CIVIL_AFFAIRS', person.dibao, 'RECEIVED', null, '2022-Q2'],
        ['CIVIL_AFFAIRS', person.over, 'ASSISTANCE_GIVEN', 150_000, '2022-Q2'],
        ['CIVIL_AFFAIRS', person.tekun, 'RECEIVED', null, '2022-Q2'],
        ['RURAL_REVITALIZATION', person.dibao, 'RECEIVED', null, '2022-Q2'],
        ['RURAL_REVITALIZATION', person.over, 'RECEIVED', null, '2022-Q2'],
        ['RURAL_REVITALIZATION', person.tekun, 'RECEIVED', null, '2022-Q2'],
      ].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))),
    );
    expect(receipts.filter((r) => r.status === 'FAILED')).toEqual([]);
  }, 240_000);

  it("the desk's JSON API shows the warnings with both agencies' answers, and the money owed per fund", async () => {
    desk = await startDesk(env, logger);
    const running = desk;
    const r = rules?.runtime;
    if (r === undefined) throw new Error('no rules service');
    await waitFor(
      'the desk to read every topic',
      async () => {
        const lags = await r.kafka.consumerLag(running.consumer.groupId, running.consumer.topicNames).catch(() => []);
        return lags.length > 0 && lags.every((l) => l.lag === 0 && (l.committed !== '-1' || l.end === '0')) ? true : undefined;
      },
      120_000,
    );
    const password = 'E2e-analyst-pass-2022';
    await addUser(running.pool, { username: 'analyst', displayName: '测试分析员', role: 'ANALYST', password });
    const client = deskClient(running.url);
    expect((await client.login('analyst', password)).status).toBe(200);
    const page = await client.json<{
      rows: {
        warningId: string;
        selfPayFen: number;
        reasons: string[];
        categories: string[];
        routedTo: string[];
        deliveryStatus: string;
        outcomes: { agency: string; outcome: string; assistanceFen: number | null }[];
      }[];
      next: string | null;
    }>(`/api/warnings?period=2022-Q2&policyId=${policyId}`);
    const ids = new Map((await read('quarterlyWarnings')).map((w) => [w.eventId, idOf(w)]));
    const rows = page.rows.map((row) => ({
      id: ids.get(row.warningId),
      selfPayFen: row.selfPayFen,
      reasons: row.reasons,
      categories: row.categories,
      routedTo: [...row.routedTo].sort(),
      deliveryStatus: row.deliveryStatus,
      outcomes: row.outcomes.map((o) => `${o.agency} ${o.outcome} ${o.assistanceFen ?? '-'}`).sort(),
    }));
    // Sorted by self-pay, highest first. RECEIVED acknowledges a delivery; the civil-affairs assistance
    // leaves that delivery DELIVERED and followed up.
    expect(rows).toEqual([
      {
        id: person.over,
        selfPayFen: 2_200_000,
        reasons: ['SELF_PAY_OVER_THRESHOLD'],
        categories: [],
        routedTo: ['CIVIL_AFFAIRS', 'RURAL_REVITALIZATION'],
        deliveryStatus: 'DELIVERED',
        outcomes: ['CIVIL_AFFAIRS ASSISTANCE_GIVEN 150000', 'RURAL_REVITALIZATION RECEIVED -'],
      },
      {
        id: person.dibao,
        selfPayFen: 293_250,
        reasons: ['ALWAYS_REPORTED_CATEGORY'],
        categories: ['DIBAO'],
        routedTo: ['CIVIL_AFFAIRS', 'RURAL_REVITALIZATION'],
        deliveryStatus: 'ACKNOWLEDGED',
        outcomes: ['CIVIL_AFFAIRS RECEIVED -', 'RURAL_REVITALIZATION RECEIVED -'],
      },
      {
        id: person.tekun,
        selfPayFen: 272_250,
        reasons: ['ALWAYS_REPORTED_CATEGORY'],
        categories: ['TEKUN'],
        routedTo: ['CIVIL_AFFAIRS', 'RURAL_REVITALIZATION'],
        deliveryStatus: 'ACKNOWLEDGED',
        outcomes: ['CIVIL_AFFAIRS RECEIVED -', 'RURAL_REVITALIZATION RECEIVED -'],
      },
    ]);
    expect(page.next).toBeNull();
    // Money owed per fund: 大病 4,225.00 + 325.00 + 2,600.00 = 7,150.00 yuan; 救助 6,842.50 + 5,372.50 + 980.00 = 13,195.00 yuan.
    const owed = await client.json<{ rows: { fund: string; amountFen: number; paid: boolean }[] }>('/api/payments?state=OWED');
    const perFund: Record<string, number> = {};
    for (const row of owed.rows) perFund[row.fund] = (perFund[row.fund] ?? 0) + row.amountFen;
    expect(perFund).toEqual({ CRITICAL_ILLNESS: 715_000, MEDICAL_ASSISTANCE: 1_319_500 });
  }, 240_000);
});
