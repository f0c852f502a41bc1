import type { Redis } from 'ioredis';
import type { InsuredType, Policy, Status } from '../policy';
import { HubError } from '../platform';
import {
  dayScore,
  decodePerson,
  engineStatuses,
  layoutKey,
  partitionKeys,
  settlementsByPolicy,
  stateLayout,
  stateNamespace,
  type StoredSettlement,
} from '../rules';
import type { PolicyResolver } from '../rules';

/**
 * Reads person-years out of the rules service's state in Redis, through what services/rules
 * exports (the key namespace and the person value's decoding), so that a change of the value's
 * layout there is picked up here. Only the person keys (`…{p<n>}:person:<personKey>`) and the
 * warning watch (`…{p<n>}:watch:<policyId>`) are read: the outbox and applied offsets are the rules
 * service's business.
 */
export interface PersonYear {
  readonly personKey: string;
  readonly policy: Policy;
  readonly insuredType: InsuredType;
  readonly statuses: Status[];
  /** The person's settlements of this policy's year (reversals with their originals), all dates. */
  readonly settlements: StoredSettlement[];
}

/** How many people one page reads from Redis and hands on: a bounded slice of memory (a few MiB). */
const pageSize = 5000;

/** The people a warning run of a policy reads, found through the rules service's warning watch. */
export interface WatchedPeople {
  /** People of the policy's year: everyone in the watch. */
  readonly personYears: number;
  /** The state keys of the people to compute: those who could be warned by the window's end, and those warned before. */
  readonly stateKeys: readonly string[];
  /** People warned before who are in no partition's watch: they have left the region-year. */
  readonly gone: readonly string[];
}

/**
 * The people of one policy that a run for a window ending on `windowTo` must compute (see
 * services/rules warning-watch.ts): those whose watch score is not after the window's end, and
 * everyone in `warnedBefore` (a withdrawal may be due), wherever their score is.
 */
export async function watchedPeople(
  redis: Redis,
  topicPrefix: string,
  policyId: string,
  windowTo: string,
  partitions: number,
  warnedBefore: readonly string[],
): Promise<WatchedPeople> {
  const namespace = stateNamespace(topicPrefix);
  // State of an older layout has no watch: reading it would find nobody and close the period empty.
  const layout = await redis.get(layoutKey(namespace));
  if (layout !== null && layout !== stateLayout) {
    throw new HubError(
      'STATE_LAYOUT_CHANGED',
      `the rules state under ${namespace} is of layout ${layout}; a warning run reads layout ${stateLayout} (its warning watch): ` +
        "run 'hub rules --rebuild' first",
    );
  }
  const until = dayScore(windowTo);
  let personYears = 0;
  const stateKeys: string[] = [];
  const found = new Set<string>();
  for (let n = 0; n < partitions; n += 1) {
    const keys = partitionKeys(namespace, n);
    const watch = keys.watch(policyId);
    const [size, candidates] = await Promise.all([redis.zcard(watch), redis.zrangebyscore(watch, '-inf', until)]);
    personYears += size;
    for (const personKey of candidates) {
      stateKeys.push(keys.person(personKey));
      found.add(personKey);
    }
    for (let from = 0; from < warnedBefore.length; from += pageSize) {
      const slice = warnedBefore.slice(from, from + pageSize);
      const scores = await redis.zmscore(watch, ...slice);
      slice.forEach((personKey, i) => {
        if (scores[i] === null || found.has(personKey)) return;
        stateKeys.push(keys.person(personKey));
        found.add(personKey);
      });
    }
  }
  return { personYears, stateKeys, gone: warnedBefore.filter((personKey) => !found.has(personKey)) };
}

/**
 * The person-years of some people of one policy in the state, page by page, decoded whole. The
 * next page is read from Redis while the caller works on this one.
 */
export async function* personYearsOf(
  redis: Redis,
  stateKeys: readonly string[],
  policy: Policy,
  policies: PolicyResolver,
): AsyncGenerator<PersonYear[]> {
  const read = async (from: number): Promise<(Buffer | null)[]> => redis.mgetBuffer(stateKeys.slice(from, from + pageSize));
  let pending: Promise<(Buffer | null)[]> | undefined = stateKeys.length === 0 ? undefined : read(0);
  for (let from = 0; pending !== undefined; from += pageSize) {
    const values = await pending;
    pending = from + pageSize < stateKeys.length ? read(from + pageSize) : undefined;
    const page = toPersonYears(stateKeys.slice(from, from + pageSize), values, policy, policies);
    if (page.length > 0) yield page;
  }
}

/** The person-years of a page of person state keys and their values (null: no such person). */
export function toPersonYears(
  keys: readonly string[],
  values: readonly (Buffer | null)[],
  policy: Policy,
  policies: PolicyResolver,
): PersonYear[] {
  const page: PersonYear[] = [];
  keys.forEach((key, index) => {
    const value = values[index] ?? null;
    if (value === null) return;
    const state = decodePerson(value);
    const settlements = [...state.facts.values()].filter((f): f is StoredSettlement => f.kind === 'settlement');
    const mine = settlementsByPolicy(settlements, policies).get(policy.id)?.settlements ?? [];
    if (mine.length === 0) return;
    // The insured type of the latest settlement, as the rules service takes it.
    const latest = mine.reduce((a, b) => (b.setlTime > a.setlTime ? b : a));
    const personKey = key.slice(key.lastIndexOf(':person:') + ':person:'.length);
    page.push({ personKey, policy, insuredType: latest.insuredType, statuses: engineStatuses(state.facts.values()), settlements: mine });
  });
  return page;
}

/**
 * Named people's years of one policy, for the immediate alert. The state key carries the input
 * partition, which a person key alone does not tell: one GET per partition number finds it.
 */
export async function personYearsFor(
  redis: Redis,
  topicPrefix: string,
  policy: Policy,
  policies: PolicyResolver,
  personKeys: readonly string[],
  partitions: number,
): Promise<PersonYear[]> {
  const keys: string[] = [];
  for (const personKey of personKeys)
    for (let n = 0; n < partitions; n += 1) keys.push(`${stateNamespace(topicPrefix)}{p${n}}:person:${personKey}`);
  const pipeline = redis.pipeline();
  for (const key of keys) pipeline.getBuffer(key);
  const replies = (await pipeline.exec()) ?? [];
  const values = replies.map(([error, value]) => {
    if (error !== null) throw error;
    return (value ?? null) as Buffer | null;
  });
  return toPersonYears(keys, values, policy, policies);
}
