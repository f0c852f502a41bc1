import type { DeadLetter } from '../../../schemas';
import type { InboundPosition } from './facts';
import { sha256Hex } from './sha256';

/** A dead letter of the rules service, as it is published (origin 'rules', source 'hub:rules'). */
export interface RulesDeadLetter {
  readonly topic: 'deadLetters';
  readonly record: DeadLetter;
}

export interface DeadLetterFields {
  readonly code: string;
  readonly message: string;
  /** The inbound record refused, when one is. */
  readonly record?: InboundPosition;
  readonly personKey?: string;
  /** A fact left out of a person's year, named by its event id (its record is on its topic). */
  readonly fact?: { readonly eventId: string; readonly field: string };
}

const origin = 'rules';

/**
 * The id services/kafka's deadLetterId gives the same letter (sha256 of the origin, then the topic
 * position, or no source record id and the fingerprint), spelled out here on strings: the fold takes
 * no node:crypto. test/unit/rules checks the two agree.
 */
function letterId(fields: DeadLetterFields): string {
  const text =
    fields.record === undefined
      ? `${origin}\u0000\u0000${fields.personKey ?? ''}\u0000${fields.message}`
      : `${origin}\u0000${fields.record.topic}/${fields.record.partition}/${fields.record.offset}`;
  return `dl-${sha256Hex(text).slice(0, 32)}`;
}

/** A dead letter for an inbound record the service cannot take, or for a person-year it cannot compute. */
export function rulesDeadLetter(fields: DeadLetterFields, now: number): RulesDeadLetter {
  const { record, personKey, fact } = fields;
  const raw =
    record?.value ?? Buffer.from(JSON.stringify(fact === undefined ? { personKey } : { personKey, eventId: fact.eventId }), 'utf8');
  return {
    topic: 'deadLetters',
    record: {
      eventId: letterId(fields),
      source: 'hub:rules',
      occurredAt: record?.timestamp ?? now,
      recordedAt: now,
      origin,
      sourceTopic: record?.topic ?? null,
      sourcePartition: record?.partition ?? null,
      sourceOffset: record?.offset ?? null,
      sourceRecordId: personKey ?? null,
      errorCode: fields.code,
      errorMessage: fields.message,
      field: fact?.field ?? null,
      rawFormat: record === undefined ? 'json' : 'avro',
      raw,
    },
  };
}
