import { createHash } from 'node:crypto';
import type { TopicRecords } from '../../schemas';
import { encryptNationalId, pseudonymise, validateNationalId, type IdentitySecrets } from '../../services/identity';
import type { DeadLetterInput, DeadLetterWriter, HubProducer } from '../../services/kafka';
import { scrubIdNumbers } from '../../services/platform';
import type { TopicCodec } from '../../services/registry';
import type { AgencyDefinition, InboundTopicId } from './agency';
import { FieldReader, type FieldProblem, type RawRecord } from './fields';

/** One record handed to a connector, by the push API or by a file import. */
export interface IntakeItem {
  readonly raw: RawRecord;
  readonly rawFormat: 'json' | 'csv-row' | 'xlsx-row';
  /** Where it came from, for answers and reports: "records[3]", "row 17". */
  readonly position: string;
}

export type IntakeOutcome =
  | { readonly status: 'accepted'; readonly position: string; readonly eventId: string }
  | { readonly status: 'duplicate'; readonly position: string; readonly eventId: string }
  | { readonly status: 'rejected'; readonly position: string; readonly problems: readonly FieldProblem[] };

/**
 * Remembers which facts were already published, with a hash of their content, so that a record sent
 * twice is one fact and a record re-sent with other content under the same id and version is refused.
 */
export interface SeenFacts {
  /** For each event id: the content hash already published, or undefined. */
  lookup(eventIds: readonly string[]): Promise<(string | undefined)[]>;
  /** Marks facts published. Called only after Kafka acknowledged them. */
  remember(entries: readonly { eventId: string; contentHash: string }[]): Promise<void>;
}

export interface IntakeDependencies<K extends InboundTopicId> {
  readonly agency: AgencyDefinition<K>;
  readonly secrets: IdentitySecrets;
  readonly producer: HubProducer;
  readonly codec: TopicCodec<TopicRecords[K]>;
  readonly deadLetters: DeadLetterWriter;
  readonly seen: SeenFacts;
  readonly now?: () => number;
}

export interface Intake {
  /** Validates, pseudonymises and publishes a batch; every item gets an outcome, in order. */
  ingest(items: readonly IntakeItem[], channel: string): Promise<IntakeOutcome[]>;
}

/** Identifies a record as received, for stable dead-letter ids; a one-way hash, so no ID number leaks. */
function fingerprint(raw: RawRecord): string {
  return createHash('sha256').update(JSON.stringify(raw)).digest('hex');
}

/** Masks anything shaped like a national ID number, at any depth (numbers too: JSON lets agencies send them bare). */
function scrubIdShaped(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return scrubIdNumbers(value);
  if (typeof value === 'number') {
    const text = String(value);
    return scrubIdNumbers(text) === text ? value : scrubIdNumbers(text);
  }
  if (value === null || typeof value !== 'object') return value;
  if (depth > 8) return '[removed]';
  if (Array.isArray(value)) return value.map((item) => scrubIdShaped(item, depth + 1));
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, scrubIdShaped(v, depth + 1)]));
}

interface Prepared<K extends InboundTopicId> {
  index: number;
  record: TopicRecords[K];
  contentHash: string;
}

export function createIntake<K extends InboundTopicId>(deps: IntakeDependencies<K>): Intake {
  const { agency } = deps;
  const now = deps.now ?? Date.now;

  /** A raw record fit for the dead-letter topic: names removed, the ID number sealed. */
  const sealRaw = (raw: RawRecord, personKey: string | undefined): Buffer => {
    // Every other field is scrubbed too: a record that fails often fails because the ID number sits
    // under a misspelt field name ("idnumber", "身份证号"), and it must not reach the topic in clear.
    const copy: Record<string, unknown> = {};
    for (const [field, value] of Object.entries(raw)) copy[field] = scrubIdShaped(value);
    for (const field of agency.nameFields) if (field in copy) copy[field] = '[removed]';
    const id = raw[agency.idField];
    if (typeof id === 'string' || typeof id === 'number') {
      copy[agency.idField] = encryptNationalId(String(id), deps.secrets.idEncryptionKey, personKey ?? 'dead-letter');
    } else if (id !== undefined && id !== null) {
      copy[agency.idField] = '[removed]';
    }
    return Buffer.from(JSON.stringify(copy), 'utf8');
  };

  return {
    async ingest(items, channel) {
      const recordedAt = now();
      const today = new Date(recordedAt + 8 * 3_600_000).toISOString().slice(0, 10);
      const outcomes: IntakeOutcome[] = new Array<IntakeOutcome>(items.length);
      const prepared: Prepared<K>[] = [];
      const letters: DeadLetterInput[] = [];

      items.forEach((item, index) => {
        const reader = new FieldReader(item.raw);
        const rawId = item.raw[agency.idField];
        const idText = typeof rawId === 'string' || typeof rawId === 'number' ? String(rawId) : '';
        const idCheck = validateNationalId(idText, today);
        if (!idCheck.ok) reader.problem(agency.idField, idCheck.reason);
        const { fact, occurredAt } = agency.read(reader, today);
        if (reader.problems.length > 0) {
          outcomes[index] = { status: 'rejected', position: item.position, problems: reader.problems };
          const first = reader.problems[0];
          const sourceRecordId = (fact as { sourceRecordId?: string; setl_id?: string }).sourceRecordId ?? (fact as { setl_id?: string }).setl_id;
          letters.push({
            origin: agency.id,
            errorCode: 'INPUT_INVALID',
            errorMessage: reader.problems.map((p) => `${p.field}: ${p.reason}`).join('; '),
            rawFormat: item.rawFormat,
            raw: sealRaw(item.raw, undefined),
            fingerprint: fingerprint(item.raw),
            ...(first === undefined ? {} : { field: first.field }),
            ...(sourceRecordId === undefined || sourceRecordId === '' ? {} : { sourceRecordId }),
          });
          return;
        }
        const person = pseudonymise(idText, today, deps.secrets);
        const factKey = agency.factKey(fact);
        const eventId = `${agency.id}:${createHash('sha256').update(factKey).digest('hex').slice(0, 32)}`;
        // The content hash covers the fact and the person, not the envelope, so a resend is recognised.
        const contentHash = createHash('sha256').update(JSON.stringify(fact)).update(person.personKey).digest('hex').slice(0, 32);
        const record = { ...fact, eventId, source: `${agency.id}:${channel}`, occurredAt, recordedAt, personKey: person.personKey, idCipher: person.idCipher } as unknown as TopicRecords[K];
        prepared.push({ index, record, contentHash });
      });

      // Within one batch, the first of several copies of a fact wins; the others are duplicates or conflicts.
      const firstByEvent = new Map<string, Prepared<K>>();
      const fresh: Prepared<K>[] = [];
      const previous = await deps.seen.lookup(prepared.map((p) => p.record.eventId));
      prepared.forEach((item, i) => {
        const position = items[item.index]?.position ?? '';
        const earlier = previous[i] ?? firstByEvent.get(item.record.eventId)?.contentHash;
        if (earlier === undefined) {
          firstByEvent.set(item.record.eventId, item);
          fresh.push(item);
          outcomes[item.index] = { status: 'accepted', position, eventId: item.record.eventId };
        } else if (earlier === item.contentHash) {
          outcomes[item.index] = { status: 'duplicate', position, eventId: item.record.eventId };
        } else {
          const problems = [{ field: 'sourceVersion', reason: 'this record id and version were already received with other content: send a new version' }];
          outcomes[item.index] = { status: 'rejected', position, problems };
          letters.push({
            origin: agency.id, errorCode: 'INPUT_INVALID', errorMessage: problems[0]?.reason ?? '', field: 'sourceVersion',
            rawFormat: items[item.index]?.rawFormat ?? 'json', raw: sealRaw(items[item.index]?.raw ?? {}, item.record.personKey),
            fingerprint: fingerprint(items[item.index]?.raw ?? {}), key: item.record.personKey,
          });
        }
      });

      const encoded = await Promise.all(fresh.map(async (item) => ({ key: item.record.personKey, value: await deps.codec.encode(item.record) })));
      await deps.producer.send(deps.codec.topic, encoded);
      await deps.seen.remember(fresh.map((item) => ({ eventId: item.record.eventId, contentHash: item.contentHash })));
      await deps.deadLetters.write(letters);
      return outcomes;
    },
  };
}
