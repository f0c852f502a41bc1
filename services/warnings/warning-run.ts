import type { Redis } from 'ioredis';
import type { QuarterlyWarning } from '../../schemas';
import type { HubProducer } from '../kafka';
import { HubError, type Logger } from '../platform';
import type { Policy } from '../policy';
import type { PolicyResolver } from '../rules';
import type { IdDirectory } from './id-directory';
import type { WarningWorkers } from './warning-workers';
import { periodBounds } from './periods';
import { personYearsOf, watchedPeople, type PersonYear } from './person-years';
import {
  computePage,
  emptyCounts,
  emptyValues,
  noVerdict,
  preparePage,
  sentOf,
  decide,
  type Decision,
  type PageContext,
  type PageIo,
  type PreparedPage,
  type RunRow,
} from './warning-page';

/**
 * The warning run of one region (policy) and period (004 四(二)): every person-year of the policy
 * is computed by the engine as of the period's end — settlements settled up to its last day,
 * every status known now (a back-dated 低保 certification counts) — and judged by warningVerdict.
 *
 * One `warnings.quarterly` record per warned person-period. What was sent is kept per
 * region-period in Redis (`sent` hash: person key → event id and values), so a rerun
 * publishes only what changed, as a correction that names its predecessor and says what changed,
 * and an unchanged person nothing. A person no longer warned gets a withdrawal (warned false).
 *
 * Pages are published and then recorded; a crash between the two republishes that page with the
 * same event ids (ids derive from the person, period and values), which delivery recognises.
 */
export interface RunKeys {
  sent(policyId: string, period: string): string;
  done(policyId: string, period: string): string;
  lock(policyId: string, period: string): string;
  /** Hash: warning event id → its join data (person key, period, routed agencies), for receipts. */
  readonly index: string;
}

export const runKeys = (namespace: string): RunKeys => ({
  sent: (policyId, period) => `${namespace}:sent:${policyId}:${period}`,
  done: (policyId, period) => `${namespace}:done:${policyId}:${period}`,
  lock: (policyId, period) => `${namespace}:lock:${policyId}:${period}`,
  index: `${namespace}:index`,
});

export interface RunDependencies {
  readonly redis: Redis;
  readonly topicPrefix: string;
  readonly namespace: string;
  readonly policies: PolicyResolver;
  /** How many input partitions the rules state is kept under (its `{p<n>}` keys). */
  readonly partitions: number;
  readonly directory: IdDirectory;
  /** Absent in a dry run. */
  readonly producer?: HubProducer;
  readonly encode: (record: QuarterlyWarning) => Promise<Buffer>;
  readonly topic: string;
  readonly logger: Logger;
  readonly now?: () => number;
  /** Worker threads that compute the pages of a run that publishes; absent: this thread computes them. */
  readonly workers?: WarningWorkers;
  /** For tests of a crash: called after a page is published and before it is recorded. */
  readonly afterPublish?: (page: number) => void;
}

export interface RunSummary {
  readonly policyId: string;
  readonly period: string;
  readonly dryRun: boolean;
  /** The period had been run before: every change is a correction. */
  readonly rerun: boolean;
  personYears: number;
  warned: number;
  published: number;
  corrections: number;
  withdrawals: number;
  unchanged: number;
  /** Person-years the engine could not compute, by error code (e.g. a policy that covers residents only). */
  readonly problems: Record<string, number>;
  /** In a dry run, what would be sent. */
  readonly rows: RunRow[];
  readonly startedAt: number;
  finishedAt: number;
}

const lockTtlMs = 30_000;

/** Runs one region-period. `dryRun` computes and returns the rows without publishing or recording. */
export async function runWarnings(
  deps: RunDependencies,
  policy: Policy,
  period: string,
  options: { dryRun: boolean },
): Promise<RunSummary> {
  const bounds = periodBounds(policy.warning.cadence, period);
  if (bounds.last < policy.benefitYear.start || bounds.first > policy.benefitYear.end) {
    throw new HubError(
      'USAGE',
      `${period} is outside the benefit year of ${policy.id} (${policy.benefitYear.start} to ${policy.benefitYear.end})`,
    );
  }
  const now = deps.now ?? Date.now;
  const keys = runKeys(deps.namespace);
  const { redis } = deps;
  const sentKey = keys.sent(policy.id, period);
  const lockKey = keys.lock(policy.id, period);
  const token = `${process.pid}-${Math.random().toString(36).slice(2)}`;
  if (!options.dryRun) {
    if ((await redis.set(lockKey, token, 'PX', lockTtlMs, 'NX')) !== 'OK') {
      throw new HubError('UNAVAILABLE', `a warning run of ${policy.id} ${period} is in progress elsewhere; try again when it ends`);
    }
  }
  const renew = options.dryRun
    ? undefined
    : setInterval(() => {
        void redis.pexpire(lockKey, lockTtlMs);
      }, lockTtlMs / 3);
  renew?.unref();
  const summary: RunSummary = {
    policyId: policy.id,
    period,
    dryRun: options.dryRun,
    rerun: (await redis.exists(keys.done(policy.id, period))) === 1,
    personYears: 0,
    warned: 0,
    published: 0,
    corrections: 0,
    withdrawals: 0,
    unchanged: 0,
    problems: {},
    rows: [],
    startedAt: now(),
    finishedAt: 0,
  };
  try {
    // Every fact known at the run: identities of everyone the topics named so far.
    if (!options.dryRun) await deps.directory.caughtUp();
    const windowTo = periodBounds(policy.warning.cadence, period).last;
    const warnedBefore = await redis.hkeys(sentKey);
    const people = await watchedPeople(redis, deps.topicPrefix, policy.id, windowTo, deps.partitions, warnedBefore);
    summary.personYears = people.personYears;
    const context: PageContext = { policy, period, rerun: summary.rerun, dryRun: options.dryRun, now: now() };
    const io = pageIo(deps, sentKey);
    const pages =
      deps.workers === undefined || options.dryRun
        ? pagesHere(io, context, personYearsOf(redis, people.stateKeys, policy, deps.policies))
        : deps.workers.pages({ policyId: policy.id, period, rerun: summary.rerun, now: context.now, sentKey }, people.stateKeys);
    // Pages come in order; one is published while the next ones are computed, and each is recorded
    // after its own send.
    let page = 0;
    let publishing: Promise<void> = Promise.resolve();
    for await (const prepared of pages) {
      await publishing;
      publishing = publishPage(deps, summary, prepared, sentKey, keys.index, page);
      // Settled at once when the page publishes nothing; a failure surfaces at the next await.
      publishing.catch(() => undefined);
      page += 1;
    }
    await publishing;
    if (people.gone.length > 0) {
      // People warned before who have left the region-year altogether.
      const previous = await sentOf(redis, sentKey, people.gone);
      const gone: Decision[] = [...previous.keys()].map((personKey) => ({
        personKey,
        verdict: noVerdict(policy, period),
        settlements: [],
        values: emptyValues,
      }));
      await publishPage(deps, summary, await preparePage(io, context, gone, previous), sentKey, keys.index, page);
    }
    summary.finishedAt = now();
    if (!options.dryRun) {
      const { rows: _rows, ...record } = summary;
      await redis.set(keys.done(policy.id, period), JSON.stringify(record));
    }
    deps.logger.info({ ...summary, rows: summary.rows.length }, 'warning run finished');
    return summary;
  } finally {
    if (renew !== undefined) clearInterval(renew);
    if (!options.dryRun && (await redis.get(lockKey)) === token) await redis.del(lockKey);
  }
}

/**
 * The immediate alert: the verdict of some people for an open period, published at once when it
 * warns (or corrects what was sent). It shares the period's record of what was sent with the
 * period's run, so the run at the period's end publishes nothing for them if their figures did not
 * change, and a correction if they did. It takes no lock and sets no done marker.
 */
export async function warnPersons(
  deps: RunDependencies,
  policy: Policy,
  period: string,
  persons: readonly PersonYear[],
): Promise<RunSummary> {
  const now = deps.now ?? Date.now;
  const keys = runKeys(deps.namespace);
  const summary: RunSummary = {
    policyId: policy.id,
    period,
    dryRun: false,
    rerun: false,
    personYears: persons.length,
    warned: 0,
    published: 0,
    corrections: 0,
    withdrawals: 0,
    unchanged: 0,
    problems: {},
    rows: [],
    startedAt: now(),
    finishedAt: 0,
  };
  await deps.directory.caughtUp();
  const sentKey = keys.sent(policy.id, period);
  const previous = await sentOf(
    deps.redis,
    sentKey,
    persons.map((p) => p.personKey),
  );
  // Only warnings: a person not (or no longer) over the line waits for the period's run.
  const counts = emptyCounts();
  const decided = decide(persons, policy, period, counts, previous).filter((d) => d.verdict.warn);
  const context: PageContext = { policy, period, rerun: false, dryRun: false, now: now() };
  await publishPage(deps, summary, await preparePage(pageIo(deps, sentKey), context, decided, previous, counts), sentKey, keys.index, 0);
  summary.finishedAt = now();
  return summary;
}

function pageIo(deps: RunDependencies, sentKey: string): PageIo {
  return { redis: deps.redis, sentKey, lookup: (personKeys) => deps.directory.lookup(personKeys), encode: deps.encode };
}

/** The pages of a run computed on this thread, one at a time as they are asked for. */
async function* pagesHere(io: PageIo, context: PageContext, persons: AsyncIterable<PersonYear[]>): AsyncGenerator<PreparedPage> {
  for await (const page of persons) yield await computePage(io, context, page);
}

/** Adds a page's counts to the summary, and publishes and records what it prepared. */
async function publishPage(
  deps: RunDependencies,
  summary: RunSummary,
  prepared: PreparedPage,
  sentKey: string,
  indexKey: string,
  page: number,
): Promise<void> {
  const { counts } = prepared;
  summary.warned += counts.warned;
  summary.corrections += counts.corrections;
  summary.withdrawals += counts.withdrawals;
  summary.unchanged += counts.unchanged;
  for (const [code, n] of Object.entries(counts.problems)) summary.problems[code] = (summary.problems[code] ?? 0) + n;
  summary.rows.push(...prepared.rows);
  if (summary.dryRun || prepared.messages.length === 0) return;
  const producer = deps.producer;
  if (producer === undefined) throw new HubError('PROCESSING_FAILED', 'a warning run that publishes needs a producer');
  await producer.send(deps.topic, prepared.messages);
  deps.afterPublish?.(page);
  const multi = deps.redis.multi();
  if (prepared.sentPairs.length > 0) multi.hset(sentKey, ...prepared.sentPairs);
  if (prepared.indexPairs.length > 0) multi.hset(indexKey, ...prepared.indexPairs);
  await multi.exec();
  summary.published += prepared.messages.length;
}
