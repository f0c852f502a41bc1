import type { Redis } from 'ioredis';
import type { QuarterlyWarning } from '../../schemas';
import type { HubProducer } from '../kafka';
import { HubError, type Logger } from '../platform';
import { computeYear, screenFacts, warningVerdict, type Policy, type WarningVerdict } from '../policy';
import { engineSettlements, type PolicyResolver } from '../rules';
import type { IdDirectory } from './id-directory';
import { periodBounds } from './periods';
import { personYearsOf, type PersonYear } from './person-years';
import {
  describeChanges,
  sameValues,
  stableId,
  valuesOf,
  warningRecord,
  warningSettlements,
  type SentWarning,
  type WarningValues,
} from './warning-record';

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

/** The join data of a warning, by its event id. */
export interface WarningIndexEntry {
  readonly personKey: string;
  readonly policyId: string;
  readonly period: string;
  readonly routedTo: readonly string[];
  readonly warned: boolean;
}

export interface RunDependencies {
  readonly redis: Redis;
  readonly topicPrefix: string;
  readonly namespace: string;
  readonly policies: PolicyResolver;
  readonly directory: IdDirectory;
  /** Absent in a dry run. */
  readonly producer?: HubProducer;
  readonly encode: (record: QuarterlyWarning) => Promise<Buffer>;
  readonly topic: string;
  readonly logger: Logger;
  readonly now?: () => number;
  /** For tests of a crash: called after a page is published and before it is recorded. */
  readonly afterPublish?: (page: number) => void;
}

export interface RunRow {
  readonly personKey: string;
  readonly action: 'NEW' | 'CORRECTION' | 'WITHDRAWAL' | 'UNCHANGED';
  readonly record: QuarterlyWarning;
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
    const hadSent = (await redis.exists(sentKey)) === 1;
    const seen = hadSent ? new Set<string>() : undefined;
    let page = 0;
    // One page is published while the next is computed; each page is recorded after its own send.
    let publishing: Promise<void> = Promise.resolve();
    for await (const persons of personYearsOf(redis, deps.topicPrefix, policy, deps.policies)) {
      summary.personYears += persons.length;
      for (const person of persons) seen?.add(person.personKey);
      const previous = hadSent
        ? await sentOf(
            redis,
            sentKey,
            persons.map((p) => p.personKey),
          )
        : new Map<string, SentWarning>();
      const decided = decide(persons, policy, period, summary, previous);
      await publishing;
      publishing = handle(deps, summary, decided, previous, sentKey, keys.index, options.dryRun, page, now);
      // Settled at once when the page publishes nothing; a failure surfaces at the next await.
      publishing.catch(() => undefined);
      page += 1;
    }
    await publishing;
    if (seen !== undefined) {
      // People warned before who have left the region-year altogether (every settlement reversed away).
      const previous = new Map<string, SentWarning>();
      for (const [personKey, raw] of Object.entries(await redis.hgetall(sentKey))) {
        if (!seen.has(personKey)) previous.set(personKey, JSON.parse(raw) as SentWarning);
      }
      const gone: Decision[] = [...previous.keys()].map((personKey) => ({
        personKey,
        verdict: noVerdict(policy, period),
        settlements: [],
        values: emptyValues,
      }));
      if (gone.length > 0) await handle(deps, summary, gone, previous, sentKey, keys.index, options.dryRun, page, now);
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
  const decided = decide(persons, policy, period, summary, previous).filter((d) => d.verdict.warn);
  await handle(deps, summary, decided, previous, sentKey, keys.index, false, 0, now);
  summary.finishedAt = now();
  return summary;
}

interface Decision {
  readonly personKey: string;
  readonly verdict: WarningVerdict;
  readonly settlements: ReturnType<typeof warningSettlements>;
  readonly values: WarningValues;
}

/** What was sent before for some people of a region-period, by person key (absent: nothing). */
async function sentOf(redis: Redis, sentKey: string, personKeys: readonly string[]): Promise<Map<string, SentWarning>> {
  const found = new Map<string, SentWarning>();
  if (personKeys.length === 0) return found;
  const raws = await redis.hmget(sentKey, ...personKeys);
  personKeys.forEach((key, i) => {
    const raw = raws[i];
    if (raw !== null && raw !== undefined) found.set(key, JSON.parse(raw) as SentWarning);
  });
  return found;
}

/**
 * True when a person cannot be warned for the period whatever the year's computation says, so it
 * need not be computed: no status at all (so no always-reported category, and no category whose
 * tiers could matter), and on the TOTAL basis the sum of total − basic over every settlement up to
 * the period's end is not above the threshold. The self-pay after the three tiers is that sum less
 * what critical illness and assistance paid, which is never negative (each settlement pays the
 * growth of a benefit to date that never falls), over a subset of those settlements (the window,
 * without the cancelled ones). A person the hub warned before is always computed: a withdrawal
 * may be due. In a population of whom a tenth are warned this skips most of the engine's work.
 */
export function cannotBeWarned(person: PersonYear, policy: Policy, windowTo: string): boolean {
  if (policy.warning.basis !== 'TOTAL' || person.statuses.length > 0) return false;
  let ceilingFen = 0;
  for (const settlement of person.settlements) {
    if (settlement.settledAt <= windowTo) ceilingFen += Math.max(0, settlement.totalFen - settlement.basicPaidFen);
  }
  return ceilingFen <= policy.warning.thresholdFen;
}

function decide(
  persons: readonly PersonYear[],
  policy: Policy,
  period: string,
  summary: RunSummary,
  previous: ReadonlyMap<string, SentWarning>,
): Decision[] {
  const windowTo = periodBounds(policy.warning.cadence, period).last;
  const decisions: Decision[] = [];
  for (const person of persons) {
    if (!previous.has(person.personKey) && cannotBeWarned(person, policy, windowTo)) continue;
    // As of the period's end: a settlement (or a reversal) settled after it is not yet known then.
    const asOf = person.settlements.filter((s) => s.settledAt <= windowTo);
    const byKey = new Map(person.settlements.map((s) => [s.key, s]));
    try {
      // A fact the rules service leaves out (a reversal that does not match its original) is left out here too.
      const year = computeYear(
        policy,
        screenFacts(policy, { insuredType: person.insuredType, statuses: person.statuses, settlements: engineSettlements(asOf) }).facts,
      );
      const verdict = warningVerdict(policy, { statuses: person.statuses }, year, period);
      const settlements = warningSettlements(verdict, year, (id) => {
        const stored = byKey.get(id);
        return { fixmedinsCode: stored?.fixmedinsCode ?? '', setlId: stored?.setlId ?? id };
      });
      // Warnings carry medical-cost information: a person in an always-reported category with no
      // settlement up to the period's end has none to report yet.
      if (settlements.length === 0)
        decisions.push({ personKey: person.personKey, verdict: noVerdict(policy, period), settlements, values: emptyValues });
      else decisions.push({ personKey: person.personKey, verdict, settlements, values: valuesOf(verdict, settlements) });
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      const name = typeof code === 'string' ? code : 'PROCESSING_FAILED';
      summary.problems[name] = (summary.problems[name] ?? 0) + 1;
    }
  }
  return decisions;
}

async function handle(
  deps: RunDependencies,
  summary: RunSummary,
  decisions: readonly Decision[],
  previous: ReadonlyMap<string, SentWarning>,
  sentKey: string,
  indexKey: string,
  dryRun: boolean,
  page: number,
  now: () => number,
): Promise<void> {
  const { redis } = deps;
  // `sent` is what the person-period's record of what was sent becomes; a withdrawal from a dropped
  // agency (below) leaves it to the correction published beside it (`replacesSent` false).
  const out: {
    decision: Decision;
    record: Omit<Parameters<typeof warningRecord>[0], 'idCipher'>;
    action: RunRow['action'];
    sent: SentWarning;
    replacesSent: boolean;
  }[] = [];
  decisions.forEach((decision) => {
    const before = previous.get(decision.personKey);
    const warned = decision.verdict.warn;
    if (warned) summary.warned += 1;
    if (before === undefined && !warned) return;
    if (before !== undefined && before.warned === warned && (!warned || sameValues(before.values, decision.values))) {
      summary.unchanged += 1;
      if (dryRun && warned)
        out.push({
          decision,
          action: 'UNCHANGED',
          sent: before,
          replacesSent: false,
          record: recordOptions(decision, before, warned, null, [], now),
        });
      return;
    }
    if (before !== undefined && !before.warned && !warned) return;
    const values = decision.values;
    const action: RunRow['action'] = before === undefined ? 'NEW' : warned ? 'CORRECTION' : 'WITHDRAWAL';
    const changes =
      before === undefined
        ? summary.rerun
          ? ['warned on a rerun of a period already closed']
          : []
        : describeChanges(before, values, warned);
    const eventId =
      before === undefined
        ? stableId('warn', [summary.policyId, summary.period, decision.personKey])
        : stableId('warn', [summary.policyId, summary.period, decision.personKey, JSON.stringify(values), warned ? 1 : 0, before.eventId]);
    // Routing that narrows (a category ended, a region's routing changed): an agency that had the
    // warning and no longer receives the person is told so by a withdrawal of its own, published
    // before the correction the others receive; both name the warning they replace.
    const dropped =
      before === undefined || !before.warned || !warned ? [] : before.values.routedTo.filter((agency) => !values.routedTo.includes(agency));
    if (before !== undefined && dropped.length > 0) {
      const withdrawalId = stableId('warn', [
        summary.policyId,
        summary.period,
        decision.personKey,
        'withdrawn',
        dropped.join(','),
        before.eventId,
      ]);
      const record = recordOptions(
        decision,
        before,
        false,
        withdrawalId,
        [`no longer routed to ${dropped.join(', ')}: the person is now followed up by ${values.routedTo.join(', ')}`, ...changes],
        now,
      );
      out.push({
        decision,
        action: 'WITHDRAWAL',
        sent: { eventId: withdrawalId, warned: false, values },
        replacesSent: false,
        record: { ...record, verdict: { ...record.verdict, routedTo: dropped as WarningVerdict['routedTo'] } },
      });
    }
    out.push({
      decision,
      action,
      sent: { eventId, warned, values },
      replacesSent: true,
      record: recordOptions(decision, before, warned, eventId, changes, now),
    });
  });
  if (out.length === 0) return;

  const ciphers = dryRun ? new Map<string, string>() : await deps.directory.lookup(out.map((o) => o.decision.personKey));
  const records: QuarterlyWarning[] = [];
  for (const item of out) {
    const idCipher = ciphers.get(item.decision.personKey);
    if (!dryRun && idCipher === undefined) {
      throw new HubError(
        'PROCESSING_FAILED',
        `no sealed ID number is known for person ${item.decision.personKey}: the id directory has not seen the person's records`,
      );
    }
    const record = warningRecord({ ...item.record, idCipher: idCipher ?? '' });
    if (dryRun) summary.rows.push({ personKey: item.decision.personKey, action: item.action, record });
    if (item.action === 'UNCHANGED') continue;
    records.push(record);
    if (item.action === 'CORRECTION') summary.corrections += 1;
    if (item.action === 'WITHDRAWAL') summary.withdrawals += 1;
  }
  if (dryRun || records.length === 0) return;
  const producer = deps.producer;
  if (producer === undefined) throw new HubError('PROCESSING_FAILED', 'a warning run that publishes needs a producer');
  const encoded = await Promise.all(records.map(async (r) => ({ key: r.personKey, value: await deps.encode(r) })));
  await producer.send(deps.topic, encoded);
  deps.afterPublish?.(page);
  const sentPairs: string[] = [];
  const indexPairs: string[] = [];
  for (const item of out) {
    if (item.action === 'UNCHANGED') continue;
    if (item.replacesSent) sentPairs.push(item.decision.personKey, JSON.stringify(item.sent));
    const entry: WarningIndexEntry = {
      personKey: item.decision.personKey,
      policyId: summary.policyId,
      period: summary.period,
      routedTo: item.record.verdict.routedTo,
      warned: item.sent.warned,
    };
    indexPairs.push(item.sent.eventId, JSON.stringify(entry));
  }
  await redis
    .multi()
    .hset(sentKey, ...sentPairs)
    .hset(indexKey, ...indexPairs)
    .exec();
  summary.published += records.length;
}

const emptyValues: WarningValues = {
  reasons: [],
  categories: [],
  routedTo: [],
  selfPayFen: 0,
  medfeeFen: 0,
  basicFen: 0,
  criticalIllnessFen: 0,
  assistanceFen: 0,
  settlements: [],
};

/** The verdict on a person who has no settlement of the region-year any more: nothing to warn about. */
function noVerdict(policy: Policy, period: string): WarningVerdict {
  const bounds = periodBounds(policy.warning.cadence, period);
  return {
    policyId: policy.id,
    period,
    windowFrom: policy.benefitYear.start,
    windowTo: bounds.last < policy.benefitYear.end ? bounds.last : policy.benefitYear.end,
    warn: false,
    reasons: [],
    categories: [],
    basis: policy.warning.basis,
    selfPayFen: 0,
    thresholdFen: policy.warning.thresholdFen,
    medfeeFen: 0,
    basicFen: 0,
    criticalIllnessFen: 0,
    assistanceFen: 0,
    routedTo: [],
  };
}

function recordOptions(
  decision: Decision,
  before: SentWarning | undefined,
  warned: boolean,
  eventId: string | null,
  changes: string[],
  now: () => number,
) {
  const { verdict } = decision;
  // A withdrawal goes to the agencies that had the warning it withdraws.
  const routedTo = warned ? verdict.routedTo : ((before?.values.routedTo ?? []) as WarningVerdict['routedTo']);
  return {
    eventId: eventId ?? before?.eventId ?? '',
    personKey: decision.personKey,
    verdict: { ...verdict, routedTo },
    settlements: decision.settlements,
    warned,
    supersedes: before === undefined || eventId === null ? null : before.eventId,
    changes,
    now: now(),
  };
}
