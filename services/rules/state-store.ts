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

/** An outbox entry's field, without its outputs: reading those is only needed to publish them again. */
export interface OutboxField {
  readonly field: string;
  readonly offset: bigint;
}

/**
 * Starts a batch in one round trip: WATCHes the applied offsets (so the commit fails if another
 * writer moves them), reads this topic's applied offset and the names of its outbox entries. The
 * entries' outputs are not read: almost always they were committed with their offsets and are only
 * dropped, and parsing them on every batch is work that grows with the batch size for nothing.
 */
export async function beginBatch(redis: Redis, keys: PartitionKeys, topic: string): Promise<{ applied: bigint; outbox: OutboxField[] }> {
  const replies = (await redis.pipeline().watch(keys.applied).hget(keys.applied, topic).hkeys(keys.outbox).exec()) ?? [];
  for (const [error] of replies) if (error !== null) throw error;
  const applied = replies[1]?.[1];
  const fields = (replies[2]?.[1] ?? []) as string[];
  const outbox: OutboxField[] = [];
  for (const field of fields) {
    const at = field.lastIndexOf('@');
    if (field.slice(0, at) === topic) outbox.push({ field, offset: BigInt(field.slice(at + 1)) });
  }
  outbox.sort((a, b) => (a.offset < b.offset ? -1 : a.offset > b.offset ? 1 : 0));
  return { applied: typeof applied === 'string' ? BigInt(applied) : -1n, outbox };
}

/** The outputs kept under some outbox entries, in the entries' order. */
export async function outboxOutputs(redis: Redis, keys: PartitionKeys, entries: readonly OutboxField[]): Promise<PublishedOutput[]> {
  if (entries.length === 0) return [];
  const values = await redis.hmget(keys.outbox, ...entries.map((e) => e.field));
  return values.flatMap((value) => (value === null ? [] : JSON.parse(value) as PublishedOutput[]));
}

export interface StateWrite {
  readonly keys: PartitionKeys;
  readonly topic: string;
  readonly lastOffset: bigint;
  readonly persons: ReadonlyMap<string, { facts: ReadonlyMap<FactField, StoredFact>; emitted: ReadonlyMap<SlotField, EmittedSlot> }>;
  /** Outputs to keep until their offset is committed; undefined in a rebuild, which publishes nothing. */
  readonly outputs?: readonly PublishedOutput[];
  /** Outbox fields whose offsets Kafka has committed, deleted in the same MULTI. */
  readonly drop?: readonly string[];
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
  if (write.drop !== undefined && write.drop.length > 0) multi.hdel(write.keys.outbox, ...write.drop);
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
