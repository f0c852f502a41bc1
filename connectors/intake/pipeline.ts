import { createHash, hash } from 'node:crypto';
import type { TopicRecords } from '../../schemas';
import { encryptNationalId, pseudonymiseNormalized, validateNationalId, type IdentitySecrets } from '../../services/identity';
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
  readonly index: number;
  readonly record: TopicRecords[K];
  readonly contentHash: string;
}

/**
 * A batch between its duplicate check and the end of its publication. Its fresh facts stay in the
 * intake's in-flight map meanwhile, so that a batch checked after it (ingest calls may overlap, see
 * `createIntake`) recognises them although Redis does not know them yet.
 */
interface BatchInFlight {
  /** Resolves once Kafka acknowledged the batch's facts; rejects with the error if it did not. */
  readonly published: Promise<void>;
}

interface InFlightFact {
  readonly contentHash: string;
  readonly batch: BatchInFlight;
}

interface Deferred<T> {
  readonly promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

function deferred<T>(): Deferred<T> {
  let resolve: (value: T) => void = () => undefined;
  let reject: (error: unknown) => void = () => undefined;
  const promise = new Promise<T>((res, rej) => { resolve = res; reject = rej; });
  // Handled here so that a failure nobody waits for is not an unhandled rejection; waiters still see it.
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

/** SHA-256 in hex, first 32 digits. The one-shot crypto.hash: no Hash stream object per call. */
const hex32 = (text: string): string => hash('sha256', text, 'hex').slice(0, 32);

/**
 * The intake. `ingest` calls may overlap (a file import prepares its next batch while the previous
 * one waits for Kafka); what must stay sequential is kept so by turns taken in call order:
 *
 * 1. validation, pseudonymisation and hashing: no shared state, run at once;
 * 2. the duplicate check, in call order: Redis (facts already published), then the facts of earlier
 *    batches still in flight, then earlier copies in the batch. So a fact sent twice is one fact even
 *    when its two copies are in batches that overlap;
 * 3. the Kafka send, in call order, each after the one before was acknowledged: one person's records
 *    reach the topic in the order they were sent, and nothing is published after a failed send of an
 *    earlier, overlapping batch (as if the calls had run one after the other);
 * 4. after the acknowledgement, the facts are remembered in Redis (never before), then dead letters.
 *
 * A batch that counted a record as a duplicate of a fact still in flight answers only after that fact
 * was acknowledged; if it was not, the batch fails with the same error (its own facts, if acknowledged,
 * are remembered first), and a resend is decided afresh.
 */
export function createIntake<K extends InboundTopicId>(deps: IntakeDependencies<K>): Intake {
  const { agency } = deps;
  const now = deps.now ?? Date.now;
  const source = (channel: string): string => `${agency.id}:${channel}`;

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

  /** Step 1: every item validated; the accepted ones pseudonymised, hashed and enveloped. */
  const prepare = (items: readonly IntakeItem[], channel: string) => {
    const recordedAt = now();
    const today = new Date(recordedAt + 8 * 3_600_000).toISOString().slice(0, 10);
    const outcomes: IntakeOutcome[] = new Array<IntakeOutcome>(items.length);
    const prepared: Prepared<K>[] = [];
    const letters: DeadLetterInput[] = [];
    const recordSource = source(channel);

    for (let index = 0; index < items.length; index += 1) {
      const item = items[index] as IntakeItem;
      const reader = new FieldReader(item.raw);
      const rawId = item.raw[agency.idField];
      const idText = typeof rawId === 'string' || typeof rawId === 'number' ? String(rawId) : '';
      const idCheck = validateNationalId(idText, today);
      if (!idCheck.ok) reader.problem(agency.idField, idCheck.reason);
      const { fact, occurredAt } = agency.read(reader, today);
      if (!idCheck.ok || reader.problems.length > 0) {
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
        continue;
      }
      // Validated above: the normalised number is at hand, so it is not validated a second time.
      const person = pseudonymiseNormalized(idCheck.normalized, deps.secrets);
      const eventId = `${agency.id}:${hex32(agency.factKey(fact))}`;
      // The content hash covers the fact and the person, not the envelope, so a resend is recognised.
      // Its value is what Redis holds for every published fact, so it must not change: SHA-256 over
      // the fact's JSON followed by the person key (one string, the same bytes as two updates).
      const contentHash = hex32(JSON.stringify(fact) + person.personKey);
      // Object.assign, not `{ ...fact, eventId, … }`: V8 turns a spread followed by more properties into
      // a slow dictionary-mode object here (measured ~12 µs a record, and slower to encode after).
      // Same result: the envelope fields are written last and win, as they did in the spread.
      const record = Object.assign({}, fact, {
        eventId, source: recordSource, occurredAt, recordedAt, personKey: person.personKey, idCipher: person.idCipher,
      }) as unknown as TopicRecords[K];
      prepared.push({ index, record, contentHash });
    }
    return { outcomes, prepared, letters };
  };

  const inFlight = new Map<string, InFlightFact>();
  /** Batches whose facts Redis knows now: their in-flight entries go at the next duplicate check. */
  let remembered: { batch: BatchInFlight; eventIds: readonly string[] }[] = [];
  let checkTurn: Promise<unknown> = Promise.resolve();
  let sendTurn: Promise<void> = Promise.resolve();

  const forget = (batch: BatchInFlight, eventIds: readonly string[]): void => {
    for (const eventId of eventIds) if (inFlight.get(eventId)?.batch === batch) inFlight.delete(eventId);
  };

  /** Step 2, run in call order. Also takes the batch's place in the send order. */
  const check = async (items: readonly IntakeItem[], outcomes: IntakeOutcome[], prepared: readonly Prepared<K>[], letters: DeadLetterInput[], batch: BatchInFlight) => {
    // Redis knew these batches' facts before the lookup below was sent, so it answers for them.
    const known = remembered;
    remembered = [];
    let previous: (string | undefined)[];
    try {
      previous = await deps.seen.lookup(prepared.map((p) => p.record.eventId));
    } catch (error) {
      remembered = known.concat(remembered);
      throw error;
    }
    for (const entry of known) forget(entry.batch, entry.eventIds);

    // Within one batch, the first of several copies of a fact wins; the others are duplicates or conflicts.
    const firstByEvent = new Map<string, string>();
    const fresh: Prepared<K>[] = [];
    const relied = new Set<BatchInFlight>();
    prepared.forEach((item, i) => {
      const { eventId, personKey } = item.record;
      const position = items[item.index]?.position ?? '';
      let earlier = previous[i];
      if (earlier === undefined) {
        const pending = inFlight.get(eventId);
        if (pending !== undefined) {
          earlier = pending.contentHash;
          relied.add(pending.batch);
        }
      }
      earlier ??= firstByEvent.get(eventId);
      if (earlier === undefined) {
        firstByEvent.set(eventId, item.contentHash);
        fresh.push(item);
        outcomes[item.index] = { status: 'accepted', position, eventId };
      } else if (earlier === item.contentHash) {
        outcomes[item.index] = { status: 'duplicate', position, eventId };
      } else {
        const problems = [{ field: 'sourceVersion', reason: 'this record id and version were already received with other content: send a new version' }];
        outcomes[item.index] = { status: 'rejected', position, problems };
        const raw = items[item.index]?.raw ?? {};
        letters.push({
          origin: agency.id, errorCode: 'INPUT_INVALID', errorMessage: problems[0]?.reason ?? '', field: 'sourceVersion',
          rawFormat: items[item.index]?.rawFormat ?? 'json', raw: sealRaw(raw, personKey), fingerprint: fingerprint(raw), key: personKey,
        });
      }
    });
    for (const item of fresh) inFlight.set(item.record.eventId, { contentHash: item.contentHash, batch });

    const before = sendTurn;
    const sent = deferred<void>();
    sendTurn = sent.promise;
    return { fresh, relied, before, sent };
  };

  return {
    async ingest(items, channel) {
      const { outcomes, prepared, letters } = prepare(items, channel);
      const published = deferred<void>();
      const batch: BatchInFlight = { published: published.promise };

      const checked = checkTurn.then(() => check(items, outcomes, prepared, letters, batch));
      checkTurn = checked.catch(() => undefined);
      const { fresh, relied, before, sent } = await checked;
      const eventIds = fresh.map((item) => item.record.eventId);

      // Step 3. The send waits for every earlier send to settle, so sends stay in call order.
      let failure: { error: unknown } | undefined;
      let encoded: { key: string; value: Buffer }[] = [];
      try {
        encoded = await Promise.all(fresh.map(async (item) => ({ key: item.record.personKey, value: await deps.codec.encode(item.record) })));
      } catch (error) {
        failure = { error };
      }
      try {
        await before;
      } catch (error) {
        // An earlier, overlapping batch was not published: nothing after it is, as if run one by one.
        failure ??= { error };
      }
      if (failure === undefined) {
        try {
          await deps.producer.send(deps.codec.topic, encoded);
        } catch (error) {
          failure = { error };
        }
      }
      if (failure === undefined) sent.resolve();
      else sent.reject(failure.error);
      // Nothing queued behind this send: the next batch starts from a clean slate, not from an old failure.
      if (sendTurn === sent.promise) sendTurn = Promise.resolve();
      if (failure !== undefined) {
        published.reject(failure.error);
        forget(batch, eventIds);
        throw failure.error;
      }
      published.resolve();

      // Step 4: remembered only now that Kafka acknowledged them.
      try {
        await deps.seen.remember(fresh.map((item) => ({ eventId: item.record.eventId, contentHash: item.contentHash })));
        remembered.push({ batch, eventIds });
      } catch (error) {
        // Published but not remembered: a resend is published again and recognised downstream by its event id.
        forget(batch, eventIds);
        throw error;
      }
      // Duplicates (and conflicts) of facts that were still in flight hold only if those were acknowledged.
      for (const earlier of relied) await earlier.published;
      await deps.deadLetters.write(letters);
      return outcomes;
    },
  };
}
