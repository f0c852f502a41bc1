import type { Redis } from 'ioredis';
import type { BenefitAdjustment, SelfPayYearToDate, SubsidyCorrection } from '../../schemas';
import type { HubKafka } from '../kafka';
import type { TopicCodec } from '../registry';
import type { EmittedSlot } from './core/derive';
import {
  adjustmentValues,
  namedValues,
  selfPayValues,
  storedValues,
  subsidyValues,
  type EmittedValues,
  type SlotField,
} from './core/slot-values';
import { decodePerson } from './state-store';

/**
 * The final value of every output slot, `<personKey> <slot>` -> values: from the rules service's
 * state, or from what was published (the last record per slot). A rebuild, a second instance or a
 * crash and restart must all end with the same map.
 */
export type SlotValues = Map<string, string>;

/** A published record's slot and the values a state keeps of it (core/derive.ts), descriptive fields' digest included. */
export function adjustmentSlot(r: BenefitAdjustment): [string, EmittedValues] {
  return [`${r.personKey} a:${r.fixmedinsCode}/${r.setlId}`, adjustmentValues(r)];
}
export function subsidySlot(r: SubsidyCorrection): [string, EmittedValues] {
  return [`${r.personKey} u:${r.contributionRecordId}`, subsidyValues(r)];
}
export function selfPaySlot(r: SelfPayYearToDate): [string, EmittedValues] {
  return [`${r.personKey} y:${r.policyId}`, selfPayValues(r)];
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
        slots.set(`${personKey} ${slot}`, storedValues(emitted.values).join(','));
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
  const read = async <T extends { eventId: string }>(codec: TopicCodec<T>, slotOf: (r: T) => [string, EmittedValues]): Promise<void> => {
    for (const message of await kafka.readAll(codec.topic)) {
      if (message.value === null) continue;
      const record = await codec.decode(message.value);
      records += 1;
      ids.add(record.eventId);
      const [slot, values] = slotOf(record);
      slots.set(slot, storedValues(values).join(','));
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
  const field = slot.slice(slot.indexOf(' ') + 1) as SlotField;
  const values = namedValues(field, value === '' ? [] : value.split(',').map(Number));
  if (values.kind === 'adjustment')
    return values.dueCriticalIllnessFen === values.settledCriticalIllnessFen && values.dueAssistanceFen === values.settledAssistanceFen;
  if (values.kind === 'subsidy') return values.entitledSubsidyFen === values.receivedSubsidyFen;
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
