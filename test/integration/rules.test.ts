import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { civilAffairs, tax } from '../../connectors';
import { type IntakeItem } from '../../connectors/intake';
import { openIntake } from '../../connectors/intake/runtime';
import { topics, type BenefitAdjustment, type DeadLetter, type SelfPayYearToDate } from '../../schemas';
import type { InboundRecord } from '../../services/kafka';
import { createLogger } from '../../services/platform/runtime';
import { createTopicCodec } from '../../services/registry';
import { createRegistryClient, registerAllSchemas } from '../../services/registry/runtime';
import { Random } from '../../services/simulate';
import { publishedSlots, stateSlots, slotDifferences, type SlotValues } from '../../services/rules';
import { openRules, rebuild, startRules, type RulesRuntime } from '../../services/rules/runtime';
import { agencyRecords, idNumber } from '../support/person-events';
import { drained, hubEnv, inboundOf, publish, referenceFold, sleep, waitFor } from '../support/rules-harness';

const logger = createLogger({ level: 'silent', role: 'test' });
const hubBin = join(import.meta.dirname, '../../bin/hub.mjs');
/** The kill test's ops port and kill times come from this seed (HUB_RULES_TEST_SEED, printed), so a failing run can be repeated. */
const seed = Number(process.env.HUB_RULES_TEST_SEED ?? Date.now() % 1_000_000);

describe('the rules service', () => {
  it('refuses state of an older key layout until a rebuild carries it over', async () => {
    const prefix = `it-rules-${randomUUID().slice(0, 8)}.`;
    const runtime = await openRules(hubEnv(prefix), logger);
    try {
      // State as the hash-per-person layout left it: applied offsets, and no layout version.
      await runtime.redis.hset(`${runtime.namespace}{p1}:applied`, runtime.inboundTopics[0] ?? '', '41');
      await runtime.redis.hset(`${runtime.namespace}{p1}:person:someone`, 'f:s:civil-affairs/DIBAO', '{}');
      await expect(runtime.liveService()).rejects.toMatchObject({ code: 'STATE_LAYOUT_CHANGED', catastrophic: true });
      // The old person hash is not read as a person without facts, nor overwritten.
      expect(await runtime.redis.type(`${runtime.namespace}{p1}:person:someone`)).toBe('hash');

      const out = new Writable({
        write(_text: Buffer, _e, done) {
          done();
        },
      });
      expect(await rebuild(runtime, logger, out)).toBe(0);
      expect(await runtime.redis.exists(`${runtime.namespace}{p1}:person:someone`)).toBe(0);
      const service = await runtime.liveService();
      await service.close();
    } finally {
      await runtime.redis.del(`${runtime.namespace}:layout`);
      await runtime.close();
    }
  }, 120_000);

  it('marks new state with its layout and starts on it again', async () => {
    const runtime = await openRules(hubEnv(`it-rules-${randomUUID().slice(0, 8)}.`), logger);
    try {
      await (await runtime.liveService()).close();
      expect(await runtime.redis.get(`${runtime.namespace}:layout`)).toMatch(/^\d+$/);
      await runtime.redis.hset(`${runtime.namespace}{p0}:applied`, runtime.inboundTopics[0] ?? '', '7');
      await (await runtime.liveService()).close();
      await runtime.redis.set(`${runtime.namespace}:layout`, '999');
      await expect(runtime.liveService()).rejects.toMatchObject({ code: 'STATE_LAYOUT_CHANGED' });
    } finally {
      await runtime.redis.del(`${runtime.namespace}:layout`, `${runtime.namespace}{p0}:applied`);
      await runtime.close();
    }
  }, 120_000);

  it("a DIBAO certification back-dated to March pays the April settlement's difference, end to end", async () => {
    const prefix = `it-rules-${randomUUID().slice(0, 8)}.`;
    const env = hubEnv(prefix);
    await registerAllSchemas(env);
    const id = idNumber(901);
    // Xianyang 2020: eligible 45,000 − 25,000 = 20,000 yuan; standard 60% × 10,000 = 6,000 settled.
    await publish(env, {
      hospitals: [
        {
          rawFormat: 'json',
          position: 'records[0]',
          raw: {
            fixmedins_code: 'H61040200001',
            setl_id: 'S-APRIL',
            mdtrt_id: 'M-APRIL',
            psn_no: 'P901',
            certno: id,
            insutype: '390',
            insu_admdvs: '610402',
            med_type: '21',
            setl_time: '2020-04-02 10:00:00',
            medfee_sumamt: '50000.00',
            fulamt_ownpay_amt: '2000.00',
            overlmt_selfpay: '1000.00',
            preselfpay_amt: '2000.00',
            inscp_scp_amt: '45000.00',
            hifp_pay: '25000.00',
            hifmi_pay: '6000.00',
            maf_pay: '0.00',
            psn_part_amt: '19000.00',
            is_reversal: false,
            orig_setl_id: null,
            dise_codg: null,
          },
        },
      ],
    });
    const service = await startRules(env, logger);
    try {
      const registry = createRegistryClient(String(env.HUB_SCHEMA_REGISTRY_URL ?? 'http://127.0.0.1:8081/apis/ccompat/v7'));
      const selfPay = createTopicCodec(registry, 'selfPay', `${prefix}${topics.selfPay.name}`);
      const adjustments = createTopicCodec(registry, 'benefitAdjustments', `${prefix}${topics.benefitAdjustments.name}`);
      const readAll = async <T>(codec: { topic: string; decode(b: Buffer): Promise<T> }): Promise<T[]> =>
        Promise.all((await service.runtime.kafka.readAll(codec.topic)).map((m) => codec.decode(m.value ?? Buffer.alloc(0))));

      const before: SelfPayYearToDate = await waitFor('self-pay', async () => (await readAll(selfPay))[0]);
      expect(before).toMatchObject({ policyId: 'xianyang-2020', criticalIllnessFen: 600_000, selfPayTotalFen: 1_900_000 });
      expect(await readAll(adjustments)).toEqual([]);

      await publish(env, {
        civilAffairs: [
          {
            rawFormat: 'json',
            position: 'records[0]',
            raw: {
              recordId: 'MZ-901',
              version: 1,
              idNumber: id,
              admdvs: '610402',
              category: 'DIBAO',
              action: 'CERTIFY',
              validFrom: '2020-03-01',
              validTo: null,
              decidedAt: '2020-05-10 09:00:00',
            },
          },
        ],
      });
      // DIBAO: 65% × (20,000 − 5,000) = 9,750 yuan due; 补支付 3,750 yuan.
      const adjustment: BenefitAdjustment = await waitFor('the adjustment', async () => (await readAll(adjustments))[0]);
      expect(adjustment).toMatchObject({
        setlId: 'S-APRIL',
        settledCriticalIllnessFen: 600_000,
        dueCriticalIllnessFen: 975_000,
        deltaFen: 375_000,
        kind: 'SUPPLEMENTARY_PAYMENT',
        categoryApplied: 'DIBAO',
        personKey: before.personKey,
      });
      expect(adjustment.reason).toContain('DIBAO certified 2020-03-01');
      const after = await waitFor('the new self-pay', async () => (await readAll(selfPay)).find((r) => r.criticalIllnessFen === 975_000));
      expect(after.selfPayTotalFen).toBe(1_900_000 - 375_000);

      // Xianyang's 2020 critical-illness cover is for residents only, but everyone insured is in scope
      // (issue 16): an employee's year is computed without a critical-illness tier and published, and
      // nothing goes to the dead-letter topic, which is for records that are wrong.
      const employeeSettlement = (setlId: string, day: string): IntakeItem => ({
        rawFormat: 'json',
        position: 'records[0]',
        raw: {
          fixmedins_code: 'H61040200001',
          setl_id: setlId,
          mdtrt_id: `M-${setlId}`,
          psn_no: 'P902',
          certno: idNumber(902),
          insutype: '310',
          insu_admdvs: '610402',
          med_type: '21',
          setl_time: `${day} 10:00:00`,
          medfee_sumamt: '1000.00',
          fulamt_ownpay_amt: '0.00',
          overlmt_selfpay: '0.00',
          preselfpay_amt: '0.00',
          inscp_scp_amt: '1000.00',
          hifp_pay: '800.00',
          hifmi_pay: '0.00',
          maf_pay: '0.00',
          psn_part_amt: '200.00',
          is_reversal: false,
          orig_setl_id: null,
          dise_codg: null,
        },
      });
      const deadLetters = createTopicCodec(registry, 'deadLetters', `${prefix}${topics.deadLetters.name}`);
      const fromRules = async (): Promise<DeadLetter[]> => (await readAll(deadLetters)).filter((d) => d.origin === 'rules');
      await publish(env, { hospitals: [employeeSettlement('S-E1', '2020-05-02'), employeeSettlement('S-E2', '2020-06-02')] });
      const employeeYear = await waitFor("the employee's self-pay", async () =>
        (await readAll(selfPay)).find((r) => r.personKey !== before.personKey && r.settlementCount === 2),
      );
      expect(employeeYear).toMatchObject({
        policyId: 'xianyang-2020',
        criticalIllnessFen: 0,
        assistanceFen: 0,
        medfeeFen: 200_000,
        basicFen: 160_000,
        selfPayTotalFen: 40_000,
      });
      await drained(service.runtime);
      expect(await fromRules()).toEqual([]);
    } finally {
      await service.stop();
    }
  }, 240_000);

  it(
    'a reversal that does not repeat its original and a second reversal are dead-lettered once each, and the ' +
      'rest of the person-year is still computed and paid (issue 10 item 5)',
    async () => {
      const prefix = `it-rules-${randomUUID().slice(0, 8)}.`;
      const env = hubEnv(prefix);
      await registerAllSchemas(env);
      const id = idNumber(903);
      const settlement = (
        setlId: string,
        time: string,
        yuanAmounts: {
          total: string;
          fullOwn: string;
          overLimit: string;
          pre: string;
          scope: string;
          basic: string;
          ci: string;
          part: string;
        },
        reverses: string | null = null,
      ): IntakeItem => ({
        rawFormat: 'json',
        position: 'records[0]',
        raw: {
          fixmedins_code: 'H61040200001',
          setl_id: setlId,
          mdtrt_id: `M-${setlId}`,
          psn_no: 'P903',
          certno: id,
          insutype: '390',
          insu_admdvs: '610402',
          med_type: '21',
          setl_time: time,
          medfee_sumamt: yuanAmounts.total,
          fulamt_ownpay_amt: yuanAmounts.fullOwn,
          overlmt_selfpay: yuanAmounts.overLimit,
          preselfpay_amt: yuanAmounts.pre,
          inscp_scp_amt: yuanAmounts.scope,
          hifp_pay: yuanAmounts.basic,
          hifmi_pay: yuanAmounts.ci,
          maf_pay: '0.00',
          psn_part_amt: yuanAmounts.part,
          is_reversal: reverses !== null,
          orig_setl_id: reverses,
          dise_codg: null,
        },
      });
      const april = {
        total: '50000.00',
        fullOwn: '2000.00',
        overLimit: '1000.00',
        pre: '2000.00',
        scope: '45000.00',
        basic: '25000.00',
        ci: '6000.00',
        part: '19000.00',
      };
      const may = {
        total: '10000.00',
        fullOwn: '0.00',
        overLimit: '0.00',
        pre: '0.00',
        scope: '10000.00',
        basic: '6000.00',
        ci: '0.00',
        part: '4000.00',
      };
      // The reversal of May's settlement arrives before it (it waits); April's is reversed with other
      // amounts (5,000 yuan less in scope), May's twice.
      await publish(env, {
        hospitals: [
          settlement('R-MAY-1', '2020-05-10 09:00:00', may, 'S-MAY'),
          settlement('S-APRIL', '2020-04-02 10:00:00', april),
          settlement('R-APRIL', '2020-04-20 10:00:00', { ...april, total: '45000.00', scope: '40000.00', part: '14000.00' }, 'S-APRIL'),
          settlement('S-MAY', '2020-05-03 10:00:00', may),
          settlement('R-MAY-2', '2020-05-12 09:00:00', may, 'S-MAY'),
        ],
        civilAffairs: [
          {
            rawFormat: 'json',
            position: 'records[0]',
            raw: {
              recordId: 'MZ-903',
              version: 1,
              idNumber: id,
              admdvs: '610402',
              category: 'DIBAO',
              action: 'CERTIFY',
              validFrom: '2020-03-01',
              validTo: null,
              decidedAt: '2020-05-20 09:00:00',
            },
          },
        ],
      });
      const service = await startRules(env, logger);
      try {
        const registry = createRegistryClient(String(env.HUB_SCHEMA_REGISTRY_URL ?? 'http://127.0.0.1:8081/apis/ccompat/v7'));
        const codec = <K extends 'benefitAdjustments' | 'selfPay' | 'deadLetters'>(topic: K) =>
          createTopicCodec(registry, topic, `${prefix}${topics[topic].name}`);
        const readAll = async <T>(c: { topic: string; decode(b: Buffer): Promise<T> }): Promise<T[]> =>
          Promise.all((await service.runtime.kafka.readAll(c.topic)).map((m) => c.decode(m.value ?? Buffer.alloc(0))));
        const adjustments = codec('benefitAdjustments');
        const selfPay = codec('selfPay');
        const deadLetters = codec('deadLetters');
        const fromRules = async (): Promise<DeadLetter[]> => (await readAll(deadLetters)).filter((d) => d.origin === 'rules');
        const lastBySetlId = async (): Promise<Map<string, BenefitAdjustment>> =>
          new Map((await readAll(adjustments)).map((a) => [a.setlId, a]));
        await drained(service.runtime);

        // April stands (its reversal is refused): DIBAO from March, 65% × (20,000 − 5,000) = 9,750 yuan
        // due, 6,000 settled: 补支付 3,750 yuan. May is cancelled by its first reversal: nothing due.
        expect([...(await lastBySetlId()).values()].map((a) => [a.setlId, a.dueCriticalIllnessFen, a.deltaFen])).toEqual([
          ['S-APRIL', 975_000, 375_000],
        ]);
        expect((await readAll(selfPay)).at(-1)).toMatchObject({ settlementCount: 1, criticalIllnessFen: 975_000, medfeeFen: 5_000_000 });
        const refused = (await fromRules()).map((d) => [d.errorCode, d.field, d.errorMessage]).sort();
        expect(refused).toEqual([
          [
            'REVERSAL_DUPLICATE',
            'orig_setl_id',
            'reversal H61040200001/R-MAY-2 of H61040200001/S-MAY left out: orig_setl_id: "H61040200001/S-MAY" ' +
              'is already reversed by H61040200001/R-MAY-1',
          ],
          [
            'REVERSAL_MISMATCH',
            'medfee_sumamt',
            'reversal H61040200001/R-APRIL of H61040200001/S-APRIL left out: medfee_sumamt: a reversal repeats ' +
              'the amounts of H61040200001/S-APRIL (5000000), got 4500000',
          ],
        ]);

        // A later settlement is still computed and paid, and the refused facts are not reported again:
        // cumulative eligible 20,000 + 4,000; 65% × (24,000 − 5,000) = 12,350 yuan, 2,600 of it for June.
        await publish(env, { hospitals: [settlement('S-JUNE', '2020-06-05 10:00:00', may)] });
        await drained(service.runtime);
        expect((await lastBySetlId()).get('S-JUNE')).toMatchObject({
          dueCriticalIllnessFen: 260_000,
          settledCriticalIllnessFen: 0,
          deltaFen: 260_000,
          categoryApplied: 'DIBAO',
        });
        const letters = await fromRules();
        expect(letters).toHaveLength(2);
        // No clear ID number in what the dead letters carry.
        for (const letter of letters) expect(`${letter.errorMessage} ${letter.raw.toString('utf8')}`).not.toContain(id);
      } finally {
        await service.stop();
      }
    },
    240_000,
  );

  it(
    'a corrected ID number moves a civil-affairs record and a contribution record to the new person: the ' +
      'first person loses the TEKUN and its subsidy, and an older version sent again gives nothing back (issue 10 item 6)',
    async () => {
      const prefix = `it-rules-${randomUUID().slice(0, 8)}.`;
      const env = hubEnv(prefix);
      await registerAllSchemas(env);
      const first = idNumber(904);
      const corrected = idNumber(905);
      const status = (idNumber: string, version: number): IntakeItem => ({
        rawFormat: 'json',
        position: 'records[0]',
        raw: {
          recordId: 'MZ-MOVE',
          version,
          idNumber,
          admdvs: '341002',
          category: 'TEKUN',
          action: 'CERTIFY',
          validFrom: '2022-01-01',
          validTo: null,
          decidedAt: `2022-0${version}-10 09:00:00`,
        },
      });
      const contribution = (idNumber: string, version: number): IntakeItem => ({
        rawFormat: 'json',
        position: 'records[0]',
        raw: {
          recordId: 'SW-MOVE',
          version,
          idNumber,
          admdvs: '341002',
          insuranceYear: 2022,
          insutype: '390',
          kind: 'PAYMENT',
          contributionDue: '320.00',
          paid: '320.00',
          subsidised: '0.00',
          paidAt: '2022-01-10 10:00:00',
        },
      });
      const settlement = (idNumber: string, setlId: string): IntakeItem => ({
        rawFormat: 'json',
        position: 'records[0]',
        raw: {
          fixmedins_code: 'H34100200001',
          setl_id: setlId,
          mdtrt_id: `M-${setlId}`,
          psn_no: `P-${setlId}`,
          certno: idNumber,
          insutype: '390',
          insu_admdvs: '341002',
          med_type: '11',
          setl_time: '2022-03-02 10:00:00',
          medfee_sumamt: '1000.00',
          fulamt_ownpay_amt: '0.00',
          overlmt_selfpay: '0.00',
          preselfpay_amt: '0.00',
          inscp_scp_amt: '1000.00',
          hifp_pay: '800.00',
          hifmi_pay: '0.00',
          maf_pay: '0.00',
          psn_part_amt: '200.00',
          is_reversal: false,
          orig_setl_id: null,
          dise_codg: null,
        },
      });
      await publish(env, {
        civilAffairs: [status(first, 1)],
        tax: [contribution(first, 1)],
        hospitals: [settlement(first, 'S-904'), settlement(corrected, 'S-905')],
      });
      const service = await startRules(env, logger);
      try {
        const registry = createRegistryClient(String(env.HUB_SCHEMA_REGISTRY_URL ?? 'http://127.0.0.1:8081/apis/ccompat/v7'));
        const readAll = async <T>(c: { topic: string; decode(b: Buffer): Promise<T> }): Promise<T[]> =>
          Promise.all((await service.runtime.kafka.readAll(c.topic)).map((m) => c.decode(m.value ?? Buffer.alloc(0))));
        const selfPay = createTopicCodec(registry, 'selfPay', `${prefix}${topics.selfPay.name}`);
        const subsidies = createTopicCodec(registry, 'subsidyCorrections', `${prefix}${topics.subsidyCorrections.name}`);
        const statusTopic = createTopicCodec(registry, 'civilAffairsStatus', `${prefix}${topics.civilAffairsStatus.name}`);
        /** Per person (by the settlement they had), the categories of the last self-pay record and the last subsidy correction. */
        const outcome = async () => {
          const years = await readAll(selfPay);
          const keyOf = new Map(years.map((y) => [y.personKey, y.medfeeFen]));
          const person = (key: string): string => (keyOf.has(key) ? key : '?');
          const last = new Map<string, { categories: string[]; subsidy?: [string, number, number, number] }>();
          for (const y of years) last.set(person(y.personKey), { categories: y.categories });
          for (const c of await readAll(subsidies)) {
            const entry = last.get(person(c.personKey)) ?? { categories: [] };
            last.set(person(c.personKey), { ...entry, subsidy: [c.kind, c.entitledSubsidyFen, c.receivedSubsidyFen, c.deltaFen] });
          }
          return last;
        };
        // Both people's years and the subsidy correction, before the group's lag is asked (it may be read before the group joined).
        await waitFor("both people's self-pay and the subsidy correction", async () => {
          const now = await outcome();
          return now.size === 2 && [...now.values()].some((o) => o.subsidy !== undefined) ? true : undefined;
        });
        await drained(service.runtime);
        const keys = [...(await outcome()).keys()];
        expect(keys).toHaveLength(2);
        const statuses = await readAll(statusTopic);
        const firstKey = statuses[0]?.personKey ?? '';
        const correctedKey = keys.find((k) => k !== firstKey) ?? '';
        // TEKUN in Huangshan: the contribution subsidised in full (004 三(二)2), 320 yuan; none was.
        expect(Object.fromEntries(await outcome())).toEqual({
          [firstKey]: { categories: ['TEKUN'], subsidy: ['UNDER_SUBSIDISED', 32_000, 0, 32_000] },
          [correctedKey]: { categories: [] },
        });

        // Version 2 of both records names the corrected ID number.
        await publish(env, { civilAffairs: [status(corrected, 2)], tax: [contribution(corrected, 2)] });
        await drained(service.runtime);
        expect(Object.fromEntries(await outcome())).toEqual({
          [firstKey]: { categories: [], subsidy: ['CORRECT', 0, 0, 0] },
          [correctedKey]: { categories: ['TEKUN'], subsidy: ['UNDER_SUBSIDISED', 32_000, 0, 32_000] },
        });
        // The first person's partition was told, by the connector, in a WITHDRAWN record of version 2.
        expect(
          (await readAll(statusTopic))
            .map((r) => `${r.personKey === firstKey ? 'first' : 'corrected'} ${r.action} ${r.sourceVersion}`)
            .sort(),
        ).toEqual(['corrected CERTIFY 2', 'first CERTIFY 1', 'first WITHDRAWN 2']);

        // Version 1 sent again (an old file imported once more) is the fact already published: nothing new.
        const ingest = async (agency: typeof civilAffairs | typeof tax, item: IntakeItem) => {
          const intake = await openIntake(agency, env, logger);
          try {
            return await intake.intake.ingest([item], 'test');
          } finally {
            await intake.close();
          }
        };
        expect((await ingest(civilAffairs, status(first, 1))).map((o) => o.status)).toEqual(['duplicate']);
        expect((await ingest(tax, contribution(first, 1))).map((o) => o.status)).toEqual(['duplicate']);
        // A version 1 that arrives after version 2 named another person is refused: it would give
        // the first person what version 2 took from them.
        const late = (idNumber: string, version: number): IntakeItem => ({
          ...status(idNumber, version),
          raw: { ...status(idNumber, version).raw, recordId: 'MZ-LATE', category: 'DIBAO' },
        });
        expect((await ingest(civilAffairs, late(corrected, 2))).map((o) => o.status)).toEqual(['accepted']);
        expect(await ingest(civilAffairs, late(first, 1))).toEqual([
          {
            status: 'rejected',
            position: 'records[0]',
            problems: [
              {
                field: 'version',
                reason: 'is older than version 2 of this record, which names another person: an older version changes nothing',
              },
            ],
          },
        ]);
        await drained(service.runtime);
        expect(Object.fromEntries(await outcome())).toEqual({
          [firstKey]: { categories: [], subsidy: ['CORRECT', 0, 0, 0] },
          [correctedKey]: { categories: ['DIBAO', 'TEKUN'], subsidy: ['UNDER_SUBSIDISED', 32_000, 0, 32_000] },
        });
        // The index keeps a hash of the record id, never the id.
        const indexKeys = await service.runtime.redis.keys(`hub:intake:source:${prefix}*`);
        expect(indexKeys).toHaveLength(3);
        expect(indexKeys.join(' ')).not.toMatch(/MOVE|LATE/);
      } finally {
        await service.stop();
      }
    },
    240_000,
  );

  describe('on a stream of 40 people', () => {
    const prefix = `it-rules-${randomUUID().slice(0, 8)}.`;
    const env = hubEnv(prefix);
    const records = agencyRecords(40);
    let runtime: RulesRuntime;
    let inbound: InboundRecord[];
    let inOrder: SlotValues;

    beforeAll(async () => {
      await registerAllSchemas(env);
      await publish(env, records);
      runtime = await openRules(env, logger);
      inbound = await inboundOf(runtime);
      inOrder = await fold(inbound);
    }, 240_000);
    afterAll(async () => {
      await runtime.close();
    });

    /** Folds records through a fresh state namespace, one record per batch, in the order given. */
    const fold = (order: readonly InboundRecord[]): Promise<SlotValues> => referenceFold(runtime, order);

    it('derives outputs for the people: adjustments, subsidy-free contributions, self-pay', () => {
      expect(inbound.length).toBeGreaterThan(100);
      const kinds = new Set([...inOrder.keys()].map((slot) => slot.split(' ')[1]?.slice(0, 1)));
      expect(kinds).toEqual(new Set(['a', 'y']));
    });

    it('converges to the same outputs whatever order the facts arrive in (statuses late, reversals early, duplicates)', async () => {
      await fc.assert(
        fc.asyncProperty(fc.shuffledSubarray(inbound, { minLength: inbound.length, maxLength: inbound.length }), async (order) => {
          expect(slotDifferences(await fold(order), inOrder)).toEqual([]);
        }),
        { numRuns: 4 },
      );
      expect(slotDifferences(await fold([...inbound].reverse()), inOrder)).toEqual([]);
      expect(slotDifferences(await fold([...inbound, ...inbound]), inOrder)).toEqual([]);
    }, 240_000);

    it(
      'survives kill -9 at random points while facts keep arriving, folding on worker threads or not: ' +
        'nothing lost, nothing published twice, and a rebuild agrees',
      async () => {
        const killEnv = hubEnv(`it-rules-${randomUUID().slice(0, 8)}.`);
        await registerAllSchemas(killEnv);
        const killRuntime = await openRules(killEnv, logger);
        const random = new Random('rules-kill', seed);
        console.log(`rules kill test: seed ${seed} (HUB_RULES_TEST_SEED)`);
        const opsPort = String(random.int(20000, 29999));
        // Instances alternate between folding on two worker threads and on the main thread: each
        // takes over the state and outbox the other left behind.
        let started = 0;
        const start = (): ChildProcess => {
          started += 1;
          const workers = started % 2 === 1 ? '2' : '0';
          return spawn(process.execPath, [hubBin, 'rules'], {
            env: { ...process.env, ...killEnv, HUB_OPS_PORT: opsPort, HUB_RULES_WORKERS: workers },
            stdio: 'ignore',
          });
        };
        const rounds = 4;
        const chunk = <T>(items: T[], i: number): T[] =>
          items.slice(Math.floor((items.length * i) / rounds), Math.floor((items.length * (i + 1)) / rounds));
        let child = start();
        try {
          for (let round = 0; round < rounds; round += 1) {
            await publish(killEnv, {
              civilAffairs: chunk(records.civilAffairs, round),
              hospitals: chunk(records.hospitals, round),
              tax: chunk(records.tax, round),
            });
            await sleep(random.int(300, 2799));
            child.kill('SIGKILL');
            await new Promise((resolve) => child.once('exit', resolve));
            child = start();
          }
          await drained(killRuntime);
        } finally {
          child.kill('SIGTERM');
          await new Promise((resolve) => child.once('exit', resolve));
        }
        try {
          const published = await publishedSlots(killRuntime.kafka, killRuntime.outputs());
          expect(published.distinctIds).toBe(published.records);
          expect(slotDifferences(published.slots, inOrder)).toEqual([]);
          expect(slotDifferences(await stateSlots(killRuntime.redis, killRuntime.namespace), inOrder)).toEqual([]);

          // Killed members stay in the group until their session times out; a rebuild waits for none.
          await waitFor(
            'the group to empty',
            async () => ((await killRuntime.kafka.groupMemberCount(killRuntime.groupId)) === 0 ? true : undefined),
            60_000,
          );
          let report = '';
          const out = new Writable({
            write(text: Buffer, _e, done) {
              report += text.toString();
              done();
            },
          });
          // Without its committed offsets the group would start over from the beginning: the rebuild must hand it on at the end.
          await killRuntime.kafka.deleteGroup(killRuntime.groupId);
          expect(await rebuild(killRuntime, logger, out)).toBe(0);
          expect(report).toContain('the rebuilt state equals what was published');
          // The group goes on from the end of every inbound partition, not from where the last instance stopped.
          for (const topic of killRuntime.inboundTopics) {
            for (const [partition, end] of await killRuntime.kafka.endOffsets(topic)) {
              expect(`${topic}/${partition}: ${await killRuntime.kafka.committedOffset(killRuntime.groupId, topic, partition)}`).toBe(
                `${topic}/${partition}: ${end}`,
              );
            }
          }
          expect(slotDifferences(await stateSlots(killRuntime.redis, killRuntime.namespace), inOrder)).toEqual([]);
        } finally {
          await killRuntime.close();
        }
      },
      600_000,
    );

    it('two instances sharing the partitions publish what one instance would', async () => {
      const twinPrefix = `it-rules-${randomUUID().slice(0, 8)}.`;
      const twinEnv = hubEnv(twinPrefix);
      await registerAllSchemas(twinEnv);
      await publish(twinEnv, records);
      // One instance folds on its main thread, the other on two worker threads.
      const a = await startRules(twinEnv, logger);
      const b = await startRules({ ...twinEnv, HUB_RULES_WORKERS: '2' }, logger);
      try {
        await drained(a.runtime);
        const published = await publishedSlots(a.runtime.kafka, a.runtime.outputs());
        expect(published.distinctIds).toBe(published.records);
        expect(slotDifferences(published.slots, inOrder)).toEqual([]);
      } finally {
        await Promise.all([a.stop(), b.stop()]);
      }
    }, 300_000);
  });
});
