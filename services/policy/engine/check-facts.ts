import { isRealDate } from './dates';
import { inputError } from './input-error';
import {
  categories,
  insuredTypes,
  medicalTypes,
  type Category,
  type MedicalType,
  type PersonYearFacts,
  type Policy,
  type Population,
  type Settlement,
  type Status,
} from './types';

/** Amounts above this (1 billion yuan) are refused: no settlement is that large, and it keeps sums exact. */
export const MAX_AMOUNT_FEN = 100_000_000_000;

const knownCategories: ReadonlySet<string> = new Set(categories);
const knownMedicalTypes: ReadonlySet<string> = new Set(medicalTypes);
const knownInsuredTypes: ReadonlySet<string> = new Set(insuredTypes);

export function isCategory(value: string): value is Category {
  return knownCategories.has(value);
}

export function isMedicalType(value: string): value is MedicalType {
  return knownMedicalTypes.has(value);
}

/**
 * The population a person's facts select: `population` when given, else the one named like the
 * insured type. A policy that does not cover the person is an input error.
 */
export function resolvePopulation(policy: Policy, facts: Pick<PersonYearFacts, 'insuredType' | 'population'>): Population {
  // Only an error message lists the codes: this runs for every recomputed person-year.
  const codes = (): string => policy.populations.map((p) => p.code).join(', ');
  if (!knownInsuredTypes.has(facts.insuredType))
    throw inputError('insuredType', `"${String(facts.insuredType)}" is not one of ${insuredTypes.join(', ')}`);
  if (facts.population === undefined) {
    const population = policy.populations.find((p) => p.code === facts.insuredType);
    if (population !== undefined) return population;
    const forType = policy.populations.filter((p) => p.insuredType === facts.insuredType);
    if (forType.length > 0) {
      throw inputError(
        'population',
        `policy ${policy.id} needs one of ${forType.map((p) => p.code).join(', ')} for insuredType ${facts.insuredType}`,
      );
    }
    throw inputError('insuredType', `${facts.insuredType} is not covered by policy ${policy.id} (populations: ${codes()})`);
  }
  const population = policy.populations.find((p) => p.code === facts.population);
  if (population === undefined)
    throw inputError('population', `"${facts.population}" is not a population of policy ${policy.id} (${codes()})`);
  if (population.insuredType !== facts.insuredType) {
    throw inputError('population', `${population.code} is a ${population.insuredType} population, but insuredType is ${facts.insuredType}`);
  }
  return population;
}

const amountFields = ['totalFen', 'fullOwnPayFen', 'overLimitFen', 'preSelfPayFen', 'policyScopeFen', 'basicPaidFen'] as const;

/**
 * How far a settlement's total may be from the sum of its four parts: the national interface rounds
 * each part to the fen, and the hospitals' connector accepts the same one fen.
 */
export const TOTAL_ROUNDING_FEN = 1;

/**
 * A fact the engine cannot compute with, and why. `field` is the offending field of the fact,
 * `reason` names facts by id (never by position), so the same fact is refused in the same words
 * whatever else the person-year holds.
 */
export interface RefusedFact {
  readonly kind: 'status' | 'settlement';
  /** Position in the input's list of its kind. */
  readonly index: number;
  /** The settlement's id; null for a status. */
  readonly id: string | null;
  /**
   * REVERSAL_MISMATCH: a reversal (冲销) that does not repeat its original or is dated before it;
   * REVERSAL_DUPLICATE: a second reversal of a settlement; INPUT_INVALID: anything else.
   */
  readonly code: 'INPUT_INVALID' | 'REVERSAL_MISMATCH' | 'REVERSAL_DUPLICATE';
  readonly field: string;
  readonly reason: string;
  /** The reason as `checkFacts` gives it, which may name other facts by their position in the input. */
  readonly positionalReason: string;
}

/** The facts the engine computes with, and those it leaves out. */
export interface ScreenedFacts {
  readonly facts: PersonYearFacts;
  readonly refused: readonly RefusedFact[];
}

/** Why a status cannot be used; undefined when it can. */
function statusProblem(status: Status): { field: string; reason: string } | undefined {
  if (!isCategory(status.category)) return { field: 'category', reason: `"${String(status.category)}" is not a known category` };
  if (!isRealDate(status.from)) return { field: 'from', reason: `"${status.from}" is not a real date` };
  if (status.to !== null) {
    if (!isRealDate(status.to)) return { field: 'to', reason: `"${status.to}" is not a real date` };
    if (status.to <= status.from) return { field: 'to', reason: `"${status.to}" must be after from ("${status.from}")` };
  }
  return undefined;
}

// Built only on failure: this runs for every settlement of every recomputed year.
function amountProblem(value: number): string | undefined {
  if (Number.isSafeInteger(value) && value >= 0 && value <= MAX_AMOUNT_FEN) return undefined;
  if (!Number.isSafeInteger(value)) return `${String(value)} is not a whole number of fen`;
  if (value < 0) return `${value} is negative`;
  return `${value} is above ${MAX_AMOUNT_FEN} fen`;
}

/** Why a settlement cannot be used on its own (its relation to others aside); undefined when it can. */
function settlementProblem(policy: Policy, settlement: Settlement): { field: string; reason: string } | undefined {
  if (settlement.id === '') return { field: 'id', reason: 'must not be empty' };
  if (!isRealDate(settlement.settledAt)) return { field: 'settledAt', reason: `"${settlement.settledAt}" is not a real date` };
  if (!isMedicalType(settlement.medicalType))
    return { field: 'medicalType', reason: `"${String(settlement.medicalType)}" is not one of ${medicalTypes.join(', ')}` };
  for (const field of amountFields) {
    const reason = amountProblem(settlement[field]);
    if (reason !== undefined) return { field, reason };
  }
  const parts = settlement.fullOwnPayFen + settlement.overLimitFen + settlement.preSelfPayFen + settlement.policyScopeFen;
  if (Math.abs(settlement.totalFen - parts) > TOTAL_ROUNDING_FEN) {
    return {
      field: 'totalFen',
      reason: `${settlement.totalFen} is not fullOwnPayFen + overLimitFen + preSelfPayFen + policyScopeFen (${parts})`,
    };
  }
  if (settlement.basicPaidFen > settlement.policyScopeFen) {
    return { field: 'basicPaidFen', reason: `${settlement.basicPaidFen} is above policyScopeFen (${settlement.policyScopeFen})` };
  }
  // A reversal may be dated after the year it cancels a settlement of; the settlement itself may not.
  if (
    settlement.reversesId === undefined &&
    (settlement.settledAt < policy.benefitYear.start || settlement.settledAt > policy.benefitYear.end)
  ) {
    return {
      field: 'settledAt',
      reason:
        `"${settlement.settledAt}" is outside the benefit year of policy ${policy.id} ` +
        `(${policy.benefitYear.start} to ${policy.benefitYear.end})`,
    };
  }
  return undefined;
}

/** Why a reversal cannot cancel the settlement it names, apart from another reversal of it. */
function reversalProblem(reversal: Settlement, original: Settlement): { field: string; reason: string } | undefined {
  // A reversal (冲销) cancels a settlement already made: it cannot be dated before it.
  if (reversal.settledAt < original.settledAt) {
    return {
      field: 'settledAt',
      reason: `"${reversal.settledAt}" is before the settlement it reverses (${original.id}, "${original.settledAt}")`,
    };
  }
  // A reversal (冲销) repeats the amounts of the settlement it cancels (national interface).
  if (reversal.medicalType !== original.medicalType) {
    return { field: 'medicalType', reason: `a reversal repeats the medical type of ${original.id} (${original.medicalType})` };
  }
  for (const amount of amountFields) {
    if (reversal[amount] !== original[amount]) {
      return { field: amount, reason: `a reversal repeats the amounts of ${original.id} (${original[amount]}), got ${reversal[amount]}` };
    }
  }
  return undefined;
}

/**
 * Splits a person-year's facts into those the engine computes with and those it cannot: a status
 * or settlement that is malformed on its own, a duplicate settlement id (the later one), a reversal
 * that names no settlement of the input or a reversal, one dated before its original or not
 * repeating its amounts, and every reversal of a settlement but one (the earliest, then the
 * smallest id). What is kept is consistent: `computeYear` does not throw on it, whatever was left
 * out. The population is not screened (`resolvePopulation`): it is the person's, not a fact's.
 */
export function screenFacts(policy: Policy, facts: PersonYearFacts): ScreenedFacts {
  const refused: RefusedFact[] = [];
  const refuse = (
    kind: RefusedFact['kind'],
    index: number,
    id: string | null,
    code: RefusedFact['code'],
    field: string,
    reason: string,
    positionalReason = reason,
  ): void => {
    refused.push({ kind, index, id, code, field, reason, positionalReason });
  };

  const statuses = facts.statuses.filter((status, i) => {
    const problem = statusProblem(status);
    if (problem !== undefined) refuse('status', i, null, 'INPUT_INVALID', problem.field, problem.reason);
    return problem === undefined;
  });

  const indexById = new Map<string, number>();
  const usable = new Set<number>();
  facts.settlements.forEach((settlement, i) => {
    const earlier = settlement.id === '' ? undefined : indexById.get(settlement.id);
    if (earlier !== undefined) {
      refuse(
        'settlement',
        i,
        settlement.id,
        'INPUT_INVALID',
        'id',
        `"${settlement.id}" is also the id of another settlement`,
        `"${settlement.id}" is also the id of settlements[${earlier}]`,
      );
      return;
    }
    const problem = settlementProblem(policy, settlement);
    if (problem !== undefined) {
      refuse('settlement', i, settlement.id, 'INPUT_INVALID', problem.field, problem.reason);
      return;
    }
    indexById.set(settlement.id, i);
    usable.add(i);
  });

  // Reversals that may cancel their original, by original; then one per original is kept.
  const candidates = new Map<number, number[]>();
  facts.settlements.forEach((settlement, i) => {
    if (settlement.reversesId === undefined || !usable.has(i)) return;
    const target = indexById.get(settlement.reversesId);
    const original = target === undefined ? undefined : facts.settlements[target];
    let problem: { code: RefusedFact['code']; field: string; reason: string } | undefined;
    if (target === undefined || original === undefined)
      problem = { code: 'INPUT_INVALID', field: 'reversesId', reason: `"${settlement.reversesId}" names no settlement of the input` };
    else if (original.reversesId !== undefined)
      problem = { code: 'INPUT_INVALID', field: 'reversesId', reason: `"${settlement.reversesId}" is itself a reversal` };
    else {
      const mismatch = reversalProblem(settlement, original);
      if (mismatch !== undefined) problem = { code: 'REVERSAL_MISMATCH', ...mismatch };
    }
    if (problem !== undefined) {
      usable.delete(i);
      refuse('settlement', i, settlement.id, problem.code, problem.field, problem.reason);
      return;
    }
    const list = candidates.get(target as number);
    if (list === undefined) candidates.set(target as number, [i]);
    else list.push(i);
  });
  for (const [target, reversals] of candidates) {
    if (reversals.length < 2) continue;
    const at = (i: number): Settlement => facts.settlements[i] as Settlement;
    const kept = reversals.reduce((best, i) => {
      const a = at(i);
      const b = at(best);
      return a.settledAt < b.settledAt || (a.settledAt === b.settledAt && a.id < b.id) ? i : best;
    });
    const original = at(target).id;
    for (const i of reversals) {
      if (i === kept) continue;
      usable.delete(i);
      refuse(
        'settlement',
        i,
        at(i).id,
        'REVERSAL_DUPLICATE',
        'reversesId',
        `"${original}" is already reversed by ${at(kept).id}`,
        `"${original}" is already reversed by settlements[${kept}]`,
      );
    }
  }

  const settlements = facts.settlements.filter((_, i) => usable.has(i));
  return { facts: { ...facts, statuses, settlements }, refused };
}

/**
 * Checks what types cannot: real dates, consistent amounts, settlements inside the benefit year,
 * reversals that name a settlement of the input. Returns the person's population. Throws
 * INPUT_INVALID naming the first offending field (what `screenFacts` would leave out).
 */
export function checkFacts(policy: Policy, facts: PersonYearFacts): Population {
  const population = resolvePopulation(policy, facts);
  if (factsAreClean(policy, facts)) return population;
  // Refusals come in the order a reader meets them: statuses, settlements on their own, reversals.
  const first = screenFacts(policy, facts).refused[0];
  if (first !== undefined)
    throw inputError(`${first.kind === 'status' ? 'statuses' : 'settlements'}[${first.index}].${first.field}`, first.positionalReason);
  return population;
}

/**
 * True when `screenFacts` would leave nothing out. Plain loops that build no message: this runs for
 * every recomputed person-year, and only a refusal pays for `screenFacts`'s lists and reasons.
 */
function factsAreClean(policy: Policy, facts: PersonYearFacts): boolean {
  const { statuses, settlements } = facts;
  for (let i = 0; i < statuses.length; i += 1) {
    const status = statuses[i];
    if (status !== undefined && statusProblem(status) !== undefined) return false;
  }
  const indexById = new Map<string, number>();
  let reversals = 0;
  for (let i = 0; i < settlements.length; i += 1) {
    const settlement = settlements[i];
    if (settlement === undefined) continue;
    if (indexById.has(settlement.id) || settlementProblem(policy, settlement) !== undefined) return false;
    indexById.set(settlement.id, i);
    if (settlement.reversesId !== undefined) reversals += 1;
  }
  if (reversals === 0) return true;
  const reversed = new Set<string>();
  for (let i = 0; i < settlements.length; i += 1) {
    const settlement = settlements[i];
    if (settlement?.reversesId === undefined) continue;
    const target = indexById.get(settlement.reversesId);
    const original = target === undefined ? undefined : settlements[target];
    if (original === undefined || original.reversesId !== undefined || reversed.has(settlement.reversesId)) return false;
    if (reversalProblem(settlement, original) !== undefined) return false;
    reversed.add(settlement.reversesId);
  }
  return true;
}
