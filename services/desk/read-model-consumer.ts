import { createHash } from 'node:crypto';
import { topics, topicSpec } from '../../schemas';
import type { HubConsumer, HubKafka, InboundRecord } from '../kafka';
import { HubError, type Logger } from '../platform';
import { createTopicCodec, type RegistryClient } from '../registry';
import { inTransaction, type DeskClient, type DeskPool } from './db';
import { applyRecord, deskTopicIds, touchedWarnings, type DeskRecord, type DeskTopicId } from './projection';

/**
 * Keeps the read model current from the topics, exactly once in effect: a batch's rows and the
 * partition's next offset are written in one PostgreSQL transaction, and records below the stored
 * offset are skipped. Kafka's committed offsets only save re-reading; PostgreSQL is the authority.
 */
export interface ReadModelConsumer {
  readonly groupId: string;
  readonly topicNames: readonly string[];
  start(): Promise<void>;
  stop(): Promise<void>;
  /** True when every partition's stored next offset has reached the topic's end offset. */
  caughtUp(): Promise<boolean>;
}

export interface ReadModelDeps {
  readonly kafka: HubKafka;
  readonly registry: RegistryClient;
  readonly pool: DeskPool;
  readonly topicPrefix: string;
  readonly logger: Logger;
  readonly onApplied?: (topic: string, count: number) => void;
  /** A record skipped because it could not be decoded (counted in the desk's metrics). */
  readonly onUndecodable?: (topic: string) => void;
}

/** The consumer group: named after the read model's identity, so a new database reads from the beginning. */
export async function readModelGroupId(pool: DeskPool, topicPrefix: string): Promise<string> {
  const { rows } = await pool.query<{ value: string }>(`select value from desk_meta where key = 'read_model_id'`);
  const id = rows[0]?.value;
  if (id === undefined) throw new HubError('PROCESSING_FAILED', 'the desk database has no read_model_id; were the migrations applied?');
  return `${topicPrefix}hub-desk-${id}`;
}

/**
 * Takes a transaction-scoped advisory lock per warning the batch touches, in one global order (the
 * numeric order of the keys), so two batches never wait on each other in a cycle. Without it a
 * warning applied while its receipt's transaction was still open summarised deliveries from a
 * snapshot without that receipt, and the summary depended on timing (the replay test caught it).
 */
async function lockWarnings(client: DeskClient, warningIds: Iterable<string>): Promise<void> {
  const keys = [...new Set([...warningIds].map((id) => createHash('sha256').update(id).digest().readBigInt64BE(0)))].sort((a, b) =>
    a < b ? -1 : a > b ? 1 : 0,
  );
  for (const key of keys) await client.query('select pg_advisory_xact_lock($1::bigint)', [key.toString()]);
}

export async function createReadModelConsumer(deps: ReadModelDeps): Promise<ReadModelConsumer> {
  const { kafka, pool, logger } = deps;
  const names = new Map<string, DeskTopicId>(deskTopicIds.map((id) => [`${deps.topicPrefix}${topics[id].name}`, id]));
  const codecs = new Map(
    deskTopicIds.map((id) => {
      const name = `${deps.topicPrefix}${topics[id].name}`;
      return [name, createTopicCodec(deps.registry, id, name)] as const;
    }),
  );
  const groupId = await readModelGroupId(pool, deps.topicPrefix);
  // The warnings topics may not exist before the warnings service first runs: create them empty.
  await kafka.ensureTopics(deskTopicIds.map((id) => topicSpec(id, deps.topicPrefix)));

  const decode = async (record: InboundRecord): Promise<DeskRecord | undefined> => {
    const topic = names.get(record.topic);
    const codec = codecs.get(record.topic);
    if (topic === undefined || codec === undefined || record.value === null) return undefined;
    try {
      // The codec's union of record types narrows by topic id, which TypeScript cannot follow through the map.
      return { topic, record: await codec.decode(record.value) } as DeskRecord;
    } catch (error) {
      // One bad record must not stop the read model: it is skipped, its offset committed with the
      // batch, and named by position only (its payload may hold personal data) for someone to look at.
      logger.error(
        {
          topic: record.topic,
          partition: record.partition,
          offset: record.offset,
          reason: error instanceof Error ? error.message : String(error),
        },
        'desk read model skipped a record it cannot decode',
      );
      deps.onUndecodable?.(record.topic);
      return undefined;
    }
  };

  const handleBatch = async (records: readonly InboundRecord[]): Promise<void> => {
    const first = records[0];
    if (first === undefined) return;
    const decoded: { offset: bigint; item: DeskRecord | undefined }[] = [];
    for (const record of records) decoded.push({ offset: BigInt(record.offset), item: await decode(record) });
    const applied = await inTransaction(pool, async (client) => {
      await lockWarnings(
        client,
        decoded.flatMap(({ item }) => (item === undefined ? [] : touchedWarnings(item))),
      );
      const stored = await client.query<{ next_offset: string }>(
        'select next_offset from consumer_offsets where topic = $1 and partition = $2 for update',
        [first.topic, first.partition],
      );
      const next = BigInt(stored.rows[0]?.next_offset ?? '0');
      let count = 0;
      let last = next - 1n;
      for (const { offset, item } of decoded) {
        if (offset < next) continue;
        if (item !== undefined) {
          await applyRecord(client, item);
          count += 1;
        }
        last = offset;
      }
      if (last >= next) {
        await client.query(
          `insert into consumer_offsets (topic, partition, next_offset) values ($1, $2, $3)
           on conflict (topic, partition) do update set next_offset = excluded.next_offset`,
          [first.topic, first.partition, (last + 1n).toString()],
        );
      }
      return count;
    });
    if (applied > 0) deps.onApplied?.(first.topic, applied);
  };

  let consumer: HubConsumer | undefined;
  return {
    groupId,
    topicNames: [...names.keys()],
    async start() {
      consumer = kafka.createConsumer({
        groupId,
        topics: [...names.keys()],
        fromBeginning: true,
        handleBatch,
        partitionsConsumedConcurrently: 2,
      });
      await consumer.start();
      logger.info({ group: groupId }, 'desk read model consuming');
    },
    async stop() {
      await consumer?.stop();
    },
    async caughtUp() {
      const stored = await pool.query<{ topic: string; partition: number; next_offset: string }>(
        'select topic, partition, next_offset from consumer_offsets',
      );
      const at = new Map(stored.rows.map((r) => [`${r.topic}/${r.partition}`, BigInt(r.next_offset)]));
      for (const name of names.keys()) {
        for (const [partition, end] of await kafka.endOffsets(name)) {
          if (BigInt(end) > (at.get(`${name}/${partition}`) ?? 0n)) return false;
        }
      }
      return true;
    },
  };
}
