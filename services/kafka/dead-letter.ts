import { createHash } from 'node:crypto';
import type { DeadLetter } from '../../schemas';
import { maskIdShaped } from '../identity';
import type { HubProducer } from './producer';
import type { OutboundBatch } from './records';

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
  /** The letters encoded for the dead-letter topic, to publish in a transaction with other records. */
  prepare(letters: readonly DeadLetterInput[]): Promise<OutboundBatch>;
}

/**
 * Most bytes of a raw copy kept in a dead letter. A refused record may be as large as its sender
 * makes it (a 1 MB field); a letter must stay far below the broker's 1 MiB message.max.bytes, and
 * thousands of letters of one batch must fit a transaction. What the sender needs to find the record
 * (its first bytes, its length and hash) fits in this.
 */
export const maxDeadLetterRawBytes = 4 * 1024;
/** Most characters of a dead letter's error message (one reason per problem; a record has few). */
const maxErrorMessageChars = 2_000;

/**
 * The raw copy as kept: whole when small, else a JSON object with its length, its SHA-256 and its
 * first bytes (cut on a character boundary). The raw copy given is already sealed and scrubbed.
 */
export function boundRaw(raw: Buffer, limit = maxDeadLetterRawBytes): Buffer {
  if (raw.length <= limit) return raw;
  const headBytes = limit - 200;
  // Back off to the start of a UTF-8 character so the head decodes cleanly.
  let end = headBytes;
  while (end > 0 && ((raw[end] ?? 0) & 0xc0) === 0x80) end -= 1;
  const summary = {
    truncated: true,
    bytes: raw.length,
    sha256: createHash('sha256').update(raw).digest('hex'),
    head: raw.subarray(0, end).toString('utf8'),
  };
  const text = JSON.stringify(summary);
  // JSON escaping can grow the head (control characters become \u00xx): cut it again if it did.
  return Buffer.byteLength(text) <= limit
    ? Buffer.from(text, 'utf8')
    : Buffer.from(JSON.stringify({ ...summary, head: summary.head.slice(0, Math.floor(headBytes / 6)) }), 'utf8');
}

/** A record id or field name is short; a sender's 1 MB "record id" is cut. */
const maxIdentifierChars = 200;

/**
 * Bounded, and any ID-shaped text masked: a message quotes the offending value, and a record id may
 * be an ID number (the reason it was refused).
 */
function boundText(text: string, limit: number): string {
  const bounded = text.length <= limit ? text : `${text.slice(0, limit)}… (${text.length} characters)`;
  return maskIdShaped(bounded);
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
  const prepare = async (letters: readonly DeadLetterInput[]): Promise<OutboundBatch> => {
    if (letters.length === 0) return { topic: options.topic, records: [] };
    const recordedAt = now();
    const records = await Promise.all(
      letters.map(async (input) => {
        const letter: DeadLetter = {
          eventId: deadLetterId(input),
          source: options.source,
          occurredAt: input.occurredAt ?? recordedAt,
          recordedAt,
          origin: input.origin,
          sourceTopic: input.sourceTopic ?? null,
          sourcePartition: input.sourcePartition ?? null,
          sourceOffset: input.sourceOffset ?? null,
          sourceRecordId: input.sourceRecordId === undefined ? null : boundText(input.sourceRecordId, maxIdentifierChars),
          errorCode: input.errorCode,
          errorMessage: boundText(input.errorMessage, maxErrorMessageChars),
          field: input.field === undefined ? null : boundText(input.field, maxIdentifierChars),
          rawFormat: input.rawFormat,
          raw: boundRaw(input.raw),
        };
        return { key: input.key ?? input.origin, value: await options.encode(letter), headers: { 'hub-error-code': input.errorCode } };
      }),
    );
    return { topic: options.topic, records };
  };
  return {
    prepare,
    async write(letters) {
      if (letters.length === 0) return;
      const { topic, records } = await prepare(letters);
      await options.producer.send(topic, records);
    },
  };
}

export function deadLetterId(input: DeadLetterInput): string {
  const hash = createHash('sha256').update(input.origin).update('\u0000');
  if (input.sourceTopic !== undefined && input.sourceOffset !== undefined) {
    hash.update(`${input.sourceTopic}/${input.sourcePartition ?? 0}/${input.sourceOffset}`);
  } else {
    hash
      .update(input.sourceRecordId ?? '')
      .update('\u0000')
      .update(input.fingerprint ?? input.raw);
  }
  return `dl-${hash.digest('hex').slice(0, 32)}`;
}
