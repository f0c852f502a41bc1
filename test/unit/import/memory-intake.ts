import { randomBytes } from 'node:crypto';
import type { TopicRecords } from '../../../schemas';
import {
  createIntake,
  type AgencyDefinition,
  type InboundTopicId,
  type Intake,
  type IntakeItem,
  type SeenFacts,
} from '../../../connectors/intake';
import type { DeadLetterInput } from '../../../services/kafka';
import { memoryDeadLetters } from '../connectors/fixtures';

/**
 * The real intake (validation, pseudonymisation, duplicate check) over in-memory stand-ins for
 * Kafka, the registry and Redis, so import tests see exactly what a connector would decide.
 */
export interface MemoryIntake {
  readonly intake: Intake;
  readonly published: TopicRecords[InboundTopicId][];
  readonly deadLetters: DeadLetterInput[];
  readonly batches: IntakeItem[][];
}

/** The duplicate check's store over a map of event id to content hash; the first hash of an id stays, as in Redis. */
export function memorySeenFacts(seen: Map<string, string>): SeenFacts {
  return {
    lookup: (ids) => Promise.resolve(ids.map((id) => seen.get(id))),
    remember: (entries) => {
      for (const entry of entries) if (!seen.has(entry.eventId)) seen.set(entry.eventId, entry.contentHash);
      return Promise.resolve();
    },
  };
}

export function memoryIntake(agency: AgencyDefinition, now = Date.parse('2026-06-01T10:00:00+08:00')): MemoryIntake {
  const published: TopicRecords[InboundTopicId][] = [];
  const deadLetters: DeadLetterInput[] = [];
  const batches: IntakeItem[][] = [];
  const letters = memoryDeadLetters();
  const inner = createIntake({
    agency,
    secrets: { personKeySecret: randomBytes(32), idEncryptionKey: randomBytes(32) },
    publisher: {
      publish: (topicBatches) => {
        for (const batch of topicBatches) deadLetters.push(...letters.lettersOf(batch));
        return Promise.resolve();
      },
      close: () => Promise.resolve(),
    },
    codec: {
      topic: agency.topic,
      encode: (record: TopicRecords[InboundTopicId]) => {
        published.push(record);
        return Promise.resolve(Buffer.alloc(0));
      },
      decode: () => Promise.reject(new Error('not used')),
    },
    deadLetters: letters.writer,
    seen: memorySeenFacts(new Map()),
    now: () => now,
  });
  return {
    intake: {
      ingest: (items, channel) => {
        batches.push([...items]);
        return inner.ingest(items, channel);
      },
    },
    published,
    deadLetters,
    batches,
  };
}
