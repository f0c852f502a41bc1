import type { BenefitAdjustment, SelfPayYearToDate, SubsidyCorrection } from '../../../schemas';
import {
  computeSubsidy,
  computeYear,
  resolvePopulation,
  screenContributions,
  screenFacts,
  type InsuredType,
  type Policy,
  type SettlementResult,
  type Status,
} from '../../policy';
import {
  engineContributions,
  engineSettlements,
  engineStatuses,
  screenSettlements,
  wireNameOf,
  type StoredContribution,
  type StoredFact,
  type StoredSettlement,
} from './person-facts';
import {
  adjustmentValues,
  sameValues,
  selfPayValues,
  storedValues,
  subsidyValues,
  type EmittedValues,
  type SlotField,
} from './slot-values';
import { settlementsByPolicy } from './settlement-policies';
import { sha256Hex } from './sha256';

/**
 * From a person's facts to the outputs the hub owes: per settlement the benefit adjustment, per
 * contribution record the subsidy correction, per benefit year the self-pay to date. Each output
 * has a slot; an output is published when its slot's values change, and its id is derived from the
 * person, the slot, the values and the output it supersedes, so a replay derives the same ids.
 */
export type { SlotField } from './slot-values';
export { textDigest } from './slot-values';

export interface EmittedSlot {
  readonly eventId: string;
  /** The values the slot was last published with. */
  readonly values: EmittedValues;
}

export type RulesOutput =
  | { readonly topic: 'benefitAdjustments'; readonly record: BenefitAdjustment }
  | { readonly topic: 'subsidyCorrections'; readonly record: SubsidyCorrection }
  | { readonly topic: 'selfPay'; readonly record: SelfPayYearToDate };

export interface PersonYearProblem {
  readonly policyId: string;
  readonly code: string;
  readonly message: string;
  /** The fact to blame, when one is: it is left out and the rest of the person-year computed. */
  readonly fact?: { readonly eventId: string; readonly field: string };
}

export interface Derivation {
  readonly outputs: RulesOutput[];
  readonly emitted: Map<SlotField, EmittedSlot>;
  readonly problems: PersonYearProblem[];
}

/** What caused this recomputation: the records of the batch that changed the person's facts. */
export interface Cause {
  readonly eventId: string;
  readonly occurredAt: number;
  readonly description: string;
}

export interface PolicyResolver {
  /** The policy of a division (6-digit code) on a date; undefined when the hub has none. */
  policyFor(admdvs: string, date: string): Policy | undefined;
}

const yuan = (fen: number): string => `${(fen / 100).toFixed(2)} yuan`;

function stableId(prefix: string, parts: readonly (string | number | null)[]): string {
  return `${prefix}-${sha256Hex(parts.map(String).join('\u0000')).slice(0, 32)}`;
}

interface PersonYear {
  policy: Policy;
  settlements: StoredSettlement[];
  contributions: StoredContribution[];
}

/**
 * Groups settlements and contributions by the policy (region and benefit year) they fall under.
 * `settlements` are those screenSettlements hands on: every reversal's original is among them.
 */
function personYears(
  settlements: readonly StoredSettlement[],
  facts: readonly StoredFact[],
  policies: PolicyResolver,
  problems: PersonYearProblem[],
): PersonYear[] {
  const years = new Map<string, PersonYear>();
  const yearOf = (policy: Policy): PersonYear => {
    let year = years.get(policy.id);
    if (year === undefined) {
      year = { policy, settlements: [], contributions: [] };
      years.set(policy.id, year);
    }
    return year;
  };
  const groups = settlementsByPolicy(settlements, policies, (settlement, anchor) => {
    problems.push({
      policyId: '',
      code: 'POLICY_NOT_FOUND',
      message: `no policy for division ${anchor.admdvs} on ${anchor.settledAt} (settlement ${settlement.key})`,
    });
  });
  for (const { policy, settlements: placed } of groups.values()) yearOf(policy).settlements.push(...placed);
  for (const contribution of facts.filter((f): f is StoredContribution => f.kind === 'contribution')) {
    const policy = policies.policyFor(contribution.admdvs, `${contribution.insuranceYear}-07-01`);
    if (policy === undefined) {
      problems.push({
        policyId: '',
        code: 'POLICY_NOT_FOUND',
        message: `no policy for division ${contribution.admdvs} in ${contribution.insuranceYear} (contribution ${contribution.key})`,
      });
      continue;
    }
    yearOf(policy).contributions.push(contribution);
  }
  return [...years.values()].sort((a, b) => a.policy.id.localeCompare(b.policy.id));
}

/** How a refused settlement is named in its dead letter. */
function settlementName(settlement: StoredSettlement): string {
  return settlement.reversesKey === null ? `settlement ${settlement.key}` : `reversal ${settlement.key} of ${settlement.reversesKey}`;
}

/** Why a policy cannot compute a year for an insured type; null when it covers the type. */
const coverage = new WeakMap<Policy, Map<InsuredType, PersonYearProblem | null>>();

/**
 * Whether the engine can compute a policy's year for an insured type without a population named
 * (Tibet's residents need one), asked once per policy and type: the engine answers by throwing
 * before it looks at any settlement, and an exception per fold was as dear as a derivation. Every
 * insured type is in scope (issue 16): an employee under a residents' policy is computed without a
 * critical-illness tier and published, not reported as a problem.
 */
function coverageProblem(policy: Policy, insuredType: InsuredType): PersonYearProblem | null {
  let byType = coverage.get(policy);
  if (byType === undefined) {
    byType = new Map();
    coverage.set(policy, byType);
  }
  let problem = byType.get(insuredType);
  if (problem === undefined) {
    try {
      resolvePopulation(policy, { insuredType });
      problem = null;
    } catch (error) {
      problem = yearProblem(policy, error);
    }
    byType.set(insuredType, problem);
  }
  return problem;
}

function yearProblem(policy: Policy, error: unknown): PersonYearProblem {
  const code = (error as { code?: unknown }).code;
  return {
    policyId: policy.id,
    code: typeof code === 'string' ? code : 'PROCESSING_FAILED',
    message: error instanceof Error ? error.message : String(error),
  };
}

export function derivePerson(options: {
  personKey: string;
  facts: readonly StoredFact[];
  emitted: ReadonlyMap<SlotField, EmittedSlot>;
  causes: readonly Cause[];
  policies: PolicyResolver;
  now: number;
  /**
   * Contribution records this recomputation took from the person (a newer version names another
   * person): a subsidy correction published for one is answered with one saying nothing is owed.
   */
  withdrawn?: readonly StoredContribution[];
}): Derivation {
  const { personKey, facts, causes, now } = options;
  const emitted = new Map(options.emitted);
  const outputs: RulesOutput[] = [];
  const problems: PersonYearProblem[] = [];
  const screened = screenSettlements(facts.filter((f): f is StoredSettlement => f.kind === 'settlement'));
  // A bad fact is left out, reported once (as a problem) and the rest of the person's year computed.
  for (const { settlement, code, field, reason } of screened.refused) {
    problems.push({
      policyId: '',
      code,
      message: `${settlementName(settlement)} left out: ${field}: ${reason}`,
      fact: { eventId: settlement.eventId, field },
    });
  }
  const statuses = engineStatuses(facts);
  const causedBy = causes.map((c) => c.eventId);
  const occurredAt = causes.reduce((latest, c) => Math.max(latest, c.occurredAt), 0) || now;
  const envelope = (eventId: string) => ({ eventId, source: 'hub:rules', occurredAt, recordedAt: now });

  for (const year of personYears(screened.settlements, facts, options.policies, problems)) {
    const { policy } = year;
    const benefitYear = Number(policy.benefitYear.start.slice(0, 4));
    const stored = new Map(year.settlements.map((s) => [s.key, s]));
    const insuredType =
      [...year.settlements, ...year.contributions]
        .sort((a, b) => (a.kind === 'settlement' ? a.setlTime : 0) - (b.kind === 'settlement' ? b.setlTime : 0))
        .at(-1)?.insuredType ?? 'RESIDENT';
    const uncovered = coverageProblem(policy, insuredType);
    if (uncovered !== null) {
      problems.push(uncovered);
      continue;
    }
    try {
      const engineFacts = screenFacts(policy, { insuredType, statuses, settlements: engineSettlements(year.settlements) });
      for (const refused of engineFacts.refused) {
        const settlement = refused.id === null ? undefined : stored.get(refused.id);
        const field = wireNameOf[refused.field] ?? refused.field;
        // Statuses are the person's, not the year's: one problem whatever year meets them.
        problems.push(
          settlement === undefined
            ? { policyId: '', code: refused.code, message: `a status left out: ${refused.field}: ${refused.reason}` }
            : {
                policyId: policy.id,
                code: refused.code,
                message: `${settlementName(settlement)} left out: ${field}: ${refused.reason}`,
                fact: { eventId: settlement.eventId, field },
              },
        );
      }
      const result = computeYear(policy, engineFacts.facts);
      for (const settlement of result.settlements) {
        const original = stored.get(settlement.id);
        if (original === undefined || original.reversesKey !== null) continue;
        const output = adjustment(personKey, policy, benefitYear, original, settlement, statuses, emitted, causedBy, envelope);
        if (output !== undefined) outputs.push(output);
      }
      if (year.settlements.length > 0) {
        const categories = [
          ...new Set(
            statuses
              .filter((s) => s.from <= policy.benefitYear.end && (s.to === null || s.to > policy.benefitYear.start))
              .map((s) => s.category),
          ),
        ].sort();
        const totals = result.totals;
        const slot: SlotField = `y:${policy.id}`;
        const previous = emitted.get(slot);
        const live = result.settlements.filter((s) => !s.cancelled);
        const lastSettledAt = year.settlements.filter((s) => s.reversesKey === null).reduce((last, s) => Math.max(last, s.setlTime), 0);
        const kept = selfPayValues({
          medfeeFen: totals.totalFen,
          basicFen: totals.basicPaidFen,
          criticalIllnessFen: totals.criticalIllnessFen,
          assistanceFen: totals.assistanceFen,
          selfPayTotalFen: totals.selfPayFen,
          selfPayInScopeFen: totals.inScopeSelfPayFen,
          settlementCount: live.length,
          lastSettledAt,
          categories,
        });
        if (!sameValues(previous?.values, kept)) {
          const eventId = stableId('ytd', [personKey, slot, ...storedValues(kept), previous?.eventId ?? null]);
          outputs.push({
            topic: 'selfPay',
            record: {
              ...envelope(eventId),
              personKey,
              policyId: policy.id,
              benefitYear,
              settlementCount: live.length,
              lastSettledAt: lastSettledAt === 0 ? null : lastSettledAt,
              medfeeFen: totals.totalFen,
              basicFen: totals.basicPaidFen,
              criticalIllnessFen: totals.criticalIllnessFen,
              assistanceFen: totals.assistanceFen,
              selfPayTotalFen: totals.selfPayFen,
              selfPayInScopeFen: totals.inScopeSelfPayFen,
              categories,
            },
          });
          emitted.set(slot, { eventId, values: kept });
        }
      }
      const contributions = screenContributions(policy, engineContributions(year.contributions));
      for (const refused of contributions.refused) {
        const eventId = year.contributions.find((c) => c.key === refused.id)?.eventId ?? '';
        problems.push({
          policyId: policy.id,
          code: 'INPUT_INVALID',
          message: `contribution record ${refused.id} left out: ${refused.field}: ${refused.reason}`,
          fact: { eventId, field: refused.field },
        });
      }
      const subsidy = computeSubsidy(policy, { statuses: engineFacts.facts.statuses, contributions: contributions.contributions });
      for (const contribution of subsidy.contributions) {
        const slot: SlotField = `u:${contribution.id}`;
        const previous = emitted.get(slot);
        const values = subsidyValues({
          entitledSubsidyFen: contribution.entitledSubsidyFen,
          receivedSubsidyFen: contribution.receivedSubsidyFen,
          category: contribution.category ?? 'NONE',
        });
        if (sameValues(previous?.values, values) || (previous === undefined && contribution.deltaFen === 0)) continue;
        const eventId = stableId('sub', [personKey, slot, ...storedValues(values), previous?.eventId ?? null]);
        const storedContribution = year.contributions.find((c) => c.key === contribution.id);
        outputs.push({
          topic: 'subsidyCorrections',
          record: {
            ...envelope(eventId),
            personKey,
            policyId: policy.id,
            insuranceYear: contribution.insuranceYear,
            category: contribution.category ?? 'NONE',
            contributionRecordId: contribution.id,
            contributionEventId: storedContribution?.eventId ?? '',
            entitledSubsidyFen: contribution.entitledSubsidyFen,
            receivedSubsidyFen: contribution.receivedSubsidyFen,
            deltaFen: contribution.deltaFen,
            kind: contribution.deltaFen > 0 ? 'UNDER_SUBSIDISED' : contribution.deltaFen < 0 ? 'OVER_SUBSIDISED' : 'CORRECT',
            reason:
              contribution.category === null
                ? `no category entitles this contribution to a subsidy; ${yuan(contribution.receivedSubsidyFen)} was subsidised`
                : `${contribution.category} entitles to ${yuan(contribution.entitledSubsidyFen)}; ` +
                  `${yuan(contribution.receivedSubsidyFen)} was subsidised`,
          },
        });
        emitted.set(slot, { eventId, values });
      }
    } catch (error) {
      problems.push(yearProblem(policy, error));
    }
  }
  for (const contribution of options.withdrawn ?? []) {
    const slot: SlotField = `u:${contribution.key}`;
    const previous = emitted.get(slot);
    const values = subsidyValues({ entitledSubsidyFen: 0, receivedSubsidyFen: 0, category: 'NONE' });
    if (previous === undefined || sameValues(previous.values, values)) continue;
    const eventId = stableId('sub', [personKey, slot, ...storedValues(values), previous.eventId]);
    outputs.push({
      topic: 'subsidyCorrections',
      record: {
        ...envelope(eventId),
        personKey,
        policyId: options.policies.policyFor(contribution.admdvs, `${contribution.insuranceYear}-07-01`)?.id ?? '',
        insuranceYear: contribution.insuranceYear,
        category: 'NONE',
        contributionRecordId: contribution.key,
        contributionEventId: contribution.eventId,
        entitledSubsidyFen: 0,
        receivedSubsidyFen: 0,
        deltaFen: 0,
        kind: 'CORRECT',
        reason: 'a newer version of this contribution record names another person: nothing is owed for it here',
      },
    });
    emitted.set(slot, { eventId, values });
  }
  return { outputs, emitted, problems };
}

function adjustment(
  personKey: string,
  policy: Policy,
  benefitYear: number,
  original: StoredSettlement,
  result: SettlementResult,
  statuses: readonly Status[],
  emitted: Map<SlotField, EmittedSlot>,
  causedBy: readonly string[],
  envelope: (eventId: string) => { eventId: string; source: string; occurredAt: number; recordedAt: number },
): RulesOutput | undefined {
  // A reversed settlement was refunded in full, its fund payments included: nothing is settled, nothing due.
  const settledCriticalIllnessFen = result.cancelled ? 0 : original.settledCriticalIllnessFen;
  const settledAssistanceFen = result.cancelled ? 0 : original.settledAssistanceFen;
  const slot: SlotField = `a:${original.key}`;
  const previous = emitted.get(slot);
  const deltaFen = result.criticalIllnessFen + result.assistanceFen - settledCriticalIllnessFen - settledAssistanceFen;
  const applied = result.criticalIllnessCategory ?? result.assistanceCategory;
  // From the person's facts alone, not from the batch that changed them: the final record reads
  // the same whatever order the facts arrived in (which records caused it is in causedBy).
  const certified =
    applied === null
      ? undefined
      : statuses.find((s) => s.category === applied && s.from <= result.settledAt && (s.to === null || s.to > result.settledAt));
  const why = result.cancelled
    ? `settlement reversed (冲销): nothing due`
    : `${applied === null ? 'no tilted category applies' : `${applied} applies`} on ${result.settledAt}: ` +
      `critical illness ${yuan(result.criticalIllnessFen)} due (${yuan(settledCriticalIllnessFen)} settled), ` +
      `assistance ${yuan(result.assistanceFen)} due (${yuan(settledAssistanceFen)} settled)` +
      (certified === undefined ? '' : `; ${certified.category} certified ${certified.from}–${certified.to ?? 'open'}`);
  const values = adjustmentValues({
    dueCriticalIllnessFen: result.criticalIllnessFen,
    dueAssistanceFen: result.assistanceFen,
    settledCriticalIllnessFen,
    settledAssistanceFen,
    categoryApplied: applied,
    reason: why,
  });
  if (sameValues(previous?.values, values) || (previous === undefined && deltaFen === 0)) return undefined;
  const eventId = stableId('adj', [personKey, slot, ...storedValues(values), previous?.eventId ?? null]);
  emitted.set(slot, { eventId, values });
  return {
    topic: 'benefitAdjustments',
    record: {
      ...envelope(eventId),
      personKey,
      policyId: policy.id,
      benefitYear,
      setlId: original.setlId,
      fixmedinsCode: original.fixmedinsCode,
      settledCriticalIllnessFen,
      settledAssistanceFen,
      dueCriticalIllnessFen: result.criticalIllnessFen,
      dueAssistanceFen: result.assistanceFen,
      deltaFen,
      kind: deltaFen > 0 ? 'SUPPLEMENTARY_PAYMENT' : deltaFen < 0 ? 'OVERPAID_FOR_REVIEW' : 'SETTLED_CORRECTLY',
      categoryApplied: applied,
      reason: why,
      causedBy: [...causedBy],
      supersedes: previous?.eventId ?? null,
    },
  };
}
