import type { Redis } from 'ioredis';
import type { InsuredType, Policy, Status } from '../policy';
import { decodePerson, engineStatuses, stateNamespace, type StoredSettlement } from '../rules';
import type { PolicyResolver } from '../rules';

/**
 * Reads person-years out of the rules service's state in Redis, through what services/rules
 * exports (the key namespace and the person value's decoding), so that a change of the value's
 * layout there is picked up here. Only the person keys (`…{p<n>}:person:<personKey>`) are read:
 * the outbox and applied offsets are the rules service's business.
 */
export interface PersonYear {
  readonly personKey: string;
  readonly policy: Policy;
  readonly insuredType: InsuredType;
  readonly statuses: Status[];
  /** The person's settlements of this policy's year (reversals with their originals), all dates. */
  readonly settlements: StoredSettlement[];
}

/** How many keys one SCAN step asks for: a bounded slice of memory per page (a few MiB). */
const pageSize = 5000;

/**
 * Every person-year of one policy (a region's benefit year) in the state, page by page. A person
 * whose facts fall under the policy by division and date (as the rules service decides it: the
 * original settlement's division on its date) belongs to it; the person's statuses come whole.
 */
export async function* personYearsOf(
  redis: Redis,
  topicPrefix: string,
  policy: Policy,
  policies: PolicyResolver,
): AsyncGenerator<PersonYear[]> {
  const match = `${stateNamespace(topicPrefix)}{p*}:person:*`;
  // The next page is read from Redis while the caller works on this one.
  interface Page {
    readonly next: string;
    readonly keys: string[];
    readonly values: (Buffer | null)[];
  }
  const read = async (cursor: string): Promise<Page> => {
    const [next, keys] = await redis.scan(cursor, 'MATCH', match, 'COUNT', pageSize);
    return { next, keys, values: keys.length === 0 ? [] : await redis.mgetBuffer(keys) };
  };
  let pending: Promise<Page> | undefined = read('0');
  while (pending !== undefined) {
    const current: Page = await pending;
    const { keys, values } = current;
    pending = current.next === '0' ? undefined : read(current.next);
    if (keys.length === 0) continue;
    const page = toPersonYears(keys, values, policy, policies);
    if (page.length > 0) yield page;
  }
}

/** The person-years of a page of person keys and their values (null: no such person). */
function toPersonYears(
  keys: readonly string[],
  values: readonly (Buffer | null)[],
  policy: Policy,
  policies: PolicyResolver,
): PersonYear[] {
  const page: PersonYear[] = [];
  keys.forEach((key, index) => {
    const personKey = key.slice(key.lastIndexOf(':person:') + ':person:'.length);
    const value = values[index] ?? null;
    if (value === null) return;
    const state = decodePerson(value);
    const settlements = [...state.facts.values()].filter((f): f is StoredSettlement => f.kind === 'settlement');
    const originals = new Map(settlements.filter((s) => s.reversesKey === null).map((s) => [s.key, s]));
    const mine = settlements.filter((s) => {
      const anchor = s.reversesKey === null ? s : originals.get(s.reversesKey);
      return anchor !== undefined && policies.policyFor(anchor.admdvs, anchor.settledAt)?.id === policy.id;
    });
    if (mine.length === 0) return;
    // The insured type of the latest settlement, as the rules service takes it.
    const latest = mine.reduce((a, b) => (b.setlTime > a.setlTime ? b : a));
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
