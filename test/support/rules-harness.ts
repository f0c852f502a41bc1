import { randomUUID } from 'node:crypto';
import { expect } from 'vitest';
import { civilAffairs, hospitals, tax } from '../../connectors';
import { type IntakeItem, type IntakeRuntime } from '../../connectors/intake';
import { openIntake } from '../../connectors/intake/runtime';
import type { InboundRecord, OutboundBatch } from '../../services/kafka';
import { effectiveEnvironment } from '../../services/platform';
import { createLogger } from '../../services/platform/runtime';
import { publishedSlots, slotDifferences, stateSlots, type SlotValues } from '../../services/rules';
import { type RulesRuntime } from '../../services/rules/runtime';
import { adjustmentSlot, selfPaySlot, subsidySlot } from '../../services/rules/slots';
import { dropOutbox, partitionKeys } from '../../services/rules/state-store';

/**
 * What the rules service's crash and takeover tests share: the environment of a fresh hub, the
 * real connectors to send records through, waiting for the group to drain, a clean reference fold,
 * and the checks every run ends with (no event id twice, final values as the reference, state as
 * the topics).
 */
export const quietLogger = createLogger({ level: 'silent', role: 'test' });
export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export function hubEnv(prefix: string, partitions = 3): Record<string, string | undefined> {
  return {
    ...effectiveEnvironment(),
    HUB_TOPIC_PREFIX: prefix,
    HUB_TOPIC_PARTITIONS: String(partitions),
    HUB_KAFKA_SESSION_TIMEOUT_MS: '6000',
    HUB_LOG_LEVEL: 'warn',
  };
}

export const freshPrefix = (): string => `it-rules-${randomUUID().slice(0, 8)}.`;

export interface AgencyItems {
  civilAffairs?: IntakeItem[];
  hospitals?: IntakeItem[];
  tax?: IntakeItem[];
}

/** Sends records through the real connectors (validation, pseudonymisation, Kafka). */
export async function publish(env: Record<string, string | undefined>, records: AgencyItems): Promise<void> {
  const pairs = [
    [civilAffairs, records.civilAffairs],
    [hospitals, records.hospitals],
    [tax, records.tax],
  ] as const;
  for (const [agency, items] of pairs) {
    if (items === undefined || items.length === 0) continue;
    const runtime: IntakeRuntime = await openIntake(agency, env, quietLogger);
    try {
      const outcomes = await runtime.intake.ingest(items, 'test');
      expect(outcomes.filter((o) => o.status === 'rejected')).toEqual([]);
    } finally {
      await runtime.close();
    }
  }
}

export async function waitFor<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 90_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(250);
  }
}

/** Waits until the rules group has consumed every inbound record. */
export async function drained(runtime: RulesRuntime, timeoutMs = 180_000): Promise<void> {
  await waitFor(
    'the rules group to catch up',
    async () => {
      const lags = await runtime.kafka.consumerLag(runtime.groupId, runtime.inboundTopics).catch(() => []);
      // A partition that never had a record has nothing to commit; every other one must be committed to its end.
      return lags.length > 0 && lags.every((l) => l.lag === 0 && (l.committed !== '-1' || l.end === '0')) ? true : undefined;
    },
    timeoutMs,
  );
}

/** Every inbound record of a runtime's topics, as they lie on Kafka. */
export async function inboundOf(runtime: RulesRuntime): Promise<InboundRecord[]> {
  return (await Promise.all(runtime.inboundTopics.map((t) => runtime.kafka.readAll(t)))).flat();
}

/**
 * The reference: records folded one per batch, in the order given, through a fresh state namespace
 * (nothing published, no crash), and the final slots it holds. Its keys are deleted afterwards.
 */
export async function referenceFold(runtime: RulesRuntime, order: readonly InboundRecord[]): Promise<SlotValues> {
  const namespace = `hub:rules:test-${randomUUID().slice(0, 8)}`;
  await foldEach(runtime, namespace, order, () => undefined);
  const slots = await stateSlots(runtime.redis, namespace);
  await deleteKeys(runtime, namespace);
  return slots;
}

/** Folds records one per batch through a namespace, as if each batch's transaction committed. */
async function foldEach(
  runtime: RulesRuntime,
  namespace: string,
  order: readonly InboundRecord[],
  published: (outputs: readonly OutboundBatch[]) => void | Promise<void>,
): Promise<void> {
  const service = runtime.service('live', namespace);
  const offsets = new Map<string, bigint>();
  for (const record of order) {
    const at = `${record.topic}/${record.partition}`;
    const offset = (offsets.get(at) ?? -1n) + 1n;
    offsets.set(at, offset);
    const batch = await service.handleBatch([{ ...record, offset: offset.toString() }]);
    await published(batch.outputs);
    await dropOutbox(runtime.redis, partitionKeys(namespace, record.partition), batch.published);
  }
}

/**
 * The last record of every output slot when records are folded one per batch in the order given,
 * without the fields that name records or moments (event ids, causes, supersedes, timestamps);
 * slots whose last record corrects nothing are left out.
 */
export async function finalRecords(runtime: RulesRuntime, order: readonly InboundRecord[]): Promise<Map<string, string>> {
  const namespace = `hub:rules:test-${randomUUID().slice(0, 8)}`;
  const codecs = runtime.outputs();
  const last = new Map<string, string>();
  const keep = (slot: string, record: object): void => {
    const {
      eventId: _e,
      occurredAt: _o,
      recordedAt: _r,
      causedBy: _c,
      supersedes: _s,
      contributionEventId: _ce,
      ...rest
    } = record as Record<string, unknown>;
    // A last record saying nothing is to be corrected means what no record means (a reversal that
    // came before its settlement leaves none): as effectiveSlots in slots.ts.
    if (rest.kind === 'SETTLED_CORRECTLY' || rest.kind === 'CORRECT') last.delete(slot);
    else last.set(slot, JSON.stringify(rest));
  };
  await foldEach(runtime, namespace, order, async (outputs) => {
    for (const output of outputs) {
      for (const { value } of output.records) {
        if (output.topic === codecs.adjustments.topic) {
          const r = await codecs.adjustments.decode(value);
          keep(adjustmentSlot(r)[0], r);
        } else if (output.topic === codecs.subsidies.topic) {
          const r = await codecs.subsidies.decode(value);
          keep(subsidySlot(r)[0], r);
        } else if (output.topic === codecs.selfPay.topic) {
          const r = await codecs.selfPay.decode(value);
          keep(selfPaySlot(r)[0], r);
        }
      }
    }
  });
  await deleteKeys(runtime, namespace);
  return last;
}

/** Slots whose final records differ between two runs (missing on one side counts). */
export function recordDifferences(a: ReadonlyMap<string, string>, b: ReadonlyMap<string, string>): string[] {
  const differences: string[] = [];
  for (const [slot, record] of a) if (b.get(slot) !== record) differences.push(`${slot}: ${record} vs ${b.get(slot) ?? 'missing'}`);
  for (const [slot, record] of b) if (!a.has(slot)) differences.push(`${slot}: missing vs ${record}`);
  return differences.sort();
}

/** Deletes the keys under a namespace, and only those (SCAN by its prefix). */
export async function deleteKeys(runtime: RulesRuntime, namespace: string): Promise<number> {
  let cursor = '0';
  let deleted = 0;
  do {
    const [next, keys] = await runtime.redis.scan(cursor, 'MATCH', `${namespace}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) deleted += await runtime.redis.unlink(...keys);
  } while (cursor !== '0');
  return deleted;
}

/**
 * The checks a run ends with: no event id published twice, the last record of every slot equal to
 * the reference, and the state in Redis equal to the topics.
 */
export async function expectExactlyOnce(runtime: RulesRuntime, reference: SlotValues): Promise<void> {
  const published = await publishedSlots(runtime.kafka, runtime.outputs());
  expect(published.records, 'records published').toBeGreaterThan(0);
  expect(published.distinctIds, 'distinct event ids among the records published').toBe(published.records);
  expect(slotDifferences(published.slots, reference), 'published vs reference').toEqual([]);
  expect(slotDifferences(await stateSlots(runtime.redis, runtime.namespace), published.slots), 'state vs published').toEqual([]);
}
