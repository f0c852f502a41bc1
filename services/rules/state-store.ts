import type { Redis } from 'ioredis';
import type { OutboundBatch, OutboundRecord } from '../kafka';
import { HubError } from '../platform/errors';
import { decodePerson, type PersonState } from './person-value';

export { decodePerson, encodePerson, type PersonState } from './person-value';

/**
 * The rules service's state in Redis. Keys carry the input partition number as a hash tag, so a
 * batch's writes touch one slot and commit in one MULTI, on a single node or a Redis Cluster.
 *
 * Every key starts with a namespace, `hub:rules:<topic prefix>`, so hubs sharing a Redis stay apart.
 *
 *   hub:rules:{p<n>}:person:<personKey>  STRING  the person as one Avro value (person-value.ts): the facts,
 *                                                and the values last published per output slot
 *   hub:rules:{p<n>}:applied             HASH    <topic>          -> last input offset folded into the state
 *   hub:rules:{p<n>}:outbox              HASH    <topic>@<offset> -> the encoded outputs of input up to that offset
 *                                                                    (encodeOutbox), kept until Kafka commits the offset
 *   hub:rules:layout                     STRING  the layout's version (stateLayout)
 *
 * A person is one value so that a batch loads its people with one MGET and writes them with one
 * MSET: a command per person (HGETALL, HSET) cost the service and Redis more than the folding did.
 *
 * Redis is a cache of what Kafka holds: `hub rules --rebuild` drops it and folds the topics again.
 */

/**
 * The version of the key layout above. A service finding state of another layout (or state without
 * a version: the hash-per-person layout before it) refuses to start and asks for a rebuild, rather
 * than read what it does not understand as "no facts yet".
 */
export const stateLayout = '3'; // 3: settlements keep their 病种编码 (diseaseCode)

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

const layoutKey = (namespace: string): string => `${namespace}:layout`;

/**
 * Checks that the state under `namespace` is of this layout, and marks an empty state as such.
 * Throws STATE_LAYOUT_CHANGED when it is not: only `hub rules --rebuild` can carry it over.
 */
export async function checkStateLayout(redis: Redis, namespace: string, partitions: number): Promise<void> {
  const found = await redis.get(layoutKey(namespace));
  if (found === stateLayout) return;
  // One EXISTS per key: the partitions' keys lie in different slots of a Redis Cluster.
  const pipeline = redis.pipeline();
  for (let n = 0; n < partitions; n += 1) pipeline.exists(partitionKeys(namespace, n).applied);
  const replies = (await pipeline.exec()) ?? [];
  const anyState = replies.some(([error, count]) => { if (error !== null) throw error; return count !== 0; });
  if (found === null && !anyState) {
    await markStateLayout(redis, namespace);
    return;
  }
  throw new HubError(
    'STATE_LAYOUT_CHANGED',
    `the rules state under ${namespace} is of layout ${found ?? '1'}, this version keeps layout ${stateLayout}: stop every 'hub rules' instance and run 'hub rules --rebuild'`,
    { catastrophic: true },
  );
}

/** Marks the state under `namespace` as of this layout (a rebuild, after dropping it). */
export async function markStateLayout(redis: Redis, namespace: string): Promise<void> {
  await redis.set(layoutKey(namespace), stateLayout);
}

/** The people of one partition, in the order asked, with one MGET. */
export async function loadPersons(redis: Redis, keys: PartitionKeys, personKeys: readonly string[]): Promise<PersonState[]> {
  if (personKeys.length === 0) return [];
  const values = await redis.mgetBuffer(personKeys.map((personKey) => keys.person(personKey)));
  return values.map(decodePerson);
}

/**
 * One outbox entry: the encoded records of a batch, by topic, in one buffer. Per topic:
 * u16 name length, name (UTF-8), u32 record count; per record: u16 key length, key, u32 value length, value.
 * The records are kept as they will be produced (the rules service sets no headers), so publishing
 * them again encodes nothing.
 */
export function encodeOutbox(batches: readonly OutboundBatch[]): Buffer {
  const parts: Buffer[] = [];
  for (const batch of batches) {
    const name = Buffer.from(batch.topic, 'utf8');
    const head = Buffer.allocUnsafe(6 + name.length);
    head.writeUInt16BE(name.length, 0);
    name.copy(head, 2);
    head.writeUInt32BE(batch.records.length, 2 + name.length);
    parts.push(head);
    for (const record of batch.records) {
      const key = Buffer.from(record.key, 'utf8');
      const prefix = Buffer.allocUnsafe(6 + key.length);
      prefix.writeUInt16BE(key.length, 0);
      key.copy(prefix, 2);
      prefix.writeUInt32BE(record.value.length, 2 + key.length);
      parts.push(prefix, record.value);
    }
  }
  return Buffer.concat(parts);
}

export function decodeOutbox(entry: Buffer): OutboundBatch[] {
  const batches: OutboundBatch[] = [];
  let at = 0;
  const take = (length: number): Buffer => {
    if (at + length > entry.length) throw new Error(`outbox entry truncated at byte ${at} of ${entry.length}`);
    const part = entry.subarray(at, at + length);
    at += length;
    return part;
  };
  while (at < entry.length) {
    const topic = take(take(2).readUInt16BE(0)).toString('utf8');
    const count = take(4).readUInt32BE(0);
    const records: { key: string; value: Buffer }[] = [];
    for (let i = 0; i < count; i += 1) {
      const key = take(take(2).readUInt16BE(0)).toString('utf8');
      records.push({ key, value: take(take(4).readUInt32BE(0)) });
    }
    batches.push({ topic, records });
  }
  return batches;
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
export async function outboxOutputs(redis: Redis, keys: PartitionKeys, entries: readonly OutboxField[]): Promise<OutboundBatch[]> {
  if (entries.length === 0) return [];
  const values = await redis.hmgetBuffer(keys.outbox, ...entries.map((e) => e.field));
  return joinByTopic(values.flatMap((value) => (value === null ? [] : decodeOutbox(value))));
}

/** Batches of the same topic joined into one, in order: one produce entry per topic. */
export function joinByTopic(batches: readonly OutboundBatch[]): OutboundBatch[] {
  const byTopic = new Map<string, OutboundRecord[]>();
  for (const batch of batches) {
    const records = byTopic.get(batch.topic);
    if (records === undefined) byTopic.set(batch.topic, [...batch.records]);
    else records.push(...batch.records);
  }
  return [...byTopic].map(([topic, records]) => ({ topic, records }));
}

export interface StateWrite {
  readonly keys: PartitionKeys;
  readonly topic: string;
  readonly lastOffset: bigint;
  /** The changed people, encoded (encodePerson). */
  readonly persons: ReadonlyMap<string, Buffer>;
  /** Encoded outputs to keep until their offset is committed; undefined in a rebuild, which publishes nothing. */
  readonly outputs?: readonly OutboundBatch[];
  /** Outbox fields whose offsets Kafka has committed, deleted in the same MULTI. */
  readonly drop?: readonly string[];
}

/**
 * Writes changed facts, published slots, the outbox entry and the applied offset in one MULTI,
 * guarded by WATCH on the applied offsets: returns false when another writer moved them first.
 */
export async function commitState(redis: Redis, write: StateWrite, watched: boolean): Promise<boolean> {
  const multi = redis.multi();
  if (write.persons.size > 0) {
    const pairs: (string | Buffer)[] = [];
    for (const [personKey, value] of write.persons) pairs.push(write.keys.person(personKey), value);
    multi.mset(pairs);
  }
  if (write.outputs !== undefined && write.outputs.length > 0) {
    multi.hset(write.keys.outbox, `${write.topic}@${write.lastOffset}`, encodeOutbox(write.outputs));
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
