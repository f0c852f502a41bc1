/**
 * The policy component: benefit policies as data (one YAML file per region and year) and the
 * pure engine that computes, for one person's benefit year, what critical-illness insurance
 * (大病保险) and medical assistance (医疗救助) pay and what the person is left to pay.
 *
 * ```ts
 * const policy = loadPolicy('xianyang-2020');
 * const year = computeYear(policy, { insuredType: 'RESIDENT', statuses, settlements });
 * const subsidy = computeSubsidy(policy, { statuses, contributions });
 * const verdict = warningVerdict(policy, { statuses }, year, '2019-Q2');
 * ```
 */
export { loadPolicy, listPolicies, parsePolicy, policyDirectory } from './policy-files';
export { policySchema } from './policy-schema';
export { runCalc, toCalcOutput, type CalcOutput, type CalcSettlement } from './calc-command';
export {
  computeYear,
  computeSubsidy,
  warningVerdict,
  parseFacts,
  checkFacts,
  screenFacts,
  screenContributions,
  resolvePopulation,
  compilePolicy,
  categories,
  medicalTypes,
  insuredTypes,
  agencies,
  type Agency,
  type Category,
  type Contribution,
  type ContributionSubsidy,
  type InsuredType,
  type MedicalType,
  type PersonYearFacts,
  type Policy,
  type PolicyDocument,
  type Population,
  type SelfPayBasis,
  type Settlement,
  type SettlementResult,
  type Status,
  type SubsidyResult,
  type WarningReason,
  type WarningVerdict,
  type YearResult,
  type YearTotals,
} from './engine';
