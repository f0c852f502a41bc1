import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { IntakeItem } from '../../connectors/intake';
import { registerAllSchemas } from '../../services/registry/runtime';
import { Random } from '../../services/simulate';
import { publishedSlots } from '../../services/rules';
import { openRules, rebuild, rulesConsumerOptions, startRules, type RulesRuntime } from '../../services/rules/runtime';
import { decodePerson } from '../../services/rules/state-store';
import { agencyRecords, idNumber } from '../support/person-events';
import {
  deleteKeys,
  drained,
  expectExactlyOnce,
  finalRecords,
  freshPrefix,
  hubEnv,
  inboundOf,
  publish,
  quietLogger,
  recordDifferences,
  referenceFold,
  sleep,
  waitFor,
  type AgencyItems,
} from '../support/rules-harness';

/**
 * The rules service crashed, taken over and restarted the ways production will: each test leaves
 * the service in a state it must recover from, on the real stack, and ends with the same checks
 * (no event id twice, final values equal to a clean reference, state equal to the topics).
 */

const chunk = (records: AgencyItems, i: number, of: number): AgencyItems => {
  const part = (items: IntakeItem[] | undefined): IntakeItem[] =>
    (items ?? []).slice(Math.floor(((items?.length ?? 0) * i) / of), Math.floor(((items?.length ?? 0) * (i + 1)) / of));
  return { civilAffairs: part(records.civilAffairs), hospitals: part(records.hospitals), tax: part(records.tax) };
};

/** A Xianyang 2020 settlement: eligible 45,000 − 25,000 = 20,000 yuan; 6,000 of critical illness settled, as due without a category. */
function settlement(person: number, setlId: string, day: string, reverses?: string): IntakeItem {
  return {
    rawFormat: 'json',
    position: 'records[0]',
    raw: {
      fixmedins_code: 'H61040200001',
      setl_id: setlId,
      mdtrt_id: `M-${setlId}`,
      psn_no: `P${person}`,
      certno: idNumber(person),
      insutype: '390',
      insu_admdvs: '610402',
      med_type: '21',
      setl_time: `${day} 10:00:00`,
      medfee_sumamt: '50000.00',
      fulamt_ownpay_amt: '2000.00',
      overlmt_selfpay: '1000.00',
      preselfpay_amt: '2000.00',
      inscp_scp_amt: '45000.00',
      hifp_pay: '25000.00',
      hifmi_pay: '6000.00',
      maf_pay: '0.00',
      psn_part_amt: '19000.00',
      is_reversal: reverses !== undefined,
      orig_setl_id: reverses ?? null,
    },
  };
}

function dibao(person: number): IntakeItem {
  return {
    rawFormat: 'json',
    position: 'records[0]',
    raw: {
      recordId: `MZ-${person}`,
      version: 1,
      idNumber: idNumber(person),
      admdvs: '610402',
      category: 'DIBAO',
      action: 'CERTIFY',
      validFrom: '2020-03-01',
      validTo: null,
      decidedAt: '2020-05-10 09:00:00',
    },
  };
}

describe('the rules service under crashes and takeovers', () => {
  it('a member that gets partitions back after another member held them keeps working', async () => {
    const env = hubEnv(freshPrefix());
    await registerAllSchemas(env);
    const records = agencyRecords(40, 11);
    const a = await startRules(env, quietLogger);
    try {
      await publish(env, chunk(records, 0, 4));
      await drained(a.runtime);
      // B joins and folds batches of the numbers it is given: its producers fence A's for those numbers.
      const b = await startRules(env, quietLogger);
      try {
        await waitFor('b to be assigned partitions', () =>
          Promise.resolve(b.consumer.status().consuming && b.consumer.status().assigned > 0 ? true : undefined),
        );
        await publish(env, chunk(records, 1, 4));
        await drained(a.runtime);
      } finally {
        await b.stop();
      }
      // The numbers come back to A: it must publish with new producers, not crash on fenced ones.
      await waitFor('a to hold every partition again', () => Promise.resolve(a.consumer.status().assigned === 12 ? true : undefined));
      await publish(env, chunk(records, 2, 4));
      await publish(env, chunk(records, 3, 4));
      await drained(a.runtime, 60_000);
      expect(a.consumer.status()).toMatchObject({ consuming: true, assigned: 12 });
      expect(a.consumer.status().crashed).toBeUndefined();
      await expectExactlyOnce(a.runtime, await referenceFold(a.runtime, await inboundOf(a.runtime)));
    } finally {
      await deleteKeys(a.runtime, a.runtime.namespace);
      await a.stop();
    }
  }, 300_000);

  it('publishes pending outbox entries of two topics in the order they were derived, before folding more', async () => {
    // One partition: every record below shares a partition number, and so one outbox.
    const env = hubEnv(freshPrefix(), 1);
    await registerAllSchemas(env);
    const p = 911;
    const q = 912;
    // Q's April settlement, folded and committed cleanly.
    await publish(env, { hospitals: [settlement(q, 'S-Q', '2020-04-02')] });
    const first = await startRules(env, quietLogger);
    await drained(first.runtime);
    await first.stop();

    // hospitals: h[1] = P's April settlement, h[2] = the reversal of Q's; civil affairs: P and Q certified DIBAO from March.
    await publish(env, {
      hospitals: [settlement(p, 'S-P', '2020-04-03'), settlement(q, 'R-Q', '2020-04-20', 'S-Q')],
      civilAffairs: [dibao(p), dibao(q)],
    });
    const runtime = await openRules(env, quietLogger);
    try {
      const inbound = await inboundOf(runtime);
      const hospitalsTopic = runtime.inboundTopics.find((t) => t.endsWith('hospitals.settlements')) ?? '';
      const h = inbound.filter((r) => r.topic === hospitalsTopic);
      const c = inbound.filter((r) => r.topic !== hospitalsTopic);
      // The intake writes in transactions: offsets count the markers between them, so the records
      // are named by their place: hospitals S-Q, S-P, R-Q; civil affairs P's and Q's DIBAO.
      expect(h.map((r) => r.offset)).toEqual(['0', '2', '3']);
      expect(c.map((r) => r.offset)).toEqual(['0', '1']);
      // Each batch below is folded into Redis and its transaction never commits (a crash, a failed
      // transaction), as the consumer would hand them over:
      const service = runtime.service('live');
      // 1. P's settlement: P's self-pay (v1).
      await service.handleBatch([h[1]!]);
      // 2. the two certifications, fetched meanwhile: P's adjustment and self-pay v2 (after v1),
      //    Q's adjustment of S-Q and self-pay (after the committed ones).
      await service.handleBatch(c);
      // 3. the hospitals batch again from its committed offset, with Q's reversal now: Q's
      //    adjustment says nothing is due and the self-pay drops the settlement (after step 2's).
      await service.handleBatch([h[1]!, h[2]!]);
      // Pending now: hospitals h[1] (1), civil affairs (2), hospitals h[2] (3). Published by topic,
      // either topic first, a slot ends with an older record: P's self-pay or Q's adjustment.
      const service2 = await startRules(env, quietLogger);
      try {
        await drained(service2.runtime);
        await expectExactlyOnce(service2.runtime, await referenceFold(service2.runtime, inbound));
        expect(await service2.runtime.redis.hlen(`${service2.runtime.namespace}{p0}:outbox`)).toBe(0);
      } finally {
        await deleteKeys(service2.runtime, service2.runtime.namespace);
        await service2.stop();
      }
    } finally {
      await runtime.close();
    }
  }, 300_000);

  it('ends with the same final records whatever order the facts arrive in (event ids and timestamps aside)', async () => {
    const env = hubEnv(freshPrefix());
    await registerAllSchemas(env);
    await publish(env, agencyRecords(40, 7));
    const runtime = await openRules(env, quietLogger);
    try {
      const inbound = await inboundOf(runtime);
      const seed = Number(process.env.HUB_TEST_SEED ?? 15);
      console.log(`arrival-order test: shuffle seed ${seed} (HUB_TEST_SEED)`);
      const random = new Random('arrival-order', seed);
      const shuffled = [...inbound];
      for (let i = shuffled.length - 1; i > 0; i -= 1) {
        const j = Math.floor(random.next() * (i + 1));
        [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
      }
      const inOrder = await finalRecords(runtime, inbound);
      expect(inOrder.size).toBeGreaterThan(40);
      expect(recordDifferences(await finalRecords(runtime, inbound), inOrder)).toEqual([]);
      expect(recordDifferences(await finalRecords(runtime, [...inbound].reverse()), inOrder)).toEqual([]);
      expect(recordDifferences(await finalRecords(runtime, shuffled), inOrder)).toEqual([]);
    } finally {
      await runtime.close();
    }
  }, 300_000);

  it('refuses to start on lost state; a rebuild publishes what the topics lack and keeps the published event ids', async () => {
    const env = hubEnv(freshPrefix());
    await registerAllSchemas(env);
    const records = agencyRecords(30, 13);
    const runtime = await openRules(env, quietLogger);
    try {
      await publish(env, chunk(records, 0, 3));
      const first = await startRules(env, quietLogger);
      await drained(first.runtime);
      await first.stop();
      // Redis emptied (this hub's keys only): a plain start must not take it for a fresh state.
      expect(await deleteKeys(runtime, runtime.namespace)).toBeGreaterThan(0);
      await expect(startRules(env, quietLogger)).rejects.toMatchObject({ code: 'STATE_LOST', catastrophic: true });
      // Facts the live service never saw: the rebuild derives their outputs, and must publish them.
      await publish(env, chunk(records, 1, 3));
      let report = '';
      const out = new Writable({
        write(text: Buffer, _e, done) {
          report += text.toString();
          done();
        },
      });
      expect(await rebuild(runtime, quietLogger, out)).toBe(0);
      expect(report).toMatch(/[1-9]\d* record\(s\) published now for slots whose rebuilt values differed/);
      expect(report).toContain('the rebuilt state equals what was published');
      await expectExactlyOnce(runtime, await referenceFold(runtime, await inboundOf(runtime)));
      // The state keeps the published record of every slot, so that the next one supersedes a record on the topic.
      const published = await publishedSlots(runtime.kafka, runtime.outputs());
      const kept = await stateEventIds(runtime);
      const mismatched = [...published.latest].filter(([slot, last]) => kept.get(slot) !== last.eventId).map(([slot]) => slot);
      expect(mismatched).toEqual([]);

      const live = await startRules(env, quietLogger);
      try {
        await publish(env, chunk(records, 2, 3));
        await drained(live.runtime);
      } finally {
        await live.stop();
      }
      await expectExactlyOnce(runtime, await referenceFold(runtime, await inboundOf(runtime)));
      const codecs = runtime.outputs();
      const ids = new Set<string>();
      const supersedes: string[] = [];
      for (const message of await runtime.kafka.readAll(codecs.adjustments.topic)) {
        const record = await codecs.adjustments.decode(message.value ?? Buffer.alloc(0));
        ids.add(record.eventId);
        if (record.supersedes !== null) supersedes.push(record.supersedes);
      }
      expect(supersedes.length).toBeGreaterThan(0);
      expect(supersedes.filter((id) => !ids.has(id))).toEqual([]);
    } finally {
      await deleteKeys(runtime, runtime.namespace);
      await runtime.close();
    }
  }, 300_000);

  it.each([['0'], ['2']])(
    'stops when its state is deleted under it (fold workers: %s), instead of folding on from nothing',
    async (workers) => {
      const env = { ...hubEnv(freshPrefix()), HUB_RULES_WORKERS: workers };
      await registerAllSchemas(env);
      const records = agencyRecords(20, 17);
      // startRules folds on its own thread; the worker threads are what `hub rules` runs with HUB_RULES_WORKERS.
      const runtime = await openRules(env, quietLogger);
      const service = await runtime.liveService();
      const consumer = runtime.kafka.createTransactionalConsumer(rulesConsumerOptions(runtime, service, quietLogger));
      try {
        await consumer.start();
        await publish(env, chunk(records, 0, 2));
        await drained(runtime);
        expect(await deleteKeys(runtime, runtime.namespace)).toBeGreaterThan(0);
        await publish(env, chunk(records, 1, 2));
        const stopped = await Promise.race([consumer.crashed, sleep(60_000).then(() => undefined)]);
        expect(stopped).toMatchObject({ code: 'STATE_LOST', catastrophic: true });
        expect(consumer.status()).toMatchObject({ consuming: false });
        // Nothing was derived from the emptied state: no output names a person-year without its history.
        expect(
          await runtime.redis.exists(
            `${runtime.namespace}{p0}:outbox`,
            `${runtime.namespace}{p1}:outbox`,
            `${runtime.namespace}{p2}:outbox`,
          ),
        ).toBe(0);
      } finally {
        await consumer.stop();
        await service.close();
        await deleteKeys(runtime, runtime.namespace);
        await runtime.close();
      }
    },
    300_000,
  );
});

/** `<personKey> <slot>` -> the event id the state keeps as the slot's last published record. */
async function stateEventIds(runtime: RulesRuntime): Promise<Map<string, string>> {
  const ids = new Map<string, string>();
  let cursor = '0';
  do {
    const [next, keys] = await runtime.redis.scan(cursor, 'MATCH', `${runtime.namespace}{p*}:person:*`, 'COUNT', 1000);
    cursor = next;
    const values = keys.length === 0 ? [] : await runtime.redis.mgetBuffer(keys);
    keys.forEach((key, i) => {
      const personKey = key.slice(key.lastIndexOf(':person:') + ':person:'.length);
      for (const [slot, emitted] of decodePerson(values[i] ?? null).emitted)
        if (!slot.startsWith('x:')) ids.set(`${personKey} ${slot}`, emitted.eventId);
    });
  } while (cursor !== '0');
  return ids;
}
