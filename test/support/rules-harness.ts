import { randomUUID } from 'node:crypto';
import { expect } from 'vitest';
import { civilAffairs, hospitals, tax } from '../../connectors';
import { openIntake, type IntakeItem, type IntakeRuntime } from '../../connectors/intake';
import type { InboundRecord } from '../../services/kafka';
import { createLogger, effectiveEnvironment } from '../../services/platform';
import { publishedSlots, slotDifferences, stateSlots, type RulesRuntime, type SlotValues } from '../../services/rules';

/**
 * What the rules service's crash and takeover tests share: the environment of a fresh hub, the
 * real connectors to send records through, waiting for the group to drain, a clean reference fold,
 * and the checks every run ends with (no event id twice, final values as the reference, state as
 * the topics).
 */
export const quietLogger = createLogger({ level: 'silent', role: 'test' });
export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export function hubEnv(prefix: string, partitions = 3): Record<string, string | undefined> {
  return { ...effectiveEnvironment(), HUB_TOPIC_PREFIX: prefix, HUB_TOPIC_PARTITIONS: String(partitions), HUB_KAFKA_SESSION_TIMEOUT_MS: '6000', HUB_LOG_LEVEL: 'warn' };
}

export const freshPrefix = (): string => `it-rules-${randomUUID().slice(0, 8)}.`;

export interface AgencyItems { civilAffairs?: IntakeItem[]; hospitals?: IntakeItem[]; tax?: IntakeItem[] }

/** Sends records through the real connectors (validation, pseudonymisation, Kafka). */
export async function publish(env: Record<string, string | undefined>, records: AgencyItems): Promise<void> {
  const pairs = [[civilAffairs, records.civilAffairs], [hospitals, records.hospitals], [tax, records.tax]] as const;
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

export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 90_000): Promise<T> {
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
  await waitFor('the rules group to catch up', async () => {
    const lags = await runtime.kafka.consumerLag(runtime.groupId, runtime.inboundTopics).catch(() => []);
    // A partition that never had a record has nothing to commit; every other one must be committed to its end.
    return lags.length > 0 && lags.every((l) => l.lag === 0 && (l.committed !== '-1' || l.end === '0')) ? true : undefined;
  }, timeoutMs);
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
  const service = runtime.service('live', namespace);
  const offsets = new Map<string, bigint>();
  for (const record of order) {
    const at = `${record.topic}/${record.partition}`;
    const offset = (offsets.get(at) ?? -1n) + 1n;
    offsets.set(at, offset);
    await service.handleBatch([{ ...record, offset: offset.toString() }]);
  }
  const slots = await stateSlots(runtime.redis, namespace);
  await deleteKeys(runtime, namespace);
  return slots;
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
