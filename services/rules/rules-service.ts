import { inboundTopicIds, type InboundTopicId, type TopicRecords } from '../../schemas';
import type { InboundRecord, OutboundBatch } from '../kafka';
import { HubError } from '../platform';
import type { HubMetrics, Logger } from '../platform';
import type { TopicCodec } from '../registry';
import { foldPerson, groupBatch, watchScores, type BatchItem, type DecodedFact, type FoldOutput, type PolicyResolver } from './core';
import { encodePerson } from './person-value';
import type { PartitionState, StateStore } from './state';
import { joinByTopic, outboxField, type OutboxField } from './state-store';

export type { InboundTopicId };
export type OutputTopicId = 'benefitAdjustments' | 'subsidyCorrections' | 'selfPay' | 'deadLetters';

export interface RulesDependencies {
  /** The state, per input partition number (redisStateStore in the service). */
  readonly state: StateStore;
  readonly policies: PolicyResolver;
  /** Full topic name (prefix included) of each topic the service reads or writes. */
  readonly topicNames: Readonly<Record<InboundTopicId | OutputTopicId, string>>;
  readonly decoders: { readonly [K in InboundTopicId]: Pick<TopicCodec<TopicRecords[K]>, 'decode'> };
  readonly encoders: { readonly [K in OutputTopicId]: Pick<TopicCodec<TopicRecords[K]>, 'encode'> };
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

/** People loaded and derived at a time within a batch (see fold). */
const personsPerSlice = 1_000;

export function createRulesService(deps: RulesDependencies): RulesService {
  const now = deps.now ?? Date.now;
  const mode = deps.mode ?? 'live';
  const topicIdByName = new Map<string, InboundTopicId>(inboundTopicIds.map((id) => [deps.topicNames[id], id]));

  const encodeOne = (output: FoldOutput): Promise<Buffer> => {
    switch (output.topic) {
      case 'deadLetters':
        return deps.encoders.deadLetters.encode(output.record);
      case 'benefitAdjustments':
        return deps.encoders.benefitAdjustments.encode(output.record);
      case 'subsidyCorrections':
        return deps.encoders.subsidyCorrections.encode(output.record);
      case 'selfPay':
        return deps.encoders.selfPay.encode(output.record);
    }
  };

  const encode = async (outputs: readonly FoldOutput[]): Promise<OutboundBatch[]> => {
    const byTopic = new Map<OutputTopicId, { key: string; value: Buffer }[]>();
    for (const output of outputs) {
      const value = await encodeOne(output);
      const key = output.topic === 'deadLetters' ? (output.record.sourceRecordId ?? output.record.origin) : output.record.personKey;
      const list = byTopic.get(output.topic);
      if (list === undefined) byTopic.set(output.topic, [{ key, value }]);
      else list.push({ key, value });
    }
    return [...byTopic.entries()].map(([topic, records]) => ({ topic: deps.topicNames[topic], records }));
  };

  /** The batch's records decoded; one that cannot be becomes a dead letter in the fold. */
  const decode = async (topic: string, records: readonly InboundRecord[]): Promise<BatchItem[]> => {
    const topicId = topicIdByName.get(topic);
    const items: BatchItem[] = [];
    for (const record of records) {
      if (topicId === undefined || record.value === null) {
        items.push({ inbound: record, failure: `no value, or not an inbound topic (${topic})` });
        continue;
      }
      try {
        items.push({ inbound: record, fact: { topic: topicId, record: await deps.decoders[topicId].decode(record.value) } as DecodedFact });
      } catch (error) {
        items.push({ inbound: record, failure: error instanceof Error ? error.message : String(error) });
      }
    }
    return items;
  };

  const fold = async (state: PartitionState, topic: string, records: readonly InboundRecord[]) => {
    const at = now();
    const grouped = groupBatch(await decode(topic, records), at);
    const outputs: FoldOutput[] = [...grouped.letters];
    // A batch's people are loaded, folded and derived a slice at a time: what is kept across
    // slices is only the changed people, encoded, so a batch's memory does not grow with its
    // people's histories.
    const persons = new Map<string, Buffer>();
    const watch = new Map<string, Map<string, number>>();
    const problems = new Map<string, number>();
    const everyone = [...grouped.people.keys()];
    for (let from = 0; from < everyone.length; from += personsPerSlice) {
      const slice = everyone.slice(from, from + personsPerSlice);
      const states = await state.loadPersons(slice);
      slice.forEach((personKey, i) => {
        const current = states[i];
        if (current === undefined) return;
        const folded = foldPerson(personKey, current, grouped.people.get(personKey) ?? [], { policies: deps.policies, now: at });
        outputs.push(...folded.outputs);
        for (const problem of folded.reported) {
          deps.logger.debug({ personKey, policyId: problem.policyId, code: problem.code }, problem.message);
          problems.set(problem.code, (problems.get(problem.code) ?? 0) + 1);
        }
        if (folded.state === undefined) return;
        persons.set(personKey, encodePerson(folded.state));
        watch.set(personKey, watchScores(folded.state.facts.values(), deps.policies));
      });
    }
    // One line per batch, not one per person: each person-year is in the dead letters with its reason.
    if (problems.size > 0) {
      deps.logger.warn(
        { topic, problems: Object.fromEntries(problems) },
        'person-years the hub cannot compute were sent to the dead letters',
      );
    }
    return { outputs, persons, watch };
  };

  /**
   * This topic's entries below the batch's first offset were committed with their offsets: the
   * consumer reads on from a committed offset. Any other entry, of any topic of this partition
   * number, is pending unless Kafka committed its offset: after a failed transaction, a crash or a
   * takeover, or when a transaction committed without its answer arriving. Every pending entry is
   * published before anything more of this number: a later entry of another topic may have
   * superseded its records, and must come after them.
   */
  const sortOutbox = async (outbox: readonly OutboxField[], topic: string, partition: number, start: bigint) => {
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
    return { done, pending, committed };
  };

  return {
    async handleBatch(records) {
      const first = records[0];
      const last = records[records.length - 1];
      if (first === undefined || last === undefined) return nothing;
      const { topic, partition } = first;
      const start = BigInt(first.offset);
      const end = BigInt(last.offset);
      const state = deps.state.partition(partition);
      for (let attempt = 1; ; attempt += 1) {
        const { applied, seq, outbox } = await state.begin(topic);
        const { done, pending, committed } = await sortOutbox(outbox, topic, partition, start);
        const replayed = mode === 'live' ? await state.outboxOutputs(pending) : [];
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
            await state.release();
            throw new HubError(
              'STATE_LOST',
              `partition ${partition} of ${topic}: the state has folded up to offset ${applied}, Kafka committed ${committedAt}: ` +
                "the state was lost under the running service. Stop every 'hub rules' instance and run 'hub rules --rebuild'",
              { catastrophic: true },
            );
          }
        }
        const fresh = records.filter((r) => BigInt(r.offset) > applied);
        if (fresh.length === 0) {
          await state.release();
          await state.dropOutbox(done);
          return answer(replayed);
        }
        const folded = await fold(state, topic, fresh);
        // Encoded before the commit: the outbox keeps the records as they will be produced.
        const outputs = mode === 'live' ? await encode(folded.outputs) : undefined;
        const write = {
          topic,
          lastOffset: end,
          seq: seq + 1,
          persons: folded.persons,
          watch: folded.watch,
          drop: done,
          ...(outputs === undefined ? {} : { outputs }),
        };
        if (await state.commit(write)) {
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
