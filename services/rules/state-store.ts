import type { Redis } from 'ioredis';
import type { OutboundBatch, OutboundRecord } from '../kafka';
import { HubError } from '../platform';
import { decodePerson, type PersonState } from './person-value';
import type { PartitionWrite, StateStore } from './state';

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
 *                                                #seq             -> the sequence number of the last outbox entry
 *   hub:rules:{p<n>}:outbox              HASH    <seq>|<topic>@<offset> -> the encoded outputs of input of <topic> up
 *                                                                    to <offset> (encodeOutbox), kept until Kafka commits it
 *   hub:rules:{p<n>}:watch:<policyId>    ZSET    <personKey> -> the first day (20220630) from which a warning run of the
 *                                                policy could warn the person, +inf if none yet (core/warning-watch.ts)
 *   hub:rules:layout                     STRING  the layout's version (stateLayout)
 *
 * One outbox per partition number, whatever the inbound topic: a person's state is shared by the
 * four topics of a number, so an entry of one topic may be superseded by a later entry of another.
 * Entries are published in the order they were derived (their sequence number), all of them,
 * before anything more of that number is folded.
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
// 3: one outbox per partition number with sequence numbers; settlements keep their 病种编码 (diseaseCode).
// 4: the warning watch of each policy, beside the people.
export const stateLayout = '4';

/** The field of the applied hash holding the last outbox sequence number (no topic name starts with '#'). */
export const sequenceField = '#seq';

/** The key namespace of a hub whose topics carry `topicPrefix`. */
export const stateNamespace = (topicPrefix: string): string => `hub:rules:${topicPrefix}`;

/** Keys of one input partition's state. */
export interface PartitionKeys {
  person(personKey: string): string;
  /** The warning watch of one policy (core/warning-watch.ts). */
  watch(policyId: string): string;
  readonly applied: string;
  readonly outbox: string;
}

export function partitionKeys(namespace: string, partition: number): PartitionKeys {
  const tag = `${namespace}{p${partition}}`;
  return {
    person: (personKey) => `${tag}:person:${personKey}`,
    watch: (policyId) => `${tag}:watch:${policyId}`,
    applied: `${tag}:applied`,
    outbox: `${tag}:outbox`,
  };
}

/** Where the state's layout version (stateLayout) is kept. */
export const layoutKey = (namespace: string): string => `${namespace}:layout`;

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
  const anyState = replies.some(([error, count]) => {
    if (error !== null) throw error;
    return count !== 0;
  });
  if (found === null && !anyState) {
    await markStateLayout(redis, namespace);
    return;
  }
  throw new HubError(
    'STATE_LAYOUT_CHANGED',
    `the rules state under ${namespace} is of layout ${found ?? '1'}, this version keeps layout ${stateLayout}: ` +
      "stop every 'hub rules' instance and run 'hub rules --rebuild'",
    { catastrophic: true },
  );
}

/** A partition's inbound topic whose state is behind what Kafka committed. */
export interface StateBehind {
  readonly topic: string;
  readonly partition: number;
  /** The last offset folded into the state (-1: none). */
  readonly applied: bigint;
  /** The group's committed offset (the next to read). */
  readonly committed: bigint;
}

/**
 * The partitions whose state is behind the group's committed offsets. Kafka commits a batch's
 * offsets only after its state is in Redis, so state behind them was lost (Redis emptied, a key
 * deleted, an older copy restored): folding on from the committed offsets would derive from facts
 * missing their history, and publish wrong records as if right (a self-pay of 1 settlement for a
 * person with 12), while state that is ahead is only pending work.
 */
export async function stateBehind(
  redis: Redis,
  namespace: string,
  committed: readonly { topic: string; partition: number; committed: bigint }[],
): Promise<StateBehind[]> {
  const partitions = [...new Set(committed.map((c) => c.partition))];
  const pipeline = redis.pipeline();
  for (const n of partitions) pipeline.hgetall(partitionKeys(namespace, n).applied);
  const replies = (await pipeline.exec()) ?? [];
  const applied = new Map<number, Record<string, string>>();
  partitions.forEach((n, i) => {
    const [error, value] = replies[i] ?? [null, {}];
    if (error !== null) throw error;
    applied.set(n, value as Record<string, string>);
  });
  const behind: StateBehind[] = [];
  for (const c of committed) {
    if (c.committed <= 0n) continue;
    const folded = applied.get(c.partition)?.[c.topic];
    const at = folded === undefined ? -1n : BigInt(folded);
    if (at < c.committed - 1n) behind.push({ topic: c.topic, partition: c.partition, applied: at, committed: c.committed });
  }
  return behind;
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
    if (at + length > entry.length) throw new HubError('PROCESSING_FAILED', `outbox entry truncated at byte ${at} of ${entry.length}`);
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
  /** The order the entries were derived in, across the partition number's topics. */
  readonly seq: number;
  readonly topic: string;
  /** The last input offset of `topic` whose outputs the entry holds. */
  readonly offset: bigint;
}

/** The field of an outbox entry. */
export const outboxField = (seq: number, topic: string, offset: bigint): string => `${seq}|${topic}@${offset}`;

export function parseOutboxField(field: string): OutboxField {
  const bar = field.indexOf('|');
  const at = field.lastIndexOf('@');
  if (bar < 0 || at < bar)
    throw new HubError('STATE_LAYOUT_CHANGED', `outbox entry '${field}' is not of layout ${stateLayout}: run 'hub rules --rebuild'`, {
      catastrophic: true,
    });
  return { field, seq: Number(field.slice(0, bar)), topic: field.slice(bar + 1, at), offset: BigInt(field.slice(at + 1)) };
}

/**
 * Starts a batch in one round trip: WATCHes the applied offsets (so the commit fails if another
 * writer moves them), reads this topic's applied offset, the outbox sequence and the names of the
 * partition number's outbox entries, of every topic, in the order they were derived. The entries'
 * outputs are not read: almost always there are none, or they were committed and are only dropped.
 */
export async function beginBatch(
  redis: Redis,
  keys: PartitionKeys,
  topic: string,
): Promise<{ applied: bigint; seq: number; outbox: OutboxField[] }> {
  const replies = (await redis.pipeline().watch(keys.applied).hmget(keys.applied, topic, sequenceField).hkeys(keys.outbox).exec()) ?? [];
  for (const [error] of replies) if (error !== null) throw error;
  const [applied, seq] = (replies[1]?.[1] ?? []) as (string | null)[];
  const outbox = ((replies[2]?.[1] ?? []) as string[]).map(parseOutboxField).sort((a, b) => a.seq - b.seq);
  return { applied: typeof applied === 'string' ? BigInt(applied) : -1n, seq: typeof seq === 'string' ? Number(seq) : 0, outbox };
}

/** Deletes outbox entries whose outputs Kafka has committed (after the transaction that published them). */
export async function dropOutbox(redis: Redis, keys: PartitionKeys, fields: readonly string[]): Promise<void> {
  if (fields.length > 0) await redis.hdel(keys.outbox, ...fields);
}

/**
 * Moves a topic's applied offset forward over transaction markers, never back. The intake writes
 * in transactions, so a batch's commit moves the group past the markers after its records; the
 * state keeps the same position, or it would look behind the group's offsets (STATE_LOST) when
 * only markers lie between them. Markers hold no facts: nothing is folded.
 */
const keepThroughScript = `local at = redis.call('HGET', KEYS[1], ARGV[1])
if at == false or tonumber(at) < tonumber(ARGV[2]) then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end
return 1`;
export async function keepThrough(redis: Redis, keys: PartitionKeys, topic: string, offset: bigint): Promise<void> {
  if (offset >= 0n) await redis.eval(keepThroughScript, 1, keys.applied, topic, offset.toString());
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

/** A partition's write (PartitionWrite) with its keys. */
export interface StateWrite extends PartitionWrite {
  readonly keys: PartitionKeys;
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
  if (write.watch !== undefined && write.watch.size > 0) {
    const byPolicy = new Map<string, (number | string)[]>();
    for (const [personKey, scores] of write.watch)
      for (const [policyId, score] of scores) {
        const members = byPolicy.get(policyId) ?? [];
        members.push(score, personKey);
        byPolicy.set(policyId, members);
      }
    for (const [policyId, members] of byPolicy) multi.zadd(write.keys.watch(policyId), ...members);
  }
  if (write.outputs !== undefined && write.outputs.length > 0) {
    multi.hset(write.keys.outbox, outboxField(write.seq, write.topic, write.lastOffset), encodeOutbox(write.outputs));
    multi.hset(write.keys.applied, sequenceField, String(write.seq));
  }
  if (write.drop !== undefined && write.drop.length > 0) multi.hdel(write.keys.outbox, ...write.drop);
  multi.hset(write.keys.applied, write.topic, write.lastOffset.toString());
  const result = await multi.exec();
  if (result === null) {
    if (!watched) throw new HubError('PROCESSING_FAILED', 'Redis transaction aborted without a WATCH');
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

/**
 * The state store over Redis. `redisFor` gives the connection of one input partition: batches of
 * different partitions may run at once, and WATCH belongs to a connection. Default: `redis`.
 */
export function redisStateStore(options: {
  readonly redis: Redis;
  readonly redisFor?: (partition: number) => Redis;
  readonly namespace: string;
}): StateStore {
  return {
    partition(partition) {
      const redis = options.redisFor?.(partition) ?? options.redis;
      const keys = partitionKeys(options.namespace, partition);
      return {
        begin: (topic) => beginBatch(redis, keys, topic),
        release: async () => {
          await redis.unwatch();
        },
        outboxOutputs: (entries) => outboxOutputs(redis, keys, entries),
        loadPersons: (personKeys) => loadPersons(redis, keys, personKeys),
        commit: (write) => commitState(redis, { ...write, keys }, true),
        dropOutbox: (fields) => dropOutbox(redis, keys, fields),
        keepThrough: (topic, offset) => keepThrough(redis, keys, topic, offset),
      };
    },
  };
}
