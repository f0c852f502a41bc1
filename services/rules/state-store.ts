import type { Redis } from 'ioredis';
import type { EmittedSlot, RulesOutput, SlotField } from './derive';
import type { FactField, StoredFact } from './person-facts';

/**
 * The rules service's state in Redis. Keys carry the input partition number as a hash tag, so a
 * batch's writes touch one slot and commit in one MULTI, on a single node or a Redis Cluster.
 *
 * Every key starts with a namespace, `hub:rules:<topic prefix>`, so hubs sharing a Redis stay apart.
 *
 *   hub:rules:{p<n>}:person:<personKey>  HASH  f:<fact field>  -> stored fact (JSON)
 *                                              e:<slot field>  -> last published values of an output slot (JSON)
 *   hub:rules:{p<n>}:applied             HASH  <topic>         -> last input offset folded into the state
 *   hub:rules:{p<n>}:outbox              HASH  <topic>@<offset> -> outputs computed for input up to that offset,
 *                                                                  kept until the offset is committed in Kafka
 *
 * Redis is a cache of what Kafka holds: `hub rules --rebuild` drops it and folds the topics again.
 */
export interface PersonState {
  readonly facts: Map<FactField, StoredFact>;
  readonly emitted: Map<SlotField, EmittedSlot>;
}

export interface OutboxEntry {
  readonly topic: string;
  readonly offset: bigint;
  readonly outputs: readonly PublishedOutput[];
}

/** An output as kept in the outbox: its topic id and record; dead letters carry their raw bytes as base64. */
export type PublishedOutput = RulesOutput | { readonly topic: 'deadLetters'; readonly record: Record<string, unknown> };

/** The key namespace of a hub whose topics carry `topicPrefix`. */
export const stateNamespace = (topicPrefix: string): string => `hub:rules:${topicPrefix}`;

/** Keys of one input partition's state. */
export interface PartitionKeys {
  person(personKey: string): string;
  readonly applied: string;
  readonly outbox: string;
}

export function partitionKeys(namespace: string, partition: number): PartitionKeys {
  const tag = `${namespace}{p${partition}}`;
  return { person: (personKey) => `${tag}:person:${personKey}`, applied: `${tag}:applied`, outbox: `${tag}:outbox` };
}

export async function loadPersons(redis: Redis, keys: PartitionKeys, personKeys: readonly string[]): Promise<Map<string, PersonState>> {
  const pipeline = redis.pipeline();
  for (const personKey of personKeys) pipeline.hgetall(keys.person(personKey));
  const replies = (await pipeline.exec()) ?? [];
  const states = new Map<string, PersonState>();
  personKeys.forEach((personKey, i) => {
    const [error, hash] = replies[i] ?? [null, {}];
    if (error !== null) throw error;
    const facts = new Map<FactField, StoredFact>();
    const emitted = new Map<SlotField, EmittedSlot>();
    for (const [field, value] of Object.entries((hash ?? {}) as Record<string, string>)) {
      if (field.startsWith('f:')) facts.set(field.slice(2) as FactField, JSON.parse(value) as StoredFact);
      else if (field.startsWith('e:')) emitted.set(field.slice(2) as SlotField, JSON.parse(value) as EmittedSlot);
    }
    states.set(personKey, { facts, emitted });
  });
  return states;
}

export async function appliedOffset(redis: Redis, keys: PartitionKeys, topic: string): Promise<bigint> {
  const value = await redis.hget(keys.applied, topic);
  return value === null ? -1n : BigInt(value);
}

export async function outboxEntries(redis: Redis, keys: PartitionKeys, topic: string): Promise<OutboxEntry[]> {
  const all = await redis.hgetall(keys.outbox);
  return Object.entries(all)
    .map(([field, value]) => {
      const at = field.lastIndexOf('@');
      return { topic: field.slice(0, at), offset: BigInt(field.slice(at + 1)), outputs: JSON.parse(value) as PublishedOutput[] };
    })
    .filter((entry) => entry.topic === topic)
    .sort((a, b) => (a.offset < b.offset ? -1 : a.offset > b.offset ? 1 : 0));
}

export async function dropOutboxEntries(redis: Redis, keys: PartitionKeys, entries: readonly OutboxEntry[]): Promise<void> {
  if (entries.length === 0) return;
  await redis.hdel(keys.outbox, ...entries.map((e) => `${e.topic}@${e.offset}`));
}

export interface StateWrite {
  readonly keys: PartitionKeys;
  readonly topic: string;
  readonly lastOffset: bigint;
  readonly persons: ReadonlyMap<string, { facts: ReadonlyMap<FactField, StoredFact>; emitted: ReadonlyMap<SlotField, EmittedSlot> }>;
  /** Outputs to keep until their offset is committed; undefined in a rebuild, which publishes nothing. */
  readonly outputs?: readonly PublishedOutput[];
}

/**
 * Writes changed facts, published slots, the outbox entry and the applied offset in one MULTI,
 * guarded by WATCH on the applied offsets: returns false when another writer moved them first.
 */
export async function commitState(redis: Redis, write: StateWrite, watched: boolean): Promise<boolean> {
  const multi = redis.multi();
  for (const [personKey, state] of write.persons) {
    const fields: string[] = [];
    for (const [field, fact] of state.facts) fields.push(`f:${field}`, JSON.stringify(fact));
    for (const [slot, value] of state.emitted) fields.push(`e:${slot}`, JSON.stringify(value));
    if (fields.length > 0) multi.hset(write.keys.person(personKey), ...fields);
  }
  if (write.outputs !== undefined && write.outputs.length > 0) {
    multi.hset(write.keys.outbox, `${write.topic}@${write.lastOffset}`, JSON.stringify(write.outputs));
  }
  multi.hset(write.keys.applied, write.topic, write.lastOffset.toString());
  const result = await multi.exec();
  if (result === null) {
    if (!watched) throw new Error('Redis transaction aborted without a WATCH');
    return false;
  }
  for (const [error] of result) if (error !== null) throw error;
  return true;
}

/** Deletes all of the rules service's state (a rebuild starts from nothing). Returns keys deleted. */
export async function dropAllState(redis: Redis, namespace: string): Promise<number> {
  let cursor = '0';
  let deleted = 0;
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${namespace}{p*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) deleted += await redis.unlink(...keys);
  } while (cursor !== '0');
  return deleted;
}
