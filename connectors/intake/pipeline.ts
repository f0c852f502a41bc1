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
  /**
   * Most batches waiting for their turn at the duplicate check (default `defaultMaxWaitingBatches`);
   * one more is refused at once with OVERLOADED, which the push API answers 503 with Retry-After.
   */
  readonly maxWaitingBatches?: number;
}

/**
 * Batches that may wait for the intake at once: a file import keeps at most 2 waiting, a connector's
 * pushes and uploads add theirs. Each holds its records in memory, and a connector runs under a heap cap.
 */
export const defaultMaxWaitingBatches = 16;

export interface WriterSchemaText {
  readonly id: number;
  readonly schema: string;
}

/**
 * A batch of a channel on its way into the intake: its items' outcomes come back in item order.
 * Whatever the channel, a batch takes the one path of `createIntake`: prepared (here or in a worker
 * thread), screened, published in one transaction, remembered, answered.
 */
export interface IntakeBatch<K extends InboundTopicId = InboundTopicId> {
  /** Items in the batch. */
  readonly size: number;
  /** The batch after the prepare stage, or its preparation still running elsewhere (a worker thread). */
  readonly prepared: PreparedBatch<K> | Promise<PreparedBatch<K>>;
  /** An item's position for the answer ("records[3]", "row 17"). */
  readonly positionOf: (index: number) => string;
  /** An item back (for the rare dead letter of a conflict). */
  readonly itemOf: (index: number) => IntakeItem | undefined;
}

/**
 * What a file import needs to prepare its batches in a worker thread, and the intake's door for
 * such batches: `publish` takes the batch's place in the intake's order at once, and waits for its
 * preparation there, so batches are screened and sent in the order they were handed in whatever
 * order their preparations finish in.
 */
export interface IntakeOffload {
  readonly agency: AgencyDefinition;
  readonly secrets: IdentitySecrets;
  readonly topic: string;
  now(): number;
  writerSchema(): Promise<WriterSchemaText | null>;
  publish(batch: IntakeBatch): Promise<IntakeOutcome[]>;
}

export interface Intake {
  /** Validates, pseudonymises and publishes a batch received now; every item gets an outcome, in order. */
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

/** A batch's records in the wire format, or why they could not be encoded. */
interface Encoded {
  readonly records: { key: string; value: Buffer }[];
  readonly failure?: { readonly error: unknown };
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
 * this one intake, through one path (`submit`: `ingest` for items received now, `offload.publish`
 * for a batch prepared in a worker thread). Batches may overlap (a file import prepares its next
 * batch while the previous one waits for Kafka; pushes arrive while others are published); what must
 * stay sequential is kept so by two turns (services/platform's `createTurns`) taken in call order:
 *
 * 1. validation, pseudonymisation and hashing (prepare.ts): no shared state, run at once (a file
 *    import runs it, and the encoding, in a worker thread);
 * 2. the screen turn: the batch's preparation awaited, then the duplicate check: Redis (facts already
 *    published), then the facts of earlier batches still in flight, then earlier copies in the batch.
 *    So a fact sent twice is one fact even when its two copies are in batches that overlap. The turn
 *    is held until the batch's send has started, so a batch is screened while the one before it is
 *    sent, and the batches waiting for this turn are the intake's whole backlog: past
 *    `maxWaitingBatches` of them a batch is refused at once (OVERLOADED) and nothing of it is done;
 * 3. the send turn, taken at the end of the screen: each send after the one before was acknowledged,
 *    so one person's records reach the topic in the order they were sent, and nothing is published
 *    after a failed send of an earlier, overlapping batch (that batch fails with the same error, as if
 *    the calls had run one after the other). The facts and the dead letters of the batch go in one
 *    Kafka transaction, split into requests by bytes: both are published or neither is;
 * 4. after the acknowledgement, the facts are remembered in Redis (never before), and the batch is
 *    answered.
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
  const screenTurns = createTurns({
    maxWaiting: deps.maxWaitingBatches ?? defaultMaxWaitingBatches,
    waiting: `batches for the ${agency.id} intake`,
  });
  const sendTurns = createTurns();
  /** Sends taken and not started: the batches that fail with the send before them if it fails. */
  let sendsWaiting = 0;
  /** The failure of the last send, while a batch waits behind it. */
  let failedSend: { error: unknown } | undefined;

  const forget = (batch: BatchInFlight, eventIds: readonly string[]): void => {
    for (const eventId of eventIds) if (inFlight.get(eventId)?.batch === batch) inFlight.delete(eventId);
  };

  /** Step 2, run in the screen turn. */
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
    return { fresh, relied, withdrawals };
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

  /** The records of a screened batch in the wire format; never rejects (a failure fails the send). */
  const encode = async (fresh: readonly PreparedFact<K>[], withdrawals: readonly Withdrawal<K>[]): Promise<Encoded> => {
    const unencodable = fresh.find((item) => item.encodeError !== undefined);
    if (unencodable !== undefined) return { records: [], failure: { error: unencodable.encodeError } };
    try {
      const records = await Promise.all(
        fresh.map(async (item) => ({
          key: item.personKey,
          value: item.value ?? (await deps.codec.encode(item.record as TopicRecords[K])),
        })),
      );
      // In the same transaction as the newest version: both are on the topics, or neither.
      for (const withdrawal of withdrawals) records.push(await withdrawalRecord(withdrawal));
      return { records };
    } catch (error) {
      return { records: [], failure: { error } };
    }
  };

  /** Step 3, run in the send turn: the batch's facts and dead letters in one transaction. */
  const send = async (encoding: Promise<Encoded>, letters: readonly DeadLetterInput[]): Promise<void> => {
    const encoded = await encoding;
    // An earlier, overlapping batch was not published: nothing after it is, as if run one by one.
    let failure = encoded.failure ?? failedSend;
    if (failure === undefined) {
      try {
        const deadLetters = await deps.deadLetters.prepare(letters);
        await deps.publisher.publish([{ topic: deps.codec.topic, records: encoded.records }, deadLetters]);
      } catch (error) {
        failure = { error };
      }
    }
    // Nothing waiting behind this send: the next batch starts from a clean slate, not from an old failure.
    failedSend = sendsWaiting === 0 ? undefined : failure;
    if (failure !== undefined) throw failure.error;
  };

  /** The one path of a batch, whatever its channel: steps 2 to 4, then the answer. */
  const submit = async (batch: IntakeBatch<K>): Promise<IntakeOutcome[]> => {
    const { size, positionOf, itemOf } = batch;
    // A preparation that fails before the batch's turn comes is reported by the turn, not as unhandled.
    if (batch.prepared instanceof Promise) batch.prepared.catch(() => undefined);
    const outcomes: IntakeOutcome[] = new Array<IntakeOutcome>(size);
    const published = deferred<void>();
    const inFlightBatch: BatchInFlight = { published: published.promise };

    const { fresh, relied, sending } = await screenTurns.take(async () => {
      const prepared = await batch.prepared;
      for (const { index, problems } of prepared.rejected) outcomes[index] = { status: 'rejected', position: positionOf(index), problems };
      const letters = [...prepared.letters];
      const screened = await check(positionOf, itemOf, outcomes, prepared.facts, letters, inFlightBatch);
      // Encoded while the batch before is sent.
      const encoding = encode(screened.fresh, screened.withdrawals);
      const started = deferred<void>();
      sendsWaiting += 1;
      const sent = sendTurns.take(() => {
        sendsWaiting -= 1;
        started.resolve();
        return send(encoding, letters);
      });
      sent.catch(() => undefined);
      await started.promise;
      return { ...screened, sending: sent };
    });
    const eventIds = fresh.map((item) => item.eventId);
    try {
      await sending;
    } catch (error) {
      published.reject(error);
      forget(inFlightBatch, eventIds);
      throw error;
    }
    published.resolve();

    // Step 4: remembered only now that Kafka acknowledged them.
    try {
      await deps.seen.remember(fresh.map((item) => ({ eventId: item.eventId, contentHash: item.contentHash })));
      remembered.push({ batch: inFlightBatch, eventIds });
    } catch (error) {
      // Published but not remembered: a resend is published again and recognised downstream by its event id.
      forget(inFlightBatch, eventIds);
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
          publish: (batch) => submit(batch as IntakeBatch<K>),
        };

  return {
    ...(offload === undefined ? {} : { offload }),
    ingest(items, channel) {
      // Step 1, here on the calling thread: no shared state.
      return submit({
        prepared: prepareItems(agency, deps.secrets, items, channel, now()),
        size: items.length,
        positionOf: (index) => items[index]?.position ?? '',
        itemOf: (index) => items[index],
      });
    },
  };
}

/** An encoding failure reported by a worker thread, as the codec would have reported it. */
export function encodeFailure(topic: string, message: string): HubError {
  return new HubError('PROCESSING_FAILED', `cannot encode a record of ${topic}: ${message}`);
}
