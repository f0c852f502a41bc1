import type { Agency, Category, InsuredType, MedicalType, SelfPayBasis, WarningCadence } from './types';

/**
 * The shape of a policy file (services/policy/policies/<id>.yaml) after YAML parsing and JSON
 * Schema validation. Every object that holds a figure cites where it comes from: `source` is the
 * seed clause ("003 二(三)"), `assumption` says why a figure the seed does not give was chosen.
 */
export interface Cited {
  readonly source?: string;
  readonly assumption?: string;
}

/** A deductible (起付线) as an amount, or as a ratio of a named parameter (per-capita disposable income). */
export interface DeductibleDocument extends Cited {
  readonly amountFen?: number;
  readonly ratioBp?: number;
  readonly parameter?: string;
}

export interface PolicyDocument {
  readonly id: string;
  readonly seed: string;
  readonly region: string;
  /** Administrative division codes (GB/T 2260) the policy covers, as prefixes: "3303" is all of Wenzhou. */
  readonly divisions: Cited & { readonly codes: readonly string[] };
  readonly document: string;
  /** Decisions taken where the seed is silent, in words. */
  readonly decisions?: readonly string[];
  readonly benefitYear: Cited & { readonly start: string; readonly end: string };
  /** Named figures other rules refer to, such as a per-capita disposable income. */
  readonly parameters?: Readonly<Record<string, Cited & { readonly amountFen: number }>>;
  readonly populations: ReadonlyArray<Cited & { readonly code: string; readonly insuredType: InsuredType }>;
  readonly criticalIllness: {
    readonly medicalTypes: Cited & { readonly types: readonly MedicalType[] };
    readonly deductibles: ReadonlyArray<DeductibleDocument & { readonly population: string }>;
    readonly segments: ReadonlyArray<Cited & { readonly upToFen: number | null; readonly ratioBp: number }>;
    readonly limit?: Cited & {
      readonly yearlyCapFen?: number;
      readonly eligibleCeilingFen?: number;
      readonly eligibleCeilingMultiple?: number;
    };
    readonly tilts?: ReadonlyArray<Cited & {
      readonly categories: readonly Category[];
      readonly deductibleFactorBp?: number;
      readonly ratioBonusBp?: number;
      readonly ratioBp?: number;
      readonly removesLimit?: boolean;
    }>;
  };
  readonly assistance?: {
    readonly medicalTypes: Cited & { readonly types: readonly MedicalType[] };
    readonly rules: ReadonlyArray<Cited & {
      readonly categories: readonly Category[];
      readonly ratioBp: number;
      readonly deductible: DeductibleDocument;
      readonly yearlyCap: Cited & { readonly amountFen: number | null };
    }>;
  };
  readonly participationSubsidy?: {
    readonly rules: ReadonlyArray<Cited & {
      readonly categories: readonly Category[];
      readonly insuredTypes: readonly InsuredType[];
      readonly kind: 'FULL' | 'RATIO' | 'FIXED' | 'NONE';
      readonly ratioBp?: number;
      readonly amountFen?: number;
    }>;
  };
  readonly warning: Cited & {
    readonly thresholdFen: number;
    readonly basis: SelfPayBasis;
    readonly window: 'YEAR_TO_DATE';
    readonly cadence: WarningCadence;
    readonly alwaysReported: readonly Category[];
    readonly routing: Readonly<Partial<Record<Agency, readonly Category[]>>>;
    readonly uncategorised: readonly Agency[];
  };
}
