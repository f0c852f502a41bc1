/**
 * The vocabulary of the policy engine: person categories, medical types, insured types, the
 * compiled policy it computes with, the facts of one person-year and what it returns.
 * Money is integer fen (分); dates are ISO `YYYY-MM-DD` strings compared as strings.
 */

/** Person categories (POLICIES.md); who certifies each is in `categoryAgency`. */
export const categories = [
  'TEKUN', // 特困人员
  'DIBAO', // 低保对象
  'DIBAO_EDGE', // 低保边缘家庭成员
  'ORPHAN', // 孤儿
  'ILLNESS_POVERTY', // 因病致贫重病患者
  'RELAPSED_POVERTY', // 返贫致贫人口
  'MONITORED', // 防止返贫监测对象
  'LIFTED', // 脱贫人口（稳定脱贫）
  'POOR_REGISTERED', // 建档立卡贫困人口 (pre-2021)
] as const;
export type Category = (typeof categories)[number];

/** Settlement medical types the engine knows (医疗类别, grouped). */
export const medicalTypes = [
  'INPATIENT', // 住院
  'OUTPATIENT_CHRONIC', // 门诊慢特病 / 特殊病种门诊
  'OUTPATIENT_GENERAL', // 普通门诊
] as const;
export type MedicalType = (typeof medicalTypes)[number];

/** Basic insurance schemes: 职工医保 and 城乡居民医保. */
export const insuredTypes = ['EMPLOYEE', 'RESIDENT'] as const;
export type InsuredType = (typeof insuredTypes)[number];

export const agencies = ['CIVIL_AFFAIRS', 'RURAL_REVITALIZATION'] as const;
export type Agency = (typeof agencies)[number];

export type SelfPayBasis = 'TOTAL' | 'IN_SCOPE';

/**
 * Parts of a settlement a policy may count towards the eligible amount beyond its default
 * (policy scope − basic): 乙类先行自付, 超限价自费, 目录外全自费.
 */
export const eligibleParts = ['PRE_SELF_PAY', 'OVER_LIMIT', 'FULL_OWN_PAY'] as const;
export type EligiblePart = (typeof eligibleParts)[number];
export type WarningCadence = 'QUARTERLY' | 'MONTHLY';
/** Which settlements a warning sums: the year to the period's end, the period alone, or the 12 months to its end. */
export const warningWindows = ['YEAR_TO_DATE', 'PERIOD', 'ROLLING_12_MONTHS'] as const;
export type WarningWindow = (typeof warningWindows)[number];

// ---------------------------------------------------------------------------------------------
// The compiled policy: what a policy file means, resolved into the tables the engine runs on.
// ---------------------------------------------------------------------------------------------

/**
 * Critical-illness payment schedule (大病保险) for one population and one category (or none):
 * segment k pays `ratiosBp[k]` of the cumulative eligible amount between `lowersFen[k]` and
 * `uppersFen[k]` (the last upper is `Infinity`).
 */
export interface CriticalIllnessSchedule {
  readonly deductibleFen: number;
  readonly lowersFen: readonly number[];
  readonly uppersFen: readonly number[];
  readonly ratiosBp: readonly number[];
  /** Cap on the yearly payment (年度封顶线); null when none. */
  readonly yearlyCapFen: number | null;
  /** Ceiling on the cumulative eligible amount (最高补偿限额 as an amount of cost); null when none. */
  readonly eligibleCeilingFen: number | null;
}

/** Medical assistance (医疗救助) for one category: after insurance, on in-scope self-pay. */
export interface AssistanceRule {
  readonly deductibleFen: number;
  readonly ratioBp: number;
  readonly yearlyCapFen: number | null;
}

/** Participation subsidy (资助参保) for one category. */
export type SubsidyEntitlement =
  | { readonly kind: 'FULL' }
  | { readonly kind: 'RATIO'; readonly ratioBp: number }
  | { readonly kind: 'FIXED'; readonly amountFen: number }
  | { readonly kind: 'NONE' };

/** One insured population: EMPLOYEE, RESIDENT, or a regional variant (Tibet's farmers/herders). */
export interface Population {
  readonly code: string;
  readonly insuredType: InsuredType;
  /**
   * False for an insured type the policy file lists no population for (employees under a
   * residents' scheme): the person is still in scope, with a critical-illness schedule that pays
   * nothing and no tilts, and the policy's assistance rules.
   */
  readonly criticalIllnessCovered: boolean;
  readonly criticalIllness: {
    readonly base: CriticalIllnessSchedule;
    /** Tilted schedules (倾斜支付), in the policy's listing order. */
    readonly byCategory: ReadonlyArray<readonly [Category, CriticalIllnessSchedule]>;
  };
  /** Assistance rules, in the policy's listing order. */
  readonly assistanceByCategory: ReadonlyArray<readonly [Category, AssistanceRule]>;
}

export interface WarningRule {
  readonly thresholdFen: number;
  readonly basis: SelfPayBasis;
  readonly window: WarningWindow;
  readonly cadence: WarningCadence;
  /**
   * The immediate alert: a person whose self-pay to date crosses the threshold mid-period is warned
   * at once for the open period, not only at its run. Off unless the policy file switches it on.
   */
  readonly immediate: boolean;
  readonly alwaysReported: readonly Category[];
  readonly routing: ReadonlyArray<readonly [Agency, readonly Category[]]>;
  /** Where a warning for a person holding none of the routed categories goes. */
  readonly uncategorised: readonly Agency[];
}

export interface SubsidyRule {
  readonly categories: readonly Category[];
  readonly insuredTypes: readonly InsuredType[];
  readonly entitlement: SubsidyEntitlement;
  /**
   * The range the seed allows (bp of the contribution for RATIO, fen for FIXED): a subsidy anywhere
   * inside it is not flagged. Null: only the entitlement itself is right.
   */
  readonly accepted: { readonly min: number; readonly max: number } | null;
}

/** A policy compiled from its file: frozen, validated, ready for the engine. */
export interface Policy {
  readonly id: string;
  readonly seed: string;
  readonly region: string;
  /** Division code prefixes (GB/T 2260) the policy covers; the longest matching prefix wins. */
  readonly divisions: readonly string[];
  readonly benefitYear: { readonly start: string; readonly end: string };
  /** The populations of the version in force from the start of the benefit year. */
  readonly populations: readonly Population[];
  /**
   * Dated versions within the benefit year, the first from its start (`populations`): a settlement
   * is computed under the version in force on its date; cumulative amounts carry across a change.
   */
  readonly versions: ReadonlyArray<{ readonly from: string; readonly populations: readonly Population[] }>;
  readonly criticalIllnessMedicalTypes: ReadonlySet<MedicalType>;
  /**
   * Which 门诊慢特病 (OUTPATIENT_CHRONIC) settlements count (issue 12 item 5); null: all of them.
   * A settlement with a 病种编码 counts when a named list holds a prefix of it, or a list's codes are
   * not known (`codePrefixes` null); `withoutCode` decides a settlement that carries no code.
   */
  readonly chronicDiseases: {
    readonly lists: ReadonlyArray<{ readonly name: string; readonly codePrefixes: readonly string[] | null }>;
    readonly withoutCode: 'COUNT' | 'EXCLUDE';
  } | null;
  /** What counts beyond policy scope − basic towards the eligible amount (issue 12 item 6); empty by default. */
  readonly eligibleParts: ReadonlySet<EligiblePart>;
  readonly assistanceMedicalTypes: ReadonlySet<MedicalType>;
  readonly subsidyRules: readonly SubsidyRule[];
  readonly warning: WarningRule;
}

// ---------------------------------------------------------------------------------------------
// Facts of one person-year.
// ---------------------------------------------------------------------------------------------

/** A category held over `[from, to)`; `to` null while the status is open. */
export interface Status {
  readonly category: Category;
  readonly from: string;
  readonly to: string | null;
}

/**
 * One settlement (结算), amounts as in the national settlement interface (setlinfo):
 * `totalFen` (medfee_sumamt) = `fullOwnPayFen` (fulamt_ownpay_amt) + `overLimitFen`
 * (overlmt_selfpay) + `preSelfPayFen` (preselfpay_amt) + `policyScopeFen` (inscp_scp_amt);
 * `basicPaidFen` is hifp_pay. A reversal (冲销) names the settlement it reverses and repeats its amounts.
 */
export interface Settlement {
  readonly id: string;
  readonly settledAt: string;
  readonly medicalType: MedicalType;
  readonly totalFen: number;
  readonly fullOwnPayFen: number;
  readonly overLimitFen: number;
  readonly preSelfPayFen: number;
  readonly policyScopeFen: number;
  readonly basicPaidFen: number;
  readonly reversesId?: string;
  /** 病种编码 of a 门诊慢特病 settlement, when the hospital sent one (issue 12 item 5). */
  readonly diseaseCode?: string;
}

/** A contribution record (参保缴费) from the tax bureau. */
export interface Contribution {
  readonly id: string;
  readonly insuranceYear: number;
  readonly insuredType: InsuredType;
  /** The individual contribution due for the year. */
  readonly contributionDueFen: number;
  /** What medical assistance paid towards it (资助参保). */
  readonly subsidisedFen: number;
  readonly paidAt: string;
}

/** Everything known about one person's benefit year under one policy. */
export interface PersonYearFacts {
  readonly insuredType: InsuredType;
  /** A regional population variant (e.g. Tibet's FARMER_HERDER); defaults to `insuredType`. */
  readonly population?: string;
  readonly statuses: readonly Status[];
  readonly settlements: readonly Settlement[];
  readonly contributions?: readonly Contribution[];
}

// ---------------------------------------------------------------------------------------------
// Results.
// ---------------------------------------------------------------------------------------------

export interface SettlementResult {
  readonly id: string;
  readonly settledAt: string;
  readonly medicalType: MedicalType;
  /** True for a reversal and for the settlement it reverses: both pay and count nothing. */
  readonly cancelled: boolean;
  readonly totalFen: number;
  readonly basicPaidFen: number;
  /** policyScope − basicPaid, plus the parts the policy's eligible base adds, when the policy counts the medical type, else 0. */
  readonly eligibleFen: number;
  readonly criticalIllnessFen: number;
  readonly assistanceFen: number;
  /** total − basic − critical illness − assistance. Negative only on a catch-up settlement that refunds earlier self-pay. */
  readonly selfPayFen: number;
  /** policyScope − basic − critical illness − assistance: negative when a broader eligible base paid for out-of-scope parts. */
  readonly inScopeSelfPayFen: number;
  /** The tilt category whose critical-illness schedule applied; null for the standard schedule. */
  readonly criticalIllnessCategory: Category | null;
  /** The category whose assistance rule applied; null when none. */
  readonly assistanceCategory: Category | null;
}

export interface YearTotals {
  readonly totalFen: number;
  readonly basicPaidFen: number;
  readonly eligibleFen: number;
  readonly criticalIllnessFen: number;
  readonly assistanceFen: number;
  readonly selfPayFen: number;
  readonly inScopeSelfPayFen: number;
}

export interface YearResult {
  readonly policyId: string;
  readonly population: string;
  /** In input order. */
  readonly settlements: readonly SettlementResult[];
  readonly totals: YearTotals;
}
