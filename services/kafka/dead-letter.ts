import { createHash } from 'node:crypto';
import type { DeadLetter } from '../../schemas';
import type { HubProducer } from './client';

/** What is known about a record the hub could not take. */
export interface DeadLetterInput {
  readonly origin: string;
  readonly errorCode: string;
  readonly errorMessage: string;
  readonly field?: string;
  readonly rawFormat: DeadLetter['rawFormat'];
  /** The raw record, with any national ID number already replaced by its ciphertext. */
  readonly raw: Buffer;
  readonly sourceTopic?: string;
  readonly sourcePartition?: number;
  readonly sourceOffset?: string;
  readonly sourceRecordId?: string;
  /**
   * What identifies the refused record across retries when it has no topic position (a hash of the
   * record as received); defaults to the raw bytes, which suits raw forms without fresh ciphertext.
   */
  readonly fingerprint?: string;
  /** The partition key: the person key when known, else the origin. */
  readonly key?: string;
  readonly occurredAt?: number;
}

export interface DeadLetterWriter {
  write(letters: readonly DeadLetterInput[]): Promise<void>;
}

/**
 * Writes refused records to the dead-letter topic. The event id is derived from where the record came
 * from (topic position, or source record and raw bytes), so a retried write is recognisably the same.
 */
export function createDeadLetterWriter(options: {
  producer: HubProducer;
  topic: string;
  encode: (letter: DeadLetter) => Promise<Buffer>;
  source: string;
  now?: () => number;
}): DeadLetterWriter {
  const now = options.now ?? Date.now;
  return {
    async write(letters) {
      if (letters.length === 0) return;
      const recordedAt = now();
      const records = await Promise.all(letters.map(async (input) => {
        const letter: DeadLetter = {
          eventId: deadLetterId(input),
          source: options.source,
          occurredAt: input.occurredAt ?? recordedAt,
          recordedAt,
          origin: input.origin,
          sourceTopic: input.sourceTopic ?? null,
          sourcePartition: input.sourcePartition ?? null,
          sourceOffset: input.sourceOffset ?? null,
          sourceRecordId: input.sourceRecordId ?? null,
          errorCode: input.errorCode,
          errorMessage: input.errorMessage,
          field: input.field ?? null,
          rawFormat: input.rawFormat,
          raw: input.raw,
        };
        return { key: input.key ?? input.origin, value: await options.encode(letter), headers: { 'hub-error-code': input.errorCode } };
      }));
      await options.producer.send(options.topic, records);
    },
  };
}

export function deadLetterId(input: DeadLetterInput): string {
  const hash = createHash('sha256').update(input.origin).update('\u0000');
  if (input.sourceTopic !== undefined && input.sourceOffset !== undefined) {
    hash.update(`${input.sourceTopic}/${input.sourcePartition ?? 0}/${input.sourceOffset}`);
  } else {
    hash.update(input.sourceRecordId ?? '').update('\u0000').update(input.fingerprint ?? input.raw);
  }
  return `dl-${hash.digest('hex').slice(0, 32)}`;
}
