import { isRealDate } from './dates';
import { inputError } from './input-error';
import { categories, insuredTypes, medicalTypes, type Category, type MedicalType, type PersonYearFacts, type Policy, type Population, type Settlement } from './types';

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
  if (!knownInsuredTypes.has(facts.insuredType)) throw inputError('insuredType', `"${String(facts.insuredType)}" is not one of ${insuredTypes.join(', ')}`);
  if (facts.population === undefined) {
    const population = policy.populations.find((p) => p.code === facts.insuredType);
    if (population !== undefined) return population;
    const forType = policy.populations.filter((p) => p.insuredType === facts.insuredType);
    if (forType.length > 0) {
      throw inputError('population', `policy ${policy.id} needs one of ${forType.map((p) => p.code).join(', ')} for insuredType ${facts.insuredType}`);
    }
    throw inputError('insuredType', `${facts.insuredType} is not covered by policy ${policy.id} (populations: ${codes()})`);
  }
  const population = policy.populations.find((p) => p.code === facts.population);
  if (population === undefined) throw inputError('population', `"${facts.population}" is not a population of policy ${policy.id} (${codes()})`);
  if (population.insuredType !== facts.insuredType) {
    throw inputError('population', `${population.code} is a ${population.insuredType} population, but insuredType is ${facts.insuredType}`);
  }
  return population;
}

const amountFields = ['totalFen', 'fullOwnPayFen', 'overLimitFen', 'preSelfPayFen', 'policyScopeFen', 'basicPaidFen'] as const;

// Paths are built only on failure: this runs for every settlement of every recomputed year.
function checkAmount(value: number, index: number, field: string): void {
  if (Number.isSafeInteger(value) && value >= 0 && value <= MAX_AMOUNT_FEN) return;
  const path = `settlements[${index}].${field}`;
  if (!Number.isSafeInteger(value)) throw inputError(path, `${String(value)} is not a whole number of fen`);
  if (value < 0) throw inputError(path, `${value} is negative`);
  throw inputError(path, `${value} is above ${MAX_AMOUNT_FEN} fen`);
}

/**
 * Checks what types cannot: real dates, consistent amounts, settlements inside the benefit year,
 * reversals that name a settlement of the input. Returns the person's population. Throws
 * INPUT_INVALID naming the first offending field.
 */
export function checkFacts(policy: Policy, facts: PersonYearFacts): Population {
  const population = resolvePopulation(policy, facts);

  // Plain loops, and paths built only on failure: this runs for every recomputed person-year.
  const { statuses, settlements } = facts;
  for (let i = 0; i < statuses.length; i += 1) {
    const status = statuses[i];
    if (status === undefined) continue;
    if (!isCategory(status.category)) throw inputError(`statuses[${i}].category`, `"${String(status.category)}" is not a known category`);
    if (!isRealDate(status.from)) throw inputError(`statuses[${i}].from`, `"${status.from}" is not a real date`);
    if (status.to !== null) {
      if (!isRealDate(status.to)) throw inputError(`statuses[${i}].to`, `"${status.to}" is not a real date`);
      if (status.to <= status.from) throw inputError(`statuses[${i}].to`, `"${status.to}" must be after from ("${status.from}")`);
    }
  }

  const indexById = new Map<string, number>();
  let reversals = 0;
  for (let i = 0; i < settlements.length; i += 1) {
    const settlement = settlements[i];
    if (settlement === undefined) continue;
    if (settlement.id === '') throw inputError(`settlements[${i}].id`, 'must not be empty');
    const earlier = indexById.get(settlement.id);
    if (earlier !== undefined) throw inputError(`settlements[${i}].id`, `"${settlement.id}" is also the id of settlements[${earlier}]`);
    indexById.set(settlement.id, i);
    if (!isRealDate(settlement.settledAt)) throw inputError(`settlements[${i}].settledAt`, `"${settlement.settledAt}" is not a real date`);
    if (!isMedicalType(settlement.medicalType)) throw inputError(`settlements[${i}].medicalType`, `"${String(settlement.medicalType)}" is not one of ${medicalTypes.join(', ')}`);
    for (const field of amountFields) checkAmount(settlement[field], i, field);
    const parts = settlement.fullOwnPayFen + settlement.overLimitFen + settlement.preSelfPayFen + settlement.policyScopeFen;
    if (settlement.totalFen !== parts) {
      throw inputError(`settlements[${i}].totalFen`, `${settlement.totalFen} is not fullOwnPayFen + overLimitFen + preSelfPayFen + policyScopeFen (${parts})`);
    }
    if (settlement.basicPaidFen > settlement.policyScopeFen) {
      throw inputError(`settlements[${i}].basicPaidFen`, `${settlement.basicPaidFen} is above policyScopeFen (${settlement.policyScopeFen})`);
    }
    if (settlement.reversesId !== undefined) reversals += 1;
    // A reversal may be dated after the year it cancels a settlement of; the settlement itself may not.
    else if (settlement.settledAt < policy.benefitYear.start || settlement.settledAt > policy.benefitYear.end) {
      throw inputError(`settlements[${i}].settledAt`, `"${settlement.settledAt}" is outside the benefit year of policy ${policy.id} (${policy.benefitYear.start} to ${policy.benefitYear.end})`);
    }
  }
  if (reversals === 0) return population;

  const reversedBy = new Map<string, number>();
  for (let i = 0; i < settlements.length; i += 1) {
    const settlement = settlements[i];
    if (settlement?.reversesId === undefined) continue;
    const field = `settlements[${i}].reversesId`;
    const target = indexById.get(settlement.reversesId);
    const original: Settlement | undefined = target === undefined ? undefined : settlements[target];
    if (original === undefined) throw inputError(field, `"${settlement.reversesId}" names no settlement of the input`);
    if (original.reversesId !== undefined) throw inputError(field, `"${settlement.reversesId}" is itself a reversal`);
    const other = reversedBy.get(settlement.reversesId);
    if (other !== undefined) throw inputError(field, `"${settlement.reversesId}" is already reversed by settlements[${other}]`);
    reversedBy.set(settlement.reversesId, i);
    // A reversal (冲销) cancels a settlement already made: it cannot be dated before it.
    if (settlement.settledAt < original.settledAt) {
      throw inputError(`settlements[${i}].settledAt`, `"${settlement.settledAt}" is before the settlement it reverses (${original.id}, "${original.settledAt}")`);
    }
    // A reversal (冲销) repeats the amounts of the settlement it cancels (national interface).
    if (settlement.medicalType !== original.medicalType) {
      throw inputError(`settlements[${i}].medicalType`, `a reversal repeats the medical type of ${original.id} (${original.medicalType})`);
    }
    for (const amount of amountFields) {
      if (settlement[amount] !== original[amount]) {
        throw inputError(`settlements[${i}].${amount}`, `a reversal repeats the amounts of ${original.id} (${original[amount]}), got ${settlement[amount]}`);
      }
    }
  }
  return population;
}
