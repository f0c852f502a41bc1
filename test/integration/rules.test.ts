import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IntakeItem } from '../../connectors/intake';
import { topics, type BenefitAdjustment, type DeadLetter, type SelfPayYearToDate } from '../../schemas';
import type { InboundRecord } from '../../services/kafka';
import { createLogger } from '../../services/platform';
import { createTopicCodec, createRegistryClient, registerAllSchemas } from '../../services/registry';
import { Random } from '../../services/simulate';
import { openRules, publishedSlots, rebuild, startRules, stateSlots, slotDifferences, type RulesRuntime, type SlotValues } from '../../services/rules';
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

      const out = new Writable({ write(_text: Buffer, _e, done) { done(); } });
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

  it('a DIBAO certification back-dated to March pays the April settlement\'s difference, end to end', async () => {
    const prefix = `it-rules-${randomUUID().slice(0, 8)}.`;
    const env = hubEnv(prefix);
    await registerAllSchemas(env);
    const id = idNumber(901);
    // Xianyang 2019: eligible 45,000 − 25,000 = 20,000 yuan; standard 60% × 10,000 = 6,000 settled.
    await publish(env, { hospitals: [{ rawFormat: 'json', position: 'records[0]', raw: {
      fixmedins_code: 'H61040200001', setl_id: 'S-APRIL', mdtrt_id: 'M-APRIL', psn_no: 'P901', certno: id, insutype: '390', insu_admdvs: '610402',
      med_type: '21', setl_time: '2019-04-02 10:00:00', medfee_sumamt: '50000.00', fulamt_ownpay_amt: '2000.00', overlmt_selfpay: '1000.00',
      preselfpay_amt: '2000.00', inscp_scp_amt: '45000.00', hifp_pay: '25000.00', hifmi_pay: '6000.00', maf_pay: '0.00', psn_part_amt: '19000.00',
      is_reversal: false, orig_setl_id: null, dise_codg: null,
    } }] });
    const service = await startRules(env, logger);
    try {
      const registry = createRegistryClient(String(env.HUB_SCHEMA_REGISTRY_URL ?? 'http://127.0.0.1:8081/apis/ccompat/v7'));
      const selfPay = createTopicCodec(registry, 'selfPay', `${prefix}${topics.selfPay.name}`);
      const adjustments = createTopicCodec(registry, 'benefitAdjustments', `${prefix}${topics.benefitAdjustments.name}`);
      const readAll = async <T,>(codec: { topic: string; decode(b: Buffer): Promise<T> }): Promise<T[]> =>
        Promise.all((await service.runtime.kafka.readAll(codec.topic)).map((m) => codec.decode(m.value ?? Buffer.alloc(0))));

      const before: SelfPayYearToDate = await waitFor('self-pay', async () => (await readAll(selfPay))[0]);
      expect(before).toMatchObject({ policyId: 'xianyang-2019', criticalIllnessFen: 600_000, selfPayTotalFen: 1_900_000 });
      expect(await readAll(adjustments)).toEqual([]);

      await publish(env, { civilAffairs: [{ rawFormat: 'json', position: 'records[0]', raw: {
        recordId: 'MZ-901', version: 1, idNumber: id, admdvs: '610402', category: 'DIBAO', action: 'CERTIFY', validFrom: '2019-03-01', validTo: null, decidedAt: '2019-05-10 09:00:00',
      } }] });
      // DIBAO: 65% × (20,000 − 5,000) = 9,750 yuan due; 补支付 3,750 yuan.
      const adjustment: BenefitAdjustment = await waitFor('the adjustment', async () => (await readAll(adjustments))[0]);
      expect(adjustment).toMatchObject({
        setlId: 'S-APRIL', settledCriticalIllnessFen: 600_000, dueCriticalIllnessFen: 975_000, deltaFen: 375_000,
        kind: 'SUPPLEMENTARY_PAYMENT', categoryApplied: 'DIBAO', personKey: before.personKey,
      });
      expect(adjustment.reason).toContain('DIBAO certified 2019-03-01');
      const after = await waitFor('the new self-pay', async () => (await readAll(selfPay)).find((r) => r.criticalIllnessFen === 975_000));
      expect(after.selfPayTotalFen).toBe(1_900_000 - 375_000);

      // Xianyang's 2019 critical-illness cover is for residents only, but everyone insured is in scope
      // (issue 16): an employee's year is computed without a critical-illness tier and published, and
      // nothing goes to the dead-letter topic, which is for records that are wrong.
      const employeeSettlement = (setlId: string, day: string): IntakeItem => ({ rawFormat: 'json', position: 'records[0]', raw: {
        fixmedins_code: 'H61040200001', setl_id: setlId, mdtrt_id: `M-${setlId}`, psn_no: 'P902', certno: idNumber(902), insutype: '310', insu_admdvs: '610402',
        med_type: '21', setl_time: `${day} 10:00:00`, medfee_sumamt: '1000.00', fulamt_ownpay_amt: '0.00', overlmt_selfpay: '0.00',
        preselfpay_amt: '0.00', inscp_scp_amt: '1000.00', hifp_pay: '800.00', hifmi_pay: '0.00', maf_pay: '0.00', psn_part_amt: '200.00',
        is_reversal: false, orig_setl_id: null, dise_codg: null,
      } });
      const deadLetters = createTopicCodec(registry, 'deadLetters', `${prefix}${topics.deadLetters.name}`);
      const fromRules = async (): Promise<DeadLetter[]> => (await readAll(deadLetters)).filter((d) => d.origin === 'rules');
      await publish(env, { hospitals: [employeeSettlement('S-E1', '2019-05-02'), employeeSettlement('S-E2', '2019-06-02')] });
      const employeeYear = await waitFor('the employee\'s self-pay', async () => (await readAll(selfPay)).find((r) => r.personKey !== before.personKey && r.settlementCount === 2));
      expect(employeeYear).toMatchObject({ policyId: 'xianyang-2019', criticalIllnessFen: 0, assistanceFen: 0, medfeeFen: 200_000, basicFen: 160_000, selfPayTotalFen: 40_000 });
      await drained(service.runtime);
      expect(await fromRules()).toEqual([]);
    } finally {
      await service.stop();
    }
  }, 240_000);

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
    afterAll(async () => { await runtime.close(); });

    /** Folds records through a fresh state namespace, one record per batch, in the order given. */
    const fold = (order: readonly InboundRecord[]): Promise<SlotValues> => referenceFold(runtime, order);

    it('derives outputs for the people: adjustments, subsidy-free contributions, self-pay', () => {
      expect(inbound.length).toBeGreaterThan(100);
      const kinds = new Set([...inOrder.keys()].map((slot) => slot.split(' ')[1]?.slice(0, 1)));
      expect(kinds).toEqual(new Set(['a', 'y']));
    });

    it('converges to the same outputs whatever order the facts arrive in (statuses late, reversals early, duplicates)', async () => {
      await fc.assert(fc.asyncProperty(fc.shuffledSubarray(inbound, { minLength: inbound.length, maxLength: inbound.length }), async (order) => {
        expect(slotDifferences(await fold(order), inOrder)).toEqual([]);
      }), { numRuns: 4 });
      expect(slotDifferences(await fold([...inbound].reverse()), inOrder)).toEqual([]);
      expect(slotDifferences(await fold([...inbound, ...inbound]), inOrder)).toEqual([]);
    }, 240_000);

    it('survives kill -9 at random points while facts keep arriving, folding on worker threads or not: nothing lost, nothing published twice, and a rebuild agrees', async () => {
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
        return spawn(process.execPath, [hubBin, 'rules'], { env: { ...process.env, ...killEnv, HUB_OPS_PORT: opsPort, HUB_RULES_WORKERS: workers }, stdio: 'ignore' });
      };
      const rounds = 4;
      const chunk = <T,>(items: T[], i: number): T[] => items.slice(Math.floor((items.length * i) / rounds), Math.floor((items.length * (i + 1)) / rounds));
      let child = start();
      try {
        for (let round = 0; round < rounds; round += 1) {
          await publish(killEnv, { civilAffairs: chunk(records.civilAffairs, round), hospitals: chunk(records.hospitals, round), tax: chunk(records.tax, round) });
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
        await waitFor('the group to empty', async () => ((await killRuntime.kafka.groupMemberCount(killRuntime.groupId)) === 0 ? true : undefined), 60_000);
        let report = '';
        const out = new Writable({ write(text: Buffer, _e, done) { report += text.toString(); done(); } });
        // Without its committed offsets the group would start over from the beginning: the rebuild must hand it on at the end.
        await killRuntime.kafka.deleteGroup(killRuntime.groupId);
        expect(await rebuild(killRuntime, logger, out)).toBe(0);
        expect(report).toContain('the rebuilt state equals what was published');
        // The group goes on from the end of every inbound partition, not from where the last instance stopped.
        for (const topic of killRuntime.inboundTopics) {
          for (const [partition, end] of await killRuntime.kafka.endOffsets(topic)) {
            expect(`${topic}/${partition}: ${await killRuntime.kafka.committedOffset(killRuntime.groupId, topic, partition)}`).toBe(`${topic}/${partition}: ${end}`);
          }
        }
        expect(slotDifferences(await stateSlots(killRuntime.redis, killRuntime.namespace), inOrder)).toEqual([]);
      } finally {
        await killRuntime.close();
      }
    }, 600_000);

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
