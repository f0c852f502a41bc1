import type { Redis } from 'ioredis';
import { derivePerson, type EmittedSlot, type PolicyResolver, type RulesOutput, type SlotField } from './core/derive';
import { decodePerson, encodePerson } from './state-store';

/**
 * The last step of a rebuild: makes the rebuilt state and the output topics agree. A rebuild folds
 * every fact again and derives each slot's values, but what it derived was never published: the
 * state must hold, per slot, what the topics hold (the published event id, so that the next record
 * of a slot supersedes one that is on the topic), and the slots whose derived values differ from
 * the topics (or were never published) must be published now.
 *
 * Each person's published slots replace the ones the fold recorded (reported problems, which go to
 * the dead letters, are kept); the person is derived again against them, which yields exactly the
 * records of the slots that differ, superseding the published ones; the person is written back.
 */
export async function reconcileWithPublished(options: {
  readonly redis: Redis;
  readonly namespace: string;
  readonly policies: PolicyResolver;
  /** `<personKey> <slot>` -> the last published record's id and values (publishedSlots().latest). */
  readonly published: ReadonlyMap<string, EmittedSlot>;
  readonly now: number;
}): Promise<{ outputs: RulesOutput[]; persons: number }> {
  const { redis, namespace, policies, now } = options;
  const byPerson = new Map<string, [SlotField, EmittedSlot][]>();
  for (const [key, slot] of options.published) {
    const at = key.indexOf(' ');
    const personKey = key.slice(0, at);
    const list = byPerson.get(personKey);
    const entry: [SlotField, EmittedSlot] = [key.slice(at + 1) as SlotField, slot];
    if (list === undefined) byPerson.set(personKey, [entry]);
    else list.push(entry);
  }
  const outputs: RulesOutput[] = [];
  const seen = new Set<string>();
  let persons = 0;
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${namespace}{p*}:person:*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length === 0) continue;
    const values = await redis.mgetBuffer(keys);
    const writes = redis.pipeline();
    keys.forEach((key, i) => {
      const personKey = key.slice(key.lastIndexOf(':person:') + ':person:'.length);
      const state = decodePerson(values[i] ?? null);
      const emitted = new Map<SlotField, EmittedSlot>([...state.emitted].filter(([slot]) => slot.startsWith('x:')));
      for (const [slot, published] of byPerson.get(personKey) ?? []) emitted.set(slot, published);
      const derivation = derivePerson({ personKey, facts: [...state.facts.values()], emitted, causes: [], policies, now });
      // SCAN may return a key twice: its records, derived twice alike, go out once.
      for (const output of derivation.outputs)
        if (!seen.has(output.record.eventId)) {
          seen.add(output.record.eventId);
          outputs.push(output);
        }
      writes.set(key, encodePerson({ facts: state.facts, emitted: derivation.emitted }));
      persons += 1;
    });
    for (const [error] of (await writes.exec()) ?? []) if (error !== null) throw error;
  } while (cursor !== '0');
  return { outputs, persons };
}
