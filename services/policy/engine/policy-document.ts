import type { Agency, Category, EligiblePart, InsuredType, MedicalType, SelfPayBasis, WarningCadence, WarningWindow } from './types';

/**
 * The shape of a policy file (services/policy/policies/<id>.yaml) after YAML parsing and JSON
 * Schema validation. Every object that holds a figure cites where it comes from: `source` is the
 * seed clause ("003 二(三)"), `assumption` says why a figure the seed does not give was chosen.
 */
export interface Cited {
  readonly source?: string;
  readonly assumption?: string;
}

/**
 * The range a seed allows for the figure of the object it sits in ("不低于60%" is `min: 6000`,
 * "80%—90%" is `min: 8000, max: 9000`), in the figure's unit, cited like any figure. The object's
 * own figure is the region's choice; a choice outside the range is refused at load.
 */
export interface AllowedDocument extends Cited {
  readonly min?: number;
  readonly max?: number;
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
  /**
   * Later versions within the benefit year (issue 12 item 2): from its date, a version replaces the
   * critical-illness keys it gives and the assistance rules; the top-level keys are the version in
   * force from the start of the year. Cumulative amounts carry across a change.
   */
  readonly versions?: ReadonlyArray<
    Cited & {
      readonly from: string;
      readonly criticalIllness?: Partial<Omit<PolicyDocument['criticalIllness'], 'medicalTypes'>>;
      readonly assistance?: PolicyDocument['assistance'];
    }
  >;
  /** What counts towards the eligible amount beyond policy scope − basic (default: nothing more). */
  readonly eligibleBase?: Cited & { readonly adds: readonly EligiblePart[] };
  readonly criticalIllness: {
    readonly medicalTypes: Cited & {
      readonly types: readonly MedicalType[];
      /** Which 门诊慢特病 count, by 病种编码 prefix (001: class Ⅰ only); absent: all. */
      readonly chronicDiseases?: Cited & {
        readonly lists: ReadonlyArray<Cited & { readonly name: string; readonly codePrefixes: readonly string[] | null }>;
        readonly withoutCode: 'COUNT' | 'EXCLUDE';
      };
    };
    readonly deductibles: ReadonlyArray<DeductibleDocument & { readonly population: string }>;
    readonly segments: ReadonlyArray<
      Cited & { readonly upToFen: number | null; readonly ratioBp: number; readonly allowed?: AllowedDocument }
    >;
    readonly limit?: Cited & {
      readonly yearlyCapFen?: number;
      readonly eligibleCeilingFen?: number;
      readonly eligibleCeilingMultiple?: number;
      readonly allowed?: AllowedDocument;
    };
    readonly tilts?: ReadonlyArray<
      Cited & {
        readonly categories: readonly Category[];
        readonly deductibleFactorBp?: number;
        readonly ratioBonusBp?: number;
        readonly ratioBp?: number;
        readonly removesLimit?: boolean;
        /** The range each tilted segment ratio must fall in. */
        readonly allowed?: AllowedDocument;
      }
    >;
  };
  readonly assistance?: {
    readonly medicalTypes: Cited & { readonly types: readonly MedicalType[] };
    readonly rules: ReadonlyArray<
      Cited & {
        readonly categories: readonly Category[];
        readonly ratioBp: number;
        readonly allowed?: AllowedDocument;
        readonly deductible: DeductibleDocument;
        readonly yearlyCap: Cited & { readonly amountFen: number | null; readonly allowed?: AllowedDocument };
      }
    >;
  };
  readonly participationSubsidy?: {
    readonly rules: ReadonlyArray<
      Cited & {
        readonly categories: readonly Category[];
        readonly insuredTypes: readonly InsuredType[];
        readonly kind: 'FULL' | 'RATIO' | 'FIXED' | 'NONE';
        readonly ratioBp?: number;
        readonly amountFen?: number;
        /** For RATIO (bp) or FIXED (fen): a subsidy anywhere in this range is not flagged. */
        readonly allowed?: AllowedDocument;
      }
    >;
  };
  readonly warning: Cited & {
    readonly thresholdFen: number;
    readonly basis: SelfPayBasis;
    readonly window: WarningWindow;
    readonly cadence: WarningCadence;
    /** The immediate alert; absent: false. */
    readonly immediate?: boolean;
    readonly alwaysReported: readonly Category[];
    readonly routing: Readonly<Partial<Record<Agency, readonly Category[]>>>;
    readonly uncategorised: readonly Agency[];
  };
}
