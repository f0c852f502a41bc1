import { randomUUID } from 'node:crypto';
import { topics, type TopicId, type TopicRecords } from '../../schemas';
import { pseudonymise, type IdentitySecrets } from '../../services/identity';
import { connectKafka } from '../../services/kafka/runtime';
import { effectiveEnvironment } from '../../services/platform';
import { createLogger } from '../../services/platform/runtime';
import { createTopicCodec } from '../../services/registry';
import { createRegistryClient, registerAllSchemas } from '../../services/registry/runtime';
import { Random } from '../../services/simulate';
import { idNumber } from './person-events';

/**
 * A deterministic small world for the desk's tests: people certified by civil affairs or rural
 * revitalization, their settlements, the rules service's outputs and the warnings service's
 * warnings and delivery receipts, as records of the real topics. Test secrets are fixed, so the
 * sealed ID numbers the desk opens are ones the test knows.
 */
export const testSecrets: IdentitySecrets = { personKeySecret: Buffer.alloc(32, 0x11), idEncryptionKey: Buffer.alloc(32, 0x22) };

export interface FixtureRecord<K extends TopicId = TopicId> {
  readonly topic: K;
  readonly key: string;
  readonly record: TopicRecords[K];
}

export interface FixturePerson {
  readonly index: number;
  readonly idNumber: string;
  readonly personKey: string;
  readonly agency: 'CIVIL_AFFAIRS' | 'RURAL_REVITALIZATION';
}

export interface DeskFixture {
  readonly people: FixturePerson[];
  readonly records: FixtureRecord[];
  /** Warnings per agency it was routed to (a warning routed to both counts for both). */
  readonly warningsRoutedTo: Record<'CIVIL_AFFAIRS' | 'RURAL_REVITALIZATION', number>;
}

const base = Date.UTC(2022, 3, 10, 2, 0, 0);
const day = 86_400_000;

export function deskFixture(people: number, seed = 13): DeskFixture {
  const random = new Random('desk-fixture', seed);
  const records: FixtureRecord[] = [];
  const persons: FixturePerson[] = [];
  const routed = { CIVIL_AFFAIRS: 0, RURAL_REVITALIZATION: 0 };
  const push = <K extends TopicId>(topic: K, key: string, record: TopicRecords[K]): void => {
    records.push({ topic, key, record });
  };
  for (let i = 0; i < people; i += 1) {
    const id = idNumber(i);
    const { personKey, idCipher } = pseudonymise(id, '2022-06-30', testSecrets);
    const civil = i % 3 !== 2;
    const agency = civil ? 'CIVIL_AFFAIRS' : 'RURAL_REVITALIZATION';
    persons.push({ index: i, idNumber: id, personKey, agency });
    const envelope = (kind: string, n: number, source: string) => ({
      eventId: `${kind}-${i}-${n}`,
      source,
      occurredAt: base + i * 1000 + n,
      recordedAt: base + i * 1000 + n + 5,
    });
    const category = civil ? (i % 2 === 0 ? 'DIBAO' : 'TEKUN') : 'MONITORED';
    const status = {
      ...envelope('st', 0, civil ? 'civil-affairs:api:test' : 'rural-revitalization:api:test'),
      sourceRecordId: `ST-${i}`,
      sourceVersion: 1,
      personKey,
      idCipher,
      admdvs: '341002',
      action: 'CERTIFY' as const,
      validFrom: '2022-02-01',
      validTo: null,
    };
    if (civil) push('civilAffairsStatus', personKey, { ...status, category: category as 'DIBAO' });
    else push('ruralRevitalizationStatus', personKey, { ...status, category: 'MONITORED' });
    const selfPay = 1_000_00 + Math.floor(random.next() * 4_000_000);
    const medfee = selfPay * 3;
    push('hospitalSettlements', personKey, {
      ...envelope('setl', 0, 'hospitals:api:test'),
      personKey,
      idCipher,
      fixmedins_code: `H3410020000${i % 3}`,
      setl_id: `S-${i}`,
      mdtrt_id: `M-${i}`,
      psn_no: `P-${i}`,
      insutype: '390',
      insu_admdvs: '341002',
      med_type: '21',
      setl_time: base - 20 * day + i * 60_000,
      medfee_sumamt: medfee,
      fulamt_ownpay_amt: 0,
      overlmt_selfpay: 0,
      preselfpay_amt: 0,
      inscp_scp_amt: medfee,
      hifp_pay: medfee - selfPay - 50_000,
      hifmi_pay: 30_000,
      maf_pay: 20_000,
      psn_part_amt: selfPay,
      is_reversal: false,
      orig_setl_id: null,
      dise_codg: null,
    });
    if (i % 2 === 0) {
      push('benefitAdjustments', personKey, {
        ...envelope('adj', 0, 'hub:rules'),
        personKey,
        policyId: 'anhui-huangshan-2022',
        benefitYear: 2022,
        setlId: `S-${i}`,
        fixmedinsCode: `H3410020000${i % 3}`,
        settledCriticalIllnessFen: 30_000,
        settledAssistanceFen: 20_000,
        dueCriticalIllnessFen: 30_000 + 12_345 * (1 + (i % 4)),
        dueAssistanceFen: 20_000 + 10_000,
        deltaFen: 12_345 * (1 + (i % 4)) + 10_000,
        kind: 'SUPPLEMENTARY_PAYMENT',
        categoryApplied: category,
        reason: '低保认定追溯至 2022-02-01，应按倾斜政策补付',
        causedBy: [`st-${i}-0`],
        supersedes: null,
      });
    }
    if (i % 5 === 0) {
      push('subsidyCorrections', personKey, {
        ...envelope('sub', 0, 'hub:rules'),
        personKey,
        policyId: 'anhui-huangshan-2022',
        insuranceYear: 2022,
        category,
        contributionRecordId: `TAX-${i}`,
        contributionEventId: `tax-${i}`,
        entitledSubsidyFen: 38_000,
        receivedSubsidyFen: 0,
        deltaFen: 38_000,
        kind: 'UNDER_SUBSIDISED',
        reason: '困难群众身份应资助参保而未资助',
      });
    }
    push('selfPay', personKey, {
      ...envelope('sp', 0, 'hub:rules'),
      personKey,
      policyId: 'anhui-huangshan-2022',
      benefitYear: 2022,
      settlementCount: 1,
      lastSettledAt: base - 20 * day,
      medfeeFen: medfee,
      basicFen: medfee - selfPay - 50_000,
      criticalIllnessFen: 30_000,
      assistanceFen: 20_000,
      selfPayTotalFen: selfPay,
      selfPayInScopeFen: selfPay,
      categories: [category],
    });
    for (const period of i % 4 === 0 ? ['2022-Q1', '2022-Q2'] : ['2022-Q2']) {
      const both = i % 7 === 0;
      const routedTo: ('CIVIL_AFFAIRS' | 'RURAL_REVITALIZATION')[] = both ? ['CIVIL_AFFAIRS', 'RURAL_REVITALIZATION'] : [agency];
      for (const a of routedTo) routed[a] += 1;
      const warningId = `w-${period}-${i}`;
      push('quarterlyWarnings', personKey, {
        ...envelope(`warn-${period}`, 0, 'hub:warnings'),
        eventId: warningId,
        personKey,
        idCipher,
        policyId: 'anhui-huangshan-2022',
        period,
        windowFrom: period === '2022-Q1' ? '2022-01-01' : '2022-04-01',
        windowTo: period === '2022-Q1' ? '2022-03-31' : '2022-06-30',
        categories: [category],
        reasons: selfPay > 2_000_000 ? ['ALWAYS_REPORTED_CATEGORY', 'SELF_PAY_OVER_THRESHOLD'] : ['ALWAYS_REPORTED_CATEGORY'],
        basis: 'TOTAL',
        selfPayFen: selfPay,
        thresholdFen: 2_000_000,
        medfeeFen: medfee,
        basicFen: medfee - selfPay - 50_000,
        criticalIllnessFen: 30_000,
        assistanceFen: 20_000,
        routedTo,
        settlements: [],
        warned: true,
        supersedes: null,
        changes: [],
      });
      // A rerun's word on some people: a correction (every ninth from the sixth) or a withdrawal (every ninth from the eighth).
      const first = records[records.length - 1]?.record as TopicRecords['quarterlyWarnings'];
      if (period === '2022-Q2' && (i % 9 === 5 || i % 9 === 7)) {
        const withdraw = i % 9 === 7;
        push('quarterlyWarnings', personKey, {
          ...first,
          eventId: `${warningId}-r`,
          recordedAt: first.recordedAt + day,
          occurredAt: first.occurredAt + day,
          supersedes: warningId,
          warned: !withdraw,
          reasons: withdraw ? [] : first.reasons,
          selfPayFen: withdraw ? first.selfPayFen : first.selfPayFen + 500_00,
          changes: withdraw ? ['不再符合预警条件'] : ['个人自付费用：增加 500.00 元'],
          settlements: [
            {
              fixmedinsCode: `H3410020000${i % 3}`,
              setlId: `S-${i}`,
              settledAt: '2022-06-10',
              medfeeFen: medfee,
              basicFen: medfee - selfPay - 50_000,
              criticalIllnessFen: 30_000,
              assistanceFen: 20_000,
              selfPayFen: selfPay,
            },
          ],
        });
      }
      routedTo.forEach((a, n) => {
        const receipt = (
          status: TopicRecords['deliveryReceipts']['status'],
          attempt: number,
          k: number,
          detail: string | null = null,
        ): void =>
          push('deliveryReceipts', personKey, {
            ...envelope(`rc-${period}-${a}`, k, 'hub:warnings'),
            warningId,
            agency: a,
            channel: 'WEBHOOK',
            status,
            attempt,
            detail,
            outcome: null,
            assistanceKind: null,
            assistanceFen: null,
            certifiedCategory: null,
            reason: null,
            agencyRecordId: null,
            personKey,
            period,
          });
        // Every sixth person's delivery fails: five attempts (given up, "dead") or one (to be retried).
        if (i % 6 === 1 && n === 0) {
          const attempts = i % 12 === 1 ? 5 : 1;
          for (let t = 1; t <= attempts; t += 1) receipt('FAILED', t, t, '对方接口返回 503');
          return;
        }
        receipt('DELIVERED', 1, 0);
        // Every fifth person's agency answers: assistance given, with its amount.
        if (i % 5 === 3) {
          push('deliveryReceipts', personKey, {
            ...envelope(`rc-${period}-${a}`, 9, 'civil-affairs:api:test'),
            warningId,
            agency: a,
            channel: 'WEBHOOK',
            status: 'FOLLOW_UP_STARTED',
            attempt: 1,
            detail: null,
            outcome: 'ASSISTANCE_GIVEN',
            assistanceKind: '临时救助',
            assistanceFen: 1_000_00 + i,
            certifiedCategory: null,
            reason: null,
            agencyRecordId: `MZ-${i}`,
            personKey,
            period,
          });
        }
        if (i % 3 === 0) receipt('ACKNOWLEDGED', 1, 1);
        if (i % 4 === 0) receipt('FOLLOW_UP_STARTED', 1, 2);
        if (i % 8 === 0) receipt('FOLLOW_UP_CLOSED', 1, 3, '已纳入临时救助');
      });
    }
  }
  return { people: persons, records, warningsRoutedTo: routed };
}

/** The fixture's warnings as the desk lists them: the latest word per person-period (no replaced, no withdrawn). */
export function fixtureWarnings(fixture: DeskFixture): TopicRecords['quarterlyWarnings'][] {
  const all = fixture.records.flatMap((r) => (r.topic === 'quarterlyWarnings' ? [r.record as TopicRecords['quarterlyWarnings']] : []));
  const replaced = new Set(all.flatMap((w) => (w.supersedes === null ? [] : [w.supersedes])));
  return all.filter((w) => w.warned && !replaced.has(w.eventId));
}

/** The environment of a desk test: a fresh topic prefix and database, the test secrets, an ephemeral port. */
export function deskTestEnv(label: string): Record<string, string | undefined> {
  const suffix = randomUUID().slice(0, 8);
  return {
    ...effectiveEnvironment(),
    HUB_TOPIC_PREFIX: `it-desk-${label}-${suffix}.`,
    HUB_DESK_DATABASE: `it_desk_${label.replace(/-/g, '_')}_${suffix}`,
    HUB_TOPIC_PARTITIONS: '3',
    HUB_KAFKA_SESSION_TIMEOUT_MS: '6000',
    HUB_PERSON_KEY_SECRET: testSecrets.personKeySecret.toString('hex'),
    HUB_ID_ENCRYPTION_KEY: testSecrets.idEncryptionKey.toString('hex'),
    HUB_DESK_PORT: '0',
    HUB_DESK_SECURE_COOKIE: 'false',
    HUB_LOG_LEVEL: 'warn',
  };
}

/** Registers the schemas under the test's prefix and publishes the records through the registry's serdes. */
export async function publishFixture(env: Record<string, string | undefined>, records: readonly FixtureRecord[]): Promise<void> {
  await registerAllSchemas(env);
  const prefix = env.HUB_TOPIC_PREFIX ?? '';
  const logger = createLogger({ level: 'silent', role: 'test' });
  const kafka = connectKafka(
    { brokers: [env.HUB_KAFKA_BROKERS ?? '127.0.0.1:9092'], clientId: 'desk-test', topicPrefix: prefix, partitions: 3, replication: 1 },
    logger,
  );
  const registry = createRegistryClient(env.HUB_SCHEMA_REGISTRY_URL ?? 'http://127.0.0.1:8081/apis/ccompat/v7');
  try {
    const byTopic = new Map<TopicId, FixtureRecord[]>();
    for (const r of records) byTopic.set(r.topic, [...(byTopic.get(r.topic) ?? []), r]);
    await kafka.ensureTopics([...byTopic.keys()].map((id) => ({ name: `${prefix}${topics[id].name}` })));
    const producer = await kafka.createProducer();
    try {
      for (const [id, items] of byTopic) {
        const name = `${prefix}${topics[id].name}`;
        const codec = createTopicCodec(registry, id, name);
        const encoded = [];
        for (const item of items) encoded.push({ key: item.key, value: await codec.encode(item.record) });
        await producer.send(name, encoded);
      }
    } finally {
      await producer.close();
    }
  } finally {
    await kafka.close();
  }
}
