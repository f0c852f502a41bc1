import type { Redis } from 'ioredis';
import type { QuarterlyWarning } from '../../schemas';
import { HubError } from '../platform';
import { computeYear, screenFacts, warningVerdict, type Policy, type WarningVerdict } from '../policy';
import { engineSettlements, type StoredSettlement } from '../rules';
import { periodBounds } from './periods';
import type { PersonYear } from './person-years';
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
 * One page of a warning run: a slice of the people of a region-year, judged and turned into the
 * records to publish, without publishing anything. The same on the run's own thread and on its
 * worker threads (warning-workers.ts): what it reads (what was sent before, the sealed ID numbers)
 * and how it encodes come in as PageIo.
 */
export interface PageContext {
  readonly policy: Policy;
  readonly period: string;
  /** The period had been run before: every change is a correction. */
  readonly rerun: boolean;
  readonly dryRun: boolean;
  /** When the page is computed: each record's recordedAt. */
  readonly now: number;
}

export interface PageIo {
  readonly redis: Redis;
  /** The region-period's record of what was sent (runKeys().sent). */
  readonly sentKey: string;
  /** Sealed ID numbers by person key (the id directory). */
  lookup(personKeys: readonly string[]): Promise<Map<string, string>>;
  encode(record: QuarterlyWarning): Promise<Buffer>;
}

/** What a rerun (or a dry run) shows per person. */
export interface RunRow {
  readonly personKey: string;
  readonly action: 'NEW' | 'CORRECTION' | 'WITHDRAWAL' | 'UNCHANGED';
  readonly record: QuarterlyWarning;
}

/** The join data of a warning, by its event id. */
export interface WarningIndexEntry {
  readonly personKey: string;
  readonly policyId: string;
  readonly period: string;
  readonly routedTo: readonly string[];
  readonly warned: boolean;
}

export interface PageCounts {
  warned: number;
  corrections: number;
  withdrawals: number;
  unchanged: number;
  /** Person-years the engine could not compute, by error code. */
  readonly problems: Record<string, number>;
}

export const emptyCounts = (): PageCounts => ({ warned: 0, corrections: 0, withdrawals: 0, unchanged: 0, problems: {} });

export interface PreparedPage {
  /** The encoded records, keyed by person key, in order. */
  readonly messages: { key: string; value: Buffer }[];
  /** `sent` hash fields and values that record the page once published. */
  readonly sentPairs: string[];
  /** `index` hash fields and values (event id → WarningIndexEntry) likewise. */
  readonly indexPairs: string[];
  readonly counts: PageCounts;
  /** In a dry run, what would be sent. */
  readonly rows: RunRow[];
}

export interface Decision {
  readonly personKey: string;
  readonly verdict: WarningVerdict;
  readonly settlements: ReturnType<typeof warningSettlements>;
  readonly values: WarningValues;
}

/** Judges a page of people and prepares what it publishes (decide, then preparePage). */
export async function computePage(io: PageIo, context: PageContext, persons: readonly PersonYear[]): Promise<PreparedPage> {
  const previous = await sentOf(
    io.redis,
    io.sentKey,
    persons.map((p) => p.personKey),
  );
  const counts = emptyCounts();
  return preparePage(io, context, decide(persons, context.policy, context.period, counts, previous), previous, counts);
}

/** What was sent before for some people of a region-period, by person key (absent: nothing). */
export async function sentOf(redis: Redis, sentKey: string, personKeys: readonly string[]): Promise<Map<string, SentWarning>> {
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
export function cannotBeWarned(
  person: {
    readonly statuses: readonly unknown[];
    readonly settlements: readonly Pick<StoredSettlement, 'settledAt' | 'totalFen' | 'basicPaidFen'>[];
  },
  policy: Policy,
  windowTo: string,
): boolean {
  if (policy.warning.basis !== 'TOTAL' || person.statuses.length > 0) return false;
  let ceilingFen = 0;
  for (const settlement of person.settlements) {
    if (settlement.settledAt <= windowTo) ceilingFen += Math.max(0, settlement.totalFen - settlement.basicPaidFen);
  }
  return ceilingFen <= policy.warning.thresholdFen;
}

/** Each person's verdict as of the period's end; a person who cannot be warned and was not warned before is left out. */
export function decide(
  persons: readonly PersonYear[],
  policy: Policy,
  period: string,
  counts: PageCounts,
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
      counts.problems[name] = (counts.problems[name] ?? 0) + 1;
    }
  }
  return decisions;
}

/**
 * What a page of decisions publishes and records: the records (encoded), the `sent` and `index`
 * entries that record them once published, the counts, and in a dry run the rows. Nothing is
 * written: the caller publishes the pages in order (warning-run.ts).
 */
export async function preparePage(
  io: PageIo,
  context: PageContext,
  decisions: readonly Decision[],
  previous: ReadonlyMap<string, SentWarning>,
  counts: PageCounts = emptyCounts(),
): Promise<PreparedPage> {
  const { dryRun } = context;
  const now = () => context.now;
  const summary = { policyId: context.policy.id, period: context.period, rerun: context.rerun };
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
    if (warned) counts.warned += 1;
    if (before === undefined && !warned) return;
    if (before !== undefined && before.warned === warned && (!warned || sameValues(before.values, decision.values))) {
      counts.unchanged += 1;
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
  const page: PreparedPage = { messages: [], sentPairs: [], indexPairs: [], counts, rows: [] };
  if (out.length === 0) return page;

  const ciphers = dryRun ? new Map<string, string>() : await io.lookup(out.map((o) => o.decision.personKey));
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
    if (dryRun) page.rows.push({ personKey: item.decision.personKey, action: item.action, record });
    if (item.action === 'UNCHANGED') continue;
    records.push(record);
    if (item.action === 'CORRECTION') counts.corrections += 1;
    if (item.action === 'WITHDRAWAL') counts.withdrawals += 1;
  }
  if (dryRun || records.length === 0) return page;
  for (const record of records) page.messages.push({ key: record.personKey, value: await io.encode(record) });
  for (const item of out) {
    if (item.action === 'UNCHANGED') continue;
    if (item.replacesSent) page.sentPairs.push(item.decision.personKey, JSON.stringify(item.sent));
    const entry: WarningIndexEntry = {
      personKey: item.decision.personKey,
      policyId: summary.policyId,
      period: summary.period,
      routedTo: item.record.verdict.routedTo,
      warned: item.sent.warned,
    };
    page.indexPairs.push(item.sent.eventId, JSON.stringify(entry));
  }
  return page;
}

export const emptyValues: WarningValues = {
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
export function noVerdict(policy: Policy, period: string): WarningVerdict {
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
