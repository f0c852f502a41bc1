import { checkFacts } from './check-facts';
import { inputError } from './input-error';
import type { Category, Contribution, InsuredType, MedicalType, PersonYearFacts, Policy, Settlement, Status } from './types';

type Json = Readonly<Record<string, unknown>>;

function isObject(value: unknown): value is Json {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function describe(value: unknown): string {
  return value === undefined ? 'missing' : JSON.stringify(value);
}

function objectAt(value: unknown, field: string, allowed: readonly string[]): Json {
  if (!isObject(value)) throw inputError(field, `${describe(value)} is not an object`);
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) throw inputError(field === '' ? key : `${field}.${key}`, 'is not a known field');
  }
  return value;
}

function stringAt(object: Json, key: string, at: string): string {
  const value = object[key];
  if (typeof value !== 'string')
    throw inputError(`${at}${key}`, value === undefined ? 'is required' : `${describe(value)} is not a string`);
  return value;
}

function integerAt(object: Json, key: string, at: string): number {
  const value = object[key];
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
    throw inputError(`${at}${key}`, value === undefined ? 'is required' : `${describe(value)} is not a whole number of fen`);
  }
  return value;
}

function arrayAt(object: Json, key: string): readonly unknown[] {
  const value = object[key];
  if (!Array.isArray(value)) throw inputError(key, value === undefined ? 'is required' : `${describe(value)} is not an array`);
  return value;
}

const statusFields = ['category', 'from', 'to'];
const contributionFields = ['id', 'insuranceYear', 'insuredType', 'contributionDueFen', 'subsidisedFen', 'paidAt'];
const settlementFields = [
  'id',
  'settledAt',
  'medicalType',
  'totalFen',
  'fullOwnPayFen',
  'overLimitFen',
  'preSelfPayFen',
  'policyScopeFen',
  'basicPaidFen',
  'reversesId',
  'diseaseCode',
];

/**
 * Reads the `hub calc` input (parsed JSON) into facts, then checks them against the policy.
 * Throws INPUT_INVALID naming the first offending field, e.g. `settlements[2].settledAt: "2019-02-30" is not a real date`.
 */
export function parseFacts(policy: Policy, input: unknown): PersonYearFacts {
  const root = objectAt(input, '', ['insuredType', 'population', 'statuses', 'settlements', 'contributions']);
  const insuredType = stringAt(root, 'insuredType', '');
  if (insuredType !== 'RESIDENT' && insuredType !== 'EMPLOYEE')
    throw inputError('insuredType', `"${insuredType}" is not RESIDENT or EMPLOYEE`);
  const population = root.population === undefined ? undefined : stringAt(root, 'population', '');

  const statuses: Status[] = arrayAt(root, 'statuses').map((raw, i) => {
    const at = `statuses[${i}]`;
    const status = objectAt(raw, at, statusFields);
    const to = status.to === undefined || status.to === null ? null : stringAt(status, 'to', `${at}.`);
    // Category names are checked by checkFacts against the vocabulary.
    return { category: stringAt(status, 'category', `${at}.`) as Category, from: stringAt(status, 'from', `${at}.`), to };
  });

  const settlements: Settlement[] = arrayAt(root, 'settlements').map((raw, i) => {
    const at = `settlements[${i}]`;
    const settlement = objectAt(raw, at, settlementFields);
    const prefix = `${at}.`;
    const parsed: Settlement = {
      id: stringAt(settlement, 'id', prefix),
      settledAt: stringAt(settlement, 'settledAt', prefix),
      medicalType: stringAt(settlement, 'medicalType', prefix) as MedicalType,
      totalFen: integerAt(settlement, 'totalFen', prefix),
      fullOwnPayFen: integerAt(settlement, 'fullOwnPayFen', prefix),
      overLimitFen: integerAt(settlement, 'overLimitFen', prefix),
      preSelfPayFen: integerAt(settlement, 'preSelfPayFen', prefix),
      policyScopeFen: integerAt(settlement, 'policyScopeFen', prefix),
      basicPaidFen: integerAt(settlement, 'basicPaidFen', prefix),
    };
    const coded =
      settlement.diseaseCode === undefined || settlement.diseaseCode === null
        ? parsed
        : { ...parsed, diseaseCode: stringAt(settlement, 'diseaseCode', prefix) };
    return settlement.reversesId === undefined || settlement.reversesId === null
      ? coded
      : { ...coded, reversesId: stringAt(settlement, 'reversesId', prefix) };
  });

  const contributions: Contribution[] | undefined =
    root.contributions === undefined
      ? undefined
      : arrayAt(root, 'contributions').map((raw, i) => {
          const at = `contributions[${i}]`;
          const contribution = objectAt(raw, at, contributionFields);
          const prefix = `${at}.`;
          const type = stringAt(contribution, 'insuredType', prefix);
          if (type !== 'RESIDENT' && type !== 'EMPLOYEE') throw inputError(`${prefix}insuredType`, `"${type}" is not RESIDENT or EMPLOYEE`);
          return {
            id: stringAt(contribution, 'id', prefix),
            insuranceYear: integerAt(contribution, 'insuranceYear', prefix),
            insuredType: type,
            contributionDueFen: integerAt(contribution, 'contributionDueFen', prefix),
            subsidisedFen: integerAt(contribution, 'subsidisedFen', prefix),
            paidAt: stringAt(contribution, 'paidAt', prefix),
          };
        });
  const base: PersonYearFacts =
    population === undefined
      ? { insuredType: insuredType satisfies InsuredType, statuses, settlements }
      : { insuredType, population, statuses, settlements };
  const facts: PersonYearFacts = contributions === undefined ? base : { ...base, contributions };
  checkFacts(policy, facts);
  return facts;
}
