import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import {
  inboundTopicIds,
  type CivilAffairsStatusChange,
  type DeadLetter,
  type HospitalSettlement,
  type InboundTopicId,
  type RuralRevitalizationStatusChange,
  type TaxContribution,
  type TopicRecords,
} from '../../schemas';
// From its own file, not '../kafka': the fold workers run this module and need no kafkajs.
import { deadLetterId } from '../kafka';
import type { InboundRecord, OutboundBatch } from '../kafka';
import { HubError } from '../platform';
import type { HubMetrics, Logger } from '../platform';
import type { TopicCodec } from '../registry';
import { derivePerson, type Cause, type PolicyResolver, type RulesOutput } from './derive';
import { problemValues, type SlotField } from './slot-values';
import {
  contributionFact,
  settlementFact,
  statusFact,
  supersedes,
  type FactField,
  type StoredContribution,
  type StoredFact,
} from './person-facts';
import {
  beginBatch,
  commitState,
  encodePerson,
  joinByTopic,
  loadPersons,
  outboxField,
  outboxOutputs,
  partitionKeys,
  type OutboxField,
  type PartitionKeys,
} from './state-store';

export type { InboundTopicId };
export type OutputTopicId = 'benefitAdjustments' | 'subsidyCorrections' | 'selfPay' | 'deadLetters';

export interface RulesDependencies {
  readonly redis: Redis;
  /**
   * The connection for one input partition's state. Batches of different partitions may run at
   * once, and WATCH belongs to a connection: each partition needs its own. Default: `redis`.
   */
  readonly redisFor?: (partition: number) => Redis;
  /** Key namespace of this hub's state (stateNamespace(topicPrefix)). */
  readonly namespace: string;
  readonly policies: PolicyResolver;
  /** Full topic name (prefix included) of each topic the service reads or writes. */
  readonly topicNames: Readonly<Record<InboundTopicId | OutputTopicId, string>>;
  readonly decoders: { readonly [K in InboundTopicId]: TopicCodec<TopicRecords[K]> };
  readonly encoders: { readonly [K in OutputTopicId]: TopicCodec<TopicRecords[K]> };
  readonly logger: Logger;
  readonly metrics?: HubMetrics;
  readonly now?: () => number;
  /** A rebuild folds facts and records what it would publish, but publishes nothing. */
  readonly mode?: 'live' | 'rebuild';
  /** The group's committed offset of a partition, asked only when a batch comes again after a failure. */
  readonly committedOffset?: (topic: string, partition: number) => Promise<bigint>;
}

/** What a batch publishes, and what must be committed with it. */
export interface RulesBatch {
  /** The outputs to publish with the batch's offsets: pending outbox entries first, in the order derived. */
  readonly outputs: readonly OutboundBatch[];
  /** Offsets (next to read) of the partition number's topics whose pending entries are published here. */
  readonly offsets: readonly { readonly topic: string; readonly offset: string }[];
  /** Outbox fields published by this batch: drop them once its transaction has committed (dropOutbox). */
  readonly published: readonly string[];
}

export interface RulesService {
  /** Folds one partition's batch into the state and returns what to publish with its offsets. */
  handleBatch(records: readonly InboundRecord[]): Promise<RulesBatch>;
}

const nothing: RulesBatch = { outputs: [], offsets: [], published: [] };

type Decoded =
  | { topic: 'civilAffairsStatus'; record: CivilAffairsStatusChange }
  | { topic: 'ruralRevitalizationStatus'; record: RuralRevitalizationStatusChange }
  | { topic: 'hospitalSettlements'; record: HospitalSettlement }
  | { topic: 'taxContributions'; record: TaxContribution };

function toFact(decoded: Decoded): [FactField, StoredFact, string] {
  switch (decoded.topic) {
    case 'civilAffairsStatus':
    case 'ruralRevitalizationStatus': {
      const agency = decoded.topic === 'civilAffairsStatus' ? 'civil-affairs' : 'rural-revitalization';
      const r = decoded.record;
      const [field, fact] = statusFact(agency, r);
      const span = `${r.validFrom}–${r.validTo ?? 'open'}`;
      if (fact.kind === 'withdrawal')
        return [field, fact, `record ${r.sourceRecordId} of ${agency} withdrawn: version ${r.sourceVersion} names another person`];
      return [
        field,
        fact,
        `${r.category} ${r.action === 'CERTIFY' ? 'certified' : r.action === 'REVOKE' ? 'revoked' : 'risk eliminated'} ${span} by ${agency}`,
      ];
    }
    case 'hospitalSettlements': {
      const [field, fact] = settlementFact(decoded.record);
      return [field, fact, fact.reversesKey === null ? `settlement ${fact.key} of ${fact.settledAt}` : `reversal of ${fact.reversesKey}`];
    }
    case 'taxContributions': {
      const [field, fact] = contributionFact(decoded.record);
      if (fact.kind === 'withdrawal')
        return [
          field,
          fact,
          `contribution record ${decoded.record.sourceRecordId} withdrawn: version ${decoded.record.sourceVersion} names another person`,
        ];
      return [field, fact, `contribution record ${fact.key} for ${fact.insuranceYear}`];
    }
  }
}

/** An output of a batch before it is encoded. */
type PublishedOutput = RulesOutput | { readonly topic: 'deadLetters'; readonly record: DeadLetter };

/** People loaded and derived at a time within a batch (see fold). */
const personsPerSlice = 1_000;

export function createRulesService(deps: RulesDependencies): RulesService {
  const now = deps.now ?? Date.now;
  const mode = deps.mode ?? 'live';
  const topicIdByName = new Map<string, InboundTopicId>(inboundTopicIds.map((id) => [deps.topicNames[id], id]));

  const encode = async (outputs: readonly PublishedOutput[]): Promise<OutboundBatch[]> => {
    const byTopic = new Map<OutputTopicId, { key: string; value: Buffer }[]>();
    for (const output of outputs) {
      let value: Buffer;
      let key: string;
      if (output.topic === 'deadLetters') {
        value = await deps.encoders.deadLetters.encode(output.record);
        key = output.record.sourceRecordId ?? output.record.origin;
      } else {
        value =
          output.topic === 'benefitAdjustments'
            ? await deps.encoders.benefitAdjustments.encode(output.record)
            : output.topic === 'subsidyCorrections'
              ? await deps.encoders.subsidyCorrections.encode(output.record)
              : await deps.encoders.selfPay.encode(output.record);
        key = output.record.personKey;
      }
      const list = byTopic.get(output.topic);
      if (list === undefined) byTopic.set(output.topic, [{ key, value }]);
      else list.push({ key, value });
    }
    return [...byTopic.entries()].map(([topic, records]) => ({ topic: deps.topicNames[topic], records }));
  };

  const deadLetter = (
    origin: string,
    fields: { code: string; message: string; record?: InboundRecord; personKey?: string; fact?: { eventId: string; field: string } },
  ): PublishedOutput => {
    // A fact left out of a person's year is named by its event id (its record is on its topic).
    const raw =
      fields.record?.value ??
      Buffer.from(
        JSON.stringify(
          fields.fact === undefined ? { personKey: fields.personKey } : { personKey: fields.personKey, eventId: fields.fact.eventId },
        ),
        'utf8',
      );
    const input = {
      origin,
      errorCode: fields.code,
      errorMessage: fields.message,
      rawFormat: 'avro' as const,
      raw,
      ...(fields.record === undefined
        ? { fingerprint: `${fields.personKey ?? ''}\u0000${fields.message}` }
        : {
            sourceTopic: fields.record.topic,
            sourcePartition: fields.record.partition,
            sourceOffset: fields.record.offset,
          }),
    };
    const at = now();
    return {
      topic: 'deadLetters',
      record: {
        eventId: deadLetterId(input),
        source: 'hub:rules',
        occurredAt: fields.record?.timestamp ?? at,
        recordedAt: at,
        origin,
        sourceTopic: fields.record?.topic ?? null,
        sourcePartition: fields.record?.partition ?? null,
        sourceOffset: fields.record?.offset ?? null,
        sourceRecordId: fields.personKey ?? null,
        errorCode: fields.code,
        errorMessage: fields.message,
        field: fields.fact?.field ?? null,
        rawFormat: fields.record === undefined ? 'json' : 'avro',
        raw,
      },
    };
  };

  const fold = async (redis: Redis, keys: PartitionKeys, topic: string, records: readonly InboundRecord[]) => {
    const outputs: PublishedOutput[] = [];
    // Each person's facts of the batch, in offset order, people in order of first appearance.
    const byPerson = new Map<string, (Decoded & { inbound: InboundRecord })[]>();
    const topicId = topicIdByName.get(topic);
    for (const record of records) {
      if (topicId === undefined || record.value === null) {
        outputs.push(deadLetter('rules', { code: 'DESERIALIZE_FAILED', message: `no value, or not an inbound topic (${topic})`, record }));
        continue;
      }
      let value: Decoded;
      try {
        value = { topic: topicId, record: await deps.decoders[topicId].decode(record.value) } as Decoded;
      } catch (error) {
        outputs.push(
          deadLetter('rules', { code: 'DESERIALIZE_FAILED', message: error instanceof Error ? error.message : String(error), record }),
        );
        continue;
      }
      const entry = { ...value, inbound: record };
      const list = byPerson.get(value.record.personKey);
      if (list === undefined) byPerson.set(value.record.personKey, [entry]);
      else list.push(entry);
    }
    // A batch's people are loaded, folded and derived a slice at a time: what is kept across
    // slices is only the changed people, encoded, so a batch's memory does not grow with its
    // people's histories.
    const persons = new Map<string, Buffer>();
    const problems = new Map<string, number>();
    const at = now();
    const everyone = [...byPerson.keys()];
    for (let from = 0; from < everyone.length; from += personsPerSlice) {
      const slice = everyone.slice(from, from + personsPerSlice);
      const states = await loadPersons(redis, keys, slice);
      slice.forEach((personKey, i) => {
        const state = states[i];
        if (state === undefined) return;
        const causes: Cause[] = [];
        const withdrawn: StoredContribution[] = [];
        for (const value of byPerson.get(personKey) ?? []) {
          const [field, fact, description] = toFact(value);
          const current = state.facts.get(field);
          if (!supersedes(fact, current)) {
            // A settlement id is one record: another record under it (a reversal and a settlement
            // sharing a setl_id) would vanish unseen. A resend of the same record is no news.
            if (fact.kind === 'settlement' && current !== undefined && current.eventId !== fact.eventId) {
              outputs.push(
                deadLetter('rules', {
                  code: 'INPUT_INVALID',
                  message: `${fact.key} is already the ${current.kind === 'settlement' && current.reversesKey !== null ? 'reversal' : 'settlement'} folded for this person; this other record under the same setl_id is left out`,
                  record: value.inbound,
                }),
              );
            }
            continue;
          }
          if (fact.kind === 'withdrawal' && current?.kind === 'contribution') withdrawn.push(current);
          state.facts.set(field, fact);
          causes.push({ eventId: value.record.eventId, occurredAt: value.record.occurredAt, description });
        }
        if (causes.length === 0) return;
        const derivation = derivePerson({
          personKey,
          facts: [...state.facts.values()],
          emitted: state.emitted,
          causes,
          policies: deps.policies,
          now: at,
          withdrawn,
        });
        outputs.push(...derivation.outputs);
        // A person-year the hub cannot compute is reported once, not again at each new fact about it.
        // A fact left out is reported once whatever the words (they may name another fact that changes).
        for (const problem of derivation.problems) {
          const identity =
            problem.fact === undefined
              ? `${problem.policyId}\u0000${problem.code}\u0000${problem.message}`
              : `fact\u0000${problem.code}\u0000${problem.fact.eventId}`;
          const slot: SlotField = `x:${createHash('sha256').update(identity).digest('hex').slice(0, 24)}`;
          if (derivation.emitted.has(slot)) continue;
          deps.logger.debug({ personKey, policyId: problem.policyId, code: problem.code }, problem.message);
          problems.set(problem.code, (problems.get(problem.code) ?? 0) + 1);
          const letter = deadLetter('rules', {
            code: problem.code,
            message: problem.message,
            personKey,
            ...(problem.fact === undefined ? {} : { fact: problem.fact }),
          });
          outputs.push(letter);
          derivation.emitted.set(slot, { eventId: letter.record.eventId, values: problemValues });
        }
        persons.set(personKey, encodePerson({ facts: state.facts, emitted: derivation.emitted }));
      });
    }
    // One line per batch, not one per person: each person-year is in the dead letters with its reason.
    if (problems.size > 0) {
      deps.logger.warn(
        { topic, problems: Object.fromEntries(problems) },
        'person-years the hub cannot compute were sent to the dead letters',
      );
    }
    return { outputs, persons };
  };

  return {
    async handleBatch(records) {
      const first = records[0];
      const last = records[records.length - 1];
      if (first === undefined || last === undefined) return nothing;
      const { topic, partition } = first;
      const start = BigInt(first.offset);
      const end = BigInt(last.offset);
      const keys = partitionKeys(deps.namespace, partition);
      const redis = deps.redisFor?.(partition) ?? deps.redis;
      for (let attempt = 1; ; attempt += 1) {
        const { applied, seq, outbox } = await beginBatch(redis, keys, topic);
        // This topic's entries below the batch's first offset were committed with their offsets:
        // the consumer reads on from a committed offset. Any other entry, of any topic of this
        // partition number, is pending unless Kafka committed its offset: after a failed
        // transaction, a crash or a takeover, or when a transaction committed without its answer
        // arriving. Every pending entry is published before anything more of this number: a later
        // entry of another topic may have superseded its records, and must come after them.
        const done: string[] = [];
        const pending: OutboxField[] = [];
        const committed = new Map<string, bigint>();
        for (const entry of outbox) {
          if (entry.topic === topic && entry.offset < start) {
            done.push(entry.field);
            continue;
          }
          let at = committed.get(entry.topic);
          if (at === undefined && deps.committedOffset !== undefined) {
            at = await deps.committedOffset(entry.topic, partition);
            committed.set(entry.topic, at);
          }
          if (at !== undefined && entry.offset < at) done.push(entry.field);
          else pending.push(entry);
        }
        const replayed = mode === 'live' ? await outboxOutputs(redis, keys, pending) : [];
        // Publishing an entry commits its topic's input up to it, in the same transaction.
        const offsets = new Map<string, bigint>();
        for (const entry of pending) if (entry.offset + 1n > (offsets.get(entry.topic) ?? -1n)) offsets.set(entry.topic, entry.offset + 1n);
        const published = pending.map((e) => e.field);
        const answer = (outputs: readonly OutboundBatch[], alsoPublished: readonly string[] = []): RulesBatch =>
          mode === 'live'
            ? {
                outputs,
                offsets: [...offsets].map(([t, o]) => ({ topic: t, offset: o.toString() })),
                published: [...published, ...alsoPublished],
              }
            : nothing;
        // The consumer reads on from the committed offset, so the state has folded up to the batch's
        // first offset at least, unless it was lost under the running service (Redis emptied, keys
        // deleted). Asked only then: a topic's first batch may start past offset 0 (retention).
        if (applied < start - 1n && mode === 'live' && deps.committedOffset !== undefined) {
          const committedAt = committed.get(topic) ?? (await deps.committedOffset(topic, partition));
          if (applied < committedAt - 1n) {
            await redis.unwatch();
            throw new HubError(
              'STATE_LOST',
              `partition ${partition} of ${topic}: the state has folded up to offset ${applied}, Kafka committed ${committedAt}: the state was lost under the running service. Stop every 'hub rules' instance and run 'hub rules --rebuild'`,
              { catastrophic: true },
            );
          }
        }
        const fresh = records.filter((r) => BigInt(r.offset) > applied);
        if (fresh.length === 0) {
          await redis.unwatch();
          if (done.length > 0) await redis.hdel(keys.outbox, ...done);
          return answer(replayed);
        }
        const folded = await fold(redis, keys, topic, fresh);
        // Encoded before the commit: the outbox keeps the records as they will be produced.
        const outputs = mode === 'live' ? await encode(folded.outputs) : undefined;
        const write = {
          keys,
          topic,
          lastOffset: end,
          seq: seq + 1,
          persons: folded.persons,
          drop: done,
          ...(outputs === undefined ? {} : { outputs }),
        };
        if (await commitState(redis, write, true)) {
          deps.metrics?.records.inc({ topic, outcome: 'ok' }, fresh.length);
          if (outputs === undefined) return nothing;
          const entry = outputs.length > 0 ? [outboxField(write.seq, topic, end)] : [];
          // Almost always nothing is replayed; the outputs are already one entry per topic.
          return answer(replayed.length === 0 ? outputs : joinByTopic([...replayed, ...outputs]), entry);
        }
        if (attempt >= 5)
          throw new HubError(
            'STATE_CONTENDED',
            `partition ${partition}: state kept changing under this batch (another instance owns it?)`,
            { detail: { partition, topic } },
          );
        deps.logger.warn({ partition, topic, attempt }, 'state changed while folding; folding the batch again');
      }
    },
  };
}
