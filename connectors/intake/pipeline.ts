import type { TopicRecords } from '../../schemas';
import type { IdentitySecrets } from '../../services/identity';
import type { DeadLetterInput, DeadLetterWriter, TransactionalPublisher } from '../../services/kafka';
import { HubError, createTurns } from '../../services/platform';
import type { TopicCodec } from '../../services/registry';
import { createHash } from 'node:crypto';
import type { AgencyDefinition, AgencyFact, InboundTopicId } from './agency';
import type { FieldProblem } from './fields';
import { fingerprint, prepareItems, sealRaw, type IntakeItem, type PreparedBatch, type PreparedFact } from './prepare';
import type { SourceVersions } from './source-versions';

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
  /**
   * Which person each version of a versioned agency's records named (source-versions.ts): a newer
   * version naming another person withdraws the record from the one an older version named.
   * Without it, versions are not followed across people.
   */
  readonly sources?: SourceVersions;
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
  publish(
    batch: PreparedBatch,
    size: number,
    positionOf: (index: number) => string,
    itemOf: (index: number) => IntakeItem | undefined,
  ): Promise<IntakeOutcome[]>;
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

/** A source record to withdraw from a person an older version of it named. */
interface Withdrawal<K extends InboundTopicId> {
  readonly item: PreparedFact<K>;
  readonly personKey: string;
  readonly idCipher: string;
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
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // Handled here so that a failure nobody waits for is not an unhandled rejection; waiters still see it.
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

/**
 * The intake, and its order guarantee, which holds for a batch whatever its channel (a push to
 * `POST /v1/records`, a file uploaded to the API, `hub import`): every channel hands its batches to
 * this one intake. `ingest` calls may overlap (a file import prepares its next batch while the previous
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
 *
 * The turns are services/platform's `createTurns`; a connector's API also takes one per request, so
 * its pushes reach the intake in the order they were received.
 */
export function createIntake<K extends InboundTopicId>(deps: IntakeDependencies<K>): Intake {
  const { agency } = deps;
  const now = deps.now ?? Date.now;

  const inFlight = new Map<string, InFlightFact>();
  /** Batches whose facts Redis knows now: their in-flight entries go at the next duplicate check. */
  let remembered: { batch: BatchInFlight; eventIds: readonly string[] }[] = [];
  const checkTurns = createTurns();
  let sendTurn: Promise<void> = Promise.resolve();

  const forget = (batch: BatchInFlight, eventIds: readonly string[]): void => {
    for (const eventId of eventIds) if (inFlight.get(eventId)?.batch === batch) inFlight.delete(eventId);
  };

  /** Step 2, run in call order. Also takes the batch's place in the send order. */
  const check = async (
    positionOf: (index: number) => string,
    itemOf: (index: number) => IntakeItem | undefined,
    outcomes: IntakeOutcome[],
    prepared: readonly PreparedFact<K>[],
    letters: DeadLetterInput[],
    batch: BatchInFlight,
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
        const problems = [
          { field: 'sourceVersion', reason: 'this record id and version were already received with other content: send a new version' },
        ];
        outcomes[item.index] = { status: 'rejected', position, problems };
        const original = itemOf(item.index);
        const raw = original?.raw ?? {};
        letters.push({
          origin: agency.id,
          errorCode: 'INPUT_INVALID',
          errorMessage: problems[0]?.reason ?? '',
          field: 'sourceVersion',
          rawFormat: original?.rawFormat ?? 'json',
          raw: sealRaw(agency, deps.secrets, raw, personKey),
          fingerprint: fingerprint(raw),
          key: personKey,
        });
      }
    });
    const withdrawals = await followVersions(fresh, outcomes, positionOf, itemOf, letters);
    for (const item of fresh) inFlight.set(item.eventId, { contentHash: item.contentHash, batch });

    const before = sendTurn;
    const sent = deferred<void>();
    sendTurn = sent.promise;
    return { fresh, relied, before, sent, withdrawals };
  };

  /**
   * Step 2's last part, for versioned records: claims each fresh record's version in the index and
   * answers what publishing it means. A record that would give a person back what a newer version
   * took from them (an older version naming another person), or a version already received for
   * another person, is refused; the newest version brings the withdrawals of the others.
   */
  const followVersions = async (
    fresh: PreparedFact<K>[],
    outcomes: IntakeOutcome[],
    positionOf: (index: number) => string,
    itemOf: (index: number) => IntakeItem | undefined,
    letters: DeadLetterInput[],
  ): Promise<Withdrawal<K>[]> => {
    const versioned = fresh.filter((item) => item.source !== undefined);
    if (deps.sources === undefined || versioned.length === 0) return [];
    const answers = await deps.sources.claim(
      versioned.map((item) => ({
        recordId: item.source?.recordId ?? '',
        version: item.source?.version ?? 0,
        personKey: item.personKey,
        idCipher: item.source?.idCipher ?? '',
      })),
    );
    const withdrawals: Withdrawal<K>[] = [];
    const refused = new Set<PreparedFact<K>>();
    versioned.forEach((item, i) => {
      const answer = answers[i];
      if (answer === undefined || answer.status === 'older') return;
      if (answer.status === 'newest') {
        for (const other of answer.others) withdrawals.push({ item, ...other });
        return;
      }
      const reason =
        answer.status === 'stale'
          ? `is older than version ${answer.newest} of this record, which names another person: an older version changes nothing`
          : 'this version of the record was already received for another person: send the correction as a new version';
      const problems = [{ field: 'version', reason }];
      outcomes[item.index] = { status: 'rejected', position: positionOf(item.index), problems };
      const original = itemOf(item.index);
      const raw = original?.raw ?? {};
      letters.push({
        origin: agency.id,
        errorCode: 'INPUT_INVALID',
        errorMessage: `version: ${reason}`,
        field: 'version',
        rawFormat: original?.rawFormat ?? 'json',
        raw: sealRaw(agency, deps.secrets, raw, item.personKey),
        fingerprint: fingerprint(raw),
        key: item.personKey,
        ...(item.source === undefined ? {} : { sourceRecordId: item.source.recordId }),
      });
      refused.add(item);
    });
    if (refused.size > 0) fresh.splice(0, fresh.length, ...fresh.filter((item) => !refused.has(item)));
    return withdrawals;
  };

  /** The WITHDRAWN record of a source record for a person an older version of it named. */
  const withdrawalRecord = async (withdrawal: Withdrawal<K>): Promise<{ key: string; value: Buffer }> => {
    const { item, personKey, idCipher } = withdrawal;
    const newest = item.record ?? (await deps.codec.decode(item.value ?? Buffer.alloc(0)));
    const withdrawn = agency.withdrawal?.(newest) ?? newest;
    const eventId = `${agency.id}:${createHash('sha256')
      .update(`withdrawal\u0000${agency.factKey(newest as unknown as AgencyFact<K>)}\u0000${personKey}`)
      .digest('hex')
      .slice(0, 32)}`;
    const record = Object.assign({}, withdrawn, { eventId, personKey, idCipher });
    return { key: personKey, value: await deps.codec.encode(record) };
  };

  /** Steps 2 to 4 for a prepared batch. Called in call order (the turns are taken synchronously). */
  const publish = async (
    prepared: PreparedBatch<K>,
    size: number,
    positionOf: (index: number) => string,
    itemOf: (index: number) => IntakeItem | undefined,
  ): Promise<IntakeOutcome[]> => {
    const outcomes: IntakeOutcome[] = new Array<IntakeOutcome>(size);
    for (const { index, problems } of prepared.rejected) outcomes[index] = { status: 'rejected', position: positionOf(index), problems };
    const letters = [...prepared.letters];
    const published = deferred<void>();
    const batch: BatchInFlight = { published: published.promise };

    const { fresh, relied, before, sent, withdrawals } = await checkTurns.take(() =>
      check(positionOf, itemOf, outcomes, prepared.facts, letters, batch),
    );
    const eventIds = fresh.map((item) => item.eventId);

    // Step 3. The send waits for every earlier send to settle, so sends stay in call order.
    let failure: { error: unknown } | undefined;
    let encoded: { key: string; value: Buffer }[] = [];
    const unencodable = fresh.find((item) => item.encodeError !== undefined);
    if (unencodable !== undefined) {
      failure = { error: unencodable.encodeError };
    } else {
      try {
        encoded = await Promise.all(
          fresh.map(async (item) => ({
            key: item.personKey,
            value: item.value ?? (await deps.codec.encode(item.record as TopicRecords[K])),
          })),
        );
        // In the same transaction as the newest version: both are on the topics, or neither.
        for (const withdrawal of withdrawals) encoded.push(await withdrawalRecord(withdrawal));
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
  const offload: IntakeOffload | undefined =
    writerSchema === undefined
      ? undefined
      : {
          agency,
          secrets: deps.secrets,
          topic: deps.codec.topic,
          now,
          writerSchema,
          publish: (prepared, size, positionOf, itemOf) => publish(prepared as PreparedBatch<K>, size, positionOf, itemOf),
        };

  return {
    ...(offload === undefined ? {} : { offload }),
    async ingest(items, channel) {
      // Step 1, here on the calling thread: no shared state.
      const prepared = prepareItems(agency, deps.secrets, items, channel, now());
      return await publish(
        prepared,
        items.length,
        (index) => items[index]?.position ?? '',
        (index) => items[index],
      );
    },
  };
}

/** An encoding failure reported by a worker thread, as the codec would have reported it. */
export function encodeFailure(topic: string, message: string): HubError {
  return new HubError('PROCESSING_FAILED', `cannot encode a record of ${topic}: ${message}`);
}
