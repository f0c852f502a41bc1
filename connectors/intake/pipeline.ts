import type { TopicRecords } from '../../schemas';
import type { IdentitySecrets } from '../../services/identity';
import type { DeadLetterInput, DeadLetterWriter, TransactionalPublisher } from '../../services/kafka';
import { HubError } from '../../services/platform';
import type { TopicCodec } from '../../services/registry';
import type { AgencyDefinition, InboundTopicId } from './agency';
import type { FieldProblem } from './fields';
import { fingerprint, prepareItems, sealRaw, type IntakeItem, type PreparedBatch, type PreparedFact } from './prepare';

export type { IntakeItem, PreparedBatch, PreparedFact } from './prepare';

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
  /**
   * Publishes a batch's facts and dead letters in one Kafka transaction: a batch is on the topics
   * whole or not at all, so a failure answered to the sender ("send them again") is true.
   */
  readonly publisher: TransactionalPublisher;
  readonly codec: TopicCodec<TopicRecords[K]>;
  readonly deadLetters: DeadLetterWriter;
  readonly seen: SeenFacts;
  readonly now?: () => number;
  /**
   * The subject's latest schema, when it can be encoded without the registry (a plain Avro schema
   * with a numeric id): lets a file import prepare and encode in a worker thread (see `offload`).
   */
  readonly writerSchema?: () => Promise<WriterSchemaText | null>;
}

export interface WriterSchemaText {
  readonly id: number;
  readonly schema: string;
}

/**
 * The intake's publish stage for batches prepared elsewhere (a file import's worker thread): the
 * duplicate check, the send, the remembering and the dead letters, exactly as `ingest` does them.
 */
export interface IntakeOffload {
  readonly agency: AgencyDefinition;
  readonly secrets: IdentitySecrets;
  readonly topic: string;
  now(): number;
  writerSchema(): Promise<WriterSchemaText | null>;
  /**
   * Publishes a prepared batch of `size` items. Calls take their turns in call order, as `ingest`'s
   * do. `itemOf` gives an item back (for the rare dead letter of a conflict), `positionOf` its position.
   */
  publish(batch: PreparedBatch, size: number, positionOf: (index: number) => string, itemOf: (index: number) => IntakeItem | undefined): Promise<IntakeOutcome[]>;
}

export interface Intake {
  /** Validates, pseudonymises and publishes a batch; every item gets an outcome, in order. */
  ingest(items: readonly IntakeItem[], channel: string): Promise<IntakeOutcome[]>;
  /** Present when batches may be prepared off the main thread (see IntakeOffload). */
  readonly offload?: IntakeOffload;
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

/**
 * The intake. `ingest` calls may overlap (a file import prepares its next batch while the previous
 * one waits for Kafka); what must stay sequential is kept so by turns taken in call order:
 *
 * 1. validation, pseudonymisation and hashing (prepare.ts): no shared state, run at once (a file
 *    import runs it, and the encoding, in a worker thread and hands the result to `offload.publish`);
 * 2. the duplicate check, in call order: Redis (facts already published), then the facts of earlier
 *    batches still in flight, then earlier copies in the batch. So a fact sent twice is one fact even
 *    when its two copies are in batches that overlap;
 * 3. the Kafka send, in call order, each after the one before was acknowledged: one person's records
 *    reach the topic in the order they were sent, and nothing is published after a failed send of an
 *    earlier, overlapping batch (as if the calls had run one after the other);
 *    The facts and the dead letters of the batch go in one Kafka transaction, split into requests by
 *    bytes: both are published or neither is;
 * 4. after the acknowledgement, the facts are remembered in Redis (never before).
 *
 * A batch that counted a record as a duplicate of a fact still in flight answers only after that fact
 * was acknowledged; if it was not, the batch fails with the same error (its own facts, if acknowledged,
 * are remembered first), and a resend is decided afresh.
 */
export function createIntake<K extends InboundTopicId>(deps: IntakeDependencies<K>): Intake {
  const { agency } = deps;
  const now = deps.now ?? Date.now;

  const inFlight = new Map<string, InFlightFact>();
  /** Batches whose facts Redis knows now: their in-flight entries go at the next duplicate check. */
  let remembered: { batch: BatchInFlight; eventIds: readonly string[] }[] = [];
  let checkTurn: Promise<unknown> = Promise.resolve();
  let sendTurn: Promise<void> = Promise.resolve();

  const forget = (batch: BatchInFlight, eventIds: readonly string[]): void => {
    for (const eventId of eventIds) if (inFlight.get(eventId)?.batch === batch) inFlight.delete(eventId);
  };

  /** Step 2, run in call order. Also takes the batch's place in the send order. */
  const check = async (
    positionOf: (index: number) => string, itemOf: (index: number) => IntakeItem | undefined,
    outcomes: IntakeOutcome[], prepared: readonly PreparedFact<K>[], letters: DeadLetterInput[], batch: BatchInFlight,
  ) => {
    // Redis knew these batches' facts before the lookup below was sent, so it answers for them.
    const known = remembered;
    remembered = [];
    let previous: (string | undefined)[];
    try {
      previous = await deps.seen.lookup(prepared.map((p) => p.eventId));
    } catch (error) {
      remembered = known.concat(remembered);
      throw error;
    }
    for (const entry of known) forget(entry.batch, entry.eventIds);

    // Within one batch, the first of several copies of a fact wins; the others are duplicates or conflicts.
    const firstByEvent = new Map<string, string>();
    const fresh: PreparedFact<K>[] = [];
    const relied = new Set<BatchInFlight>();
    prepared.forEach((item, i) => {
      const { eventId, personKey } = item;
      const position = positionOf(item.index);
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
        const original = itemOf(item.index);
        const raw = original?.raw ?? {};
        letters.push({
          origin: agency.id, errorCode: 'INPUT_INVALID', errorMessage: problems[0]?.reason ?? '', field: 'sourceVersion',
          rawFormat: original?.rawFormat ?? 'json', raw: sealRaw(agency, deps.secrets, raw, personKey), fingerprint: fingerprint(raw), key: personKey,
        });
      }
    });
    for (const item of fresh) inFlight.set(item.eventId, { contentHash: item.contentHash, batch });

    const before = sendTurn;
    const sent = deferred<void>();
    sendTurn = sent.promise;
    return { fresh, relied, before, sent };
  };

  /** Steps 2 to 4 for a prepared batch. Called in call order (the turns are taken synchronously). */
  const publish = async (
    prepared: PreparedBatch<K>, size: number, positionOf: (index: number) => string, itemOf: (index: number) => IntakeItem | undefined,
  ): Promise<IntakeOutcome[]> => {
    const outcomes: IntakeOutcome[] = new Array<IntakeOutcome>(size);
    for (const { index, problems } of prepared.rejected) outcomes[index] = { status: 'rejected', position: positionOf(index), problems };
    const letters = [...prepared.letters];
    const published = deferred<void>();
    const batch: BatchInFlight = { published: published.promise };

    const checked = checkTurn.then(() => check(positionOf, itemOf, outcomes, prepared.facts, letters, batch));
    checkTurn = checked.catch(() => undefined);
    const { fresh, relied, before, sent } = await checked;
    const eventIds = fresh.map((item) => item.eventId);

    // Step 3. The send waits for every earlier send to settle, so sends stay in call order.
    let failure: { error: unknown } | undefined;
    let encoded: { key: string; value: Buffer }[] = [];
    const unencodable = fresh.find((item) => item.encodeError !== undefined);
    if (unencodable !== undefined) {
      failure = { error: unencodable.encodeError };
    } else {
      try {
        encoded = await Promise.all(fresh.map(async (item) => ({
          key: item.personKey,
          value: item.value ?? await deps.codec.encode(item.record as TopicRecords[K]),
        })));
      } catch (error) {
        failure = { error };
      }
    }
    try {
      await before;
    } catch (error) {
      // An earlier, overlapping batch was not published: nothing after it is, as if run one by one.
      failure ??= { error };
    }
    if (failure === undefined) {
      try {
        const deadLetters = await deps.deadLetters.prepare(letters);
        await deps.publisher.publish([{ topic: deps.codec.topic, records: encoded }, deadLetters]);
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
      await deps.seen.remember(fresh.map((item) => ({ eventId: item.eventId, contentHash: item.contentHash })));
      remembered.push({ batch, eventIds });
    } catch (error) {
      // Published but not remembered: a resend is published again and recognised downstream by its event id.
      forget(batch, eventIds);
      throw error;
    }
    // Duplicates (and conflicts) of facts that were still in flight hold only if those were acknowledged.
    for (const earlier of relied) await earlier.published;
    return outcomes;
  };

  const { writerSchema } = deps;
  const offload: IntakeOffload | undefined = writerSchema === undefined ? undefined : {
    agency, secrets: deps.secrets, topic: deps.codec.topic, now, writerSchema,
    publish: (prepared, size, positionOf, itemOf) => publish(prepared as PreparedBatch<K>, size, positionOf, itemOf),
  };

  return {
    ...(offload === undefined ? {} : { offload }),
    async ingest(items, channel) {
      // Step 1, here on the calling thread: no shared state.
      const prepared = prepareItems(agency, deps.secrets, items, channel, now());
      return await publish(prepared, items.length, (index) => items[index]?.position ?? '', (index) => items[index]);
    },
  };
}

/** An encoding failure reported by a worker thread, as the codec would have reported it. */
export function encodeFailure(topic: string, message: string): HubError {
  return new HubError('PROCESSING_FAILED', `cannot encode a record of ${topic}: ${message}`);
}
