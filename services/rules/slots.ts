import type { Redis } from 'ioredis';
import type { BenefitAdjustment, SelfPayYearToDate, SubsidyCorrection } from '../../schemas';
import type { HubKafka } from '../kafka';
import type { TopicCodec } from '../registry';
import { adjustmentValues, selfPayValues, subsidyValues, type EmittedSlot } from './derive';
import { decodePerson } from './state-store';

/**
 * The final value of every output slot, `<personKey> <slot>` -> values: from the rules service's
 * state, or from what was published (the last record per slot). A rebuild, a second instance or a
 * crash and restart must all end with the same map.
 */
export type SlotValues = Map<string, string>;

/** A published record's slot and the values a state keeps of it (derive.ts), descriptive fields' digest included. */
export function adjustmentSlot(r: BenefitAdjustment): [string, number[]] {
  return [
    `${r.personKey} a:${r.fixmedinsCode}/${r.setlId}`,
    adjustmentValues(
      r.dueCriticalIllnessFen,
      r.dueAssistanceFen,
      r.settledCriticalIllnessFen,
      r.settledAssistanceFen,
      r.categoryApplied,
      r.reason,
    ),
  ];
}
export function subsidySlot(r: SubsidyCorrection): [string, number[]] {
  return [`${r.personKey} u:${r.contributionRecordId}`, subsidyValues(r.entitledSubsidyFen, r.receivedSubsidyFen, r.category)];
}
export function selfPaySlot(r: SelfPayYearToDate): [string, number[]] {
  return [
    `${r.personKey} y:${r.policyId}`,
    selfPayValues(
      [r.medfeeFen, r.basicFen, r.criticalIllnessFen, r.assistanceFen, r.selfPayTotalFen, r.selfPayInScopeFen],
      r.settlementCount,
      r.lastSettledAt,
      r.categories,
    ),
  ];
}

/** The slots as the state holds them. */
export async function stateSlots(redis: Redis, namespace: string): Promise<SlotValues> {
  const slots: SlotValues = new Map();
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${namespace}{p*}:person:*`, 'COUNT', 1000);
    cursor = next;
    const pipeline = redis.pipeline();
    for (const key of keys) pipeline.getBuffer(key);
    const replies = (await pipeline.exec()) ?? [];
    keys.forEach((key, i) => {
      const personKey = key.slice(key.lastIndexOf(':person:') + ':person:'.length);
      const [error, value] = replies[i] ?? [null, null];
      if (error !== null) throw error;
      for (const [slot, emitted] of decodePerson(value as Buffer | null).emitted)
        slots.set(`${personKey} ${slot}`, emitted.values.join(','));
    });
  } while (cursor !== '0');
  return slots;
}

/**
 * The slots as published: the last record of each slot on the output topics, as values and, in
 * `latest`, as the event id and values a person's state keeps of a published slot.
 */
export async function publishedSlots(
  kafka: HubKafka,
  outputs: {
    adjustments: TopicCodec<BenefitAdjustment>;
    subsidies: TopicCodec<SubsidyCorrection>;
    selfPay: TopicCodec<SelfPayYearToDate>;
  },
): Promise<{ slots: SlotValues; records: number; distinctIds: number; latest: Map<string, EmittedSlot> }> {
  const slots: SlotValues = new Map();
  const latest = new Map<string, EmittedSlot>();
  const ids = new Set<string>();
  let records = 0;
  const read = async <T extends { eventId: string }>(codec: TopicCodec<T>, slotOf: (r: T) => [string, number[]]): Promise<void> => {
    for (const message of await kafka.readAll(codec.topic)) {
      if (message.value === null) continue;
      const record = await codec.decode(message.value);
      records += 1;
      ids.add(record.eventId);
      const [slot, values] = slotOf(record);
      slots.set(slot, values.join(','));
      latest.set(slot, { eventId: record.eventId, values });
    }
  };
  await read(outputs.adjustments, adjustmentSlot);
  await read(outputs.subsidies, subsidySlot);
  await read(outputs.selfPay, selfPaySlot);
  return { slots, records, distinctIds: ids.size, latest };
}

/**
 * Whether a slot says "nothing to correct": an adjustment whose due equals what was settled, or a
 * subsidy correction whose entitlement equals what was received. Such a slot means the same as a
 * slot never published, which is what another arrival order may leave.
 */
function settles(slot: string, value: string): boolean {
  const kind = slot.slice(slot.indexOf(' ') + 1, slot.indexOf(' ') + 2);
  const v = value.split(',').map(Number);
  if (kind === 'a') return v[0] === v[2] && v[1] === v[3];
  if (kind === 'u') return v[0] === v[1];
  return false;
}

/**
 * The slots that still call for something: settled-correctly ones are left out, and so are reported
 * problems, which go to the dead-letter topic rather than to an output topic.
 */
export function effectiveSlots(slots: SlotValues): SlotValues {
  return new Map([...slots].filter(([slot, value]) => !slot.includes(' x:') && !settles(slot, value)));
}

/** Slots whose effective values differ between two maps (missing on one side counts). */
export function slotDifferences(all: SlotValues, other: SlotValues): string[] {
  const a = effectiveSlots(all);
  const b = effectiveSlots(other);
  const differences: string[] = [];
  for (const [slot, value] of a) if (b.get(slot) !== value) differences.push(`${slot}: ${value} vs ${b.get(slot) ?? 'missing'}`);
  for (const [slot, value] of b) if (!a.has(slot)) differences.push(`${slot}: missing vs ${value}`);
  return differences.sort();
}
