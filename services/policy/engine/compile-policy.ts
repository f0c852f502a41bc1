import { isRealDate } from './dates';
import { policyError } from './input-error';
import { BASIS_POINTS, applyRatio } from './money';
import type { AllowedDocument, DeductibleDocument, PolicyDocument } from './policy-document';
import { insuredTypes } from './types';
import type {
  Agency,
  AssistanceRule,
  Category,
  CriticalIllnessSchedule,
  MedicalType,
  Policy,
  Population,
  SubsidyEntitlement,
  SubsidyRule,
} from './types';

/**
 * Turns a schema-valid policy document into the tables the engine runs on, refusing what the
 * schema cannot see (overlapping categories, unordered segment bounds, a figure without a source
 * or assumption) with POLICY_INVALID naming the file and the path of the bad key.
 */
export function compilePolicy(document: PolicyDocument, file: string): Policy {
  const first = compileVersion(document, file, '');
  const fail = (path: string, reason: string): never => {
    throw policyError(file, path, reason);
  };
  // Dated versions within the benefit year (issue 12 item 2): each is the top level with the keys
  // it gives replaced, compiled and checked like a whole file.
  const versions: Array<{ readonly from: string; readonly populations: readonly Population[] }> = [
    { from: first.benefitYear.start, populations: first.populations },
  ];
  (document.versions ?? []).forEach((version, v) => {
    const path = `/versions/${v}`;
    if (!isRealDate(version.from)) fail(`${path}/from`, `"${version.from}" is not a real date`);
    const previous = versions[versions.length - 1]?.from ?? first.benefitYear.start;
    if (version.from <= previous || version.from > first.benefitYear.end)
      fail(`${path}/from`, `must be after ${previous} and within the benefit year`);
    if (version.criticalIllness === undefined && version.assistance === undefined)
      fail(path, 'gives neither criticalIllness nor assistance');
    const assistance = version.assistance ?? document.assistance;
    const versioned: PolicyDocument = {
      ...document,
      versions: [],
      criticalIllness: { ...document.criticalIllness, ...version.criticalIllness },
      ...(assistance === undefined ? {} : { assistance }),
    };
    versions.push(Object.freeze({ from: version.from, populations: compileVersion(versioned, file, path).populations }));
  });
  return Object.freeze({ ...first, versions: Object.freeze(versions) });
}

function compileVersion(document: PolicyDocument, file: string, prefix: string): Omit<Policy, 'versions'> {
  const fail = (path: string, reason: string): never => {
    throw policyError(file, `${prefix}${path}`, reason);
  };
  requireCitations(document, '', fail);

  const { benefitYear } = document;
  if (!isRealDate(benefitYear.start)) fail('/benefitYear/start', `"${benefitYear.start}" is not a real date`);
  if (!isRealDate(benefitYear.end)) fail('/benefitYear/end', `"${benefitYear.end}" is not a real date`);
  if (benefitYear.end < benefitYear.start) fail('/benefitYear/end', 'must not be before start');

  // Ranges and minima are data (issue 12 item 3): a region's figure outside its seed's range is refused.
  const checkAllowed = (
    value: number | null,
    range: AllowedDocument | undefined,
    path: string,
  ): { readonly min: number; readonly max: number } | null => {
    if (range === undefined) return null;
    const min = range.min ?? 0;
    const max = range.max ?? Infinity;
    if (range.min === undefined && range.max === undefined) fail(`${path}/allowed`, 'give min, max or both');
    if (min > max) fail(`${path}/allowed`, `min ${min} is above max ${max}`);
    const shown = `[${min}, ${max === Infinity ? 'no maximum' : max}]`;
    if (value === null ? max !== Infinity : value < min || value > max)
      fail(path, `${value === null ? 'none' : value} is outside the range the seed allows ${shown}`);
    return { min, max };
  };

  const parameters = document.parameters ?? {};
  const resolveDeductible = (deductible: DeductibleDocument, path: string): number => {
    if (deductible.amountFen !== undefined) {
      if (deductible.ratioBp !== undefined || deductible.parameter !== undefined)
        fail(path, 'give amountFen or ratioBp with parameter, not both');
      return deductible.amountFen;
    }
    if (deductible.ratioBp === undefined || deductible.parameter === undefined)
      return fail(path, 'needs amountFen, or ratioBp with parameter');
    const parameter = parameters[deductible.parameter];
    if (parameter === undefined) return fail(`${path}/parameter`, `"${deductible.parameter}" is not a parameter of this policy`);
    // Rounded half up to the fen, like every ratio in the engine.
    return applyRatio(parameter.amountFen, deductible.ratioBp);
  };

  // Payment segments (分段比例): bounds strictly increasing, only the last one open.
  const { criticalIllness } = document;
  const segments = criticalIllness.segments;
  if (segments.length === 0) fail('/criticalIllness/segments', 'must list at least one segment');
  segments.forEach((segment, k) => {
    checkAllowed(segment.ratioBp, segment.allowed, `/criticalIllness/segments/${k}`);
    const last = k === segments.length - 1;
    if (last !== (segment.upToFen === null))
      fail(`/criticalIllness/segments/${k}/upToFen`, last ? 'the last segment must be open (null)' : 'only the last segment may be open');
    const previous = k > 0 ? segments[k - 1]?.upToFen : null;
    if (segment.upToFen !== null && previous !== undefined && previous !== null && segment.upToFen <= previous) {
      fail(`/criticalIllness/segments/${k}/upToFen`, "must be above the previous segment's bound");
    }
  });
  const uppersFen = segments.map((segment) => segment.upToFen ?? Infinity);
  const baseRatiosBp = segments.map((segment) => segment.ratioBp);

  const limit = criticalIllness.limit;
  if (limit !== undefined) {
    const kinds = [limit.yearlyCapFen, limit.eligibleCeilingFen, limit.eligibleCeilingMultiple].filter((v) => v !== undefined);
    if (kinds.length !== 1) fail('/criticalIllness/limit', 'give exactly one of yearlyCapFen, eligibleCeilingFen, eligibleCeilingMultiple');
    checkAllowed(kinds[0] ?? null, limit.allowed, '/criticalIllness/limit');
  }

  const schedule = (
    deductibleFen: number,
    standardDeductibleFen: number,
    ratiosBp: readonly number[],
    limited: boolean,
  ): CriticalIllnessSchedule => {
    // POLICIES.md decision: a lowered deductible moves the first segment's lower bound only; the
    // other bounds stay. A bound below the deductible leaves its segment empty.
    const lowersFen = uppersFen.map((_, k) => Math.max(deductibleFen, k === 0 ? deductibleFen : (uppersFen[k - 1] ?? deductibleFen)));
    let yearlyCapFen: number | null = null;
    let eligibleCeilingFen: number | null = null;
    if (limited && limit !== undefined) {
      if (limit.yearlyCapFen !== undefined) yearlyCapFen = limit.yearlyCapFen;
      if (limit.eligibleCeilingFen !== undefined) eligibleCeilingFen = limit.eligibleCeilingFen;
      // A ceiling set as a multiple of the deductible (000: 15 ×) multiplies the population's
      // standard deductible: the seed sets one 起付标准 for the year, tilted or not.
      if (limit.eligibleCeilingMultiple !== undefined) eligibleCeilingFen = limit.eligibleCeilingMultiple * standardDeductibleFen;
    }
    return Object.freeze({
      deductibleFen,
      lowersFen: Object.freeze(lowersFen),
      uppersFen: Object.freeze([...uppersFen]),
      ratiosBp: Object.freeze([...ratiosBp]),
      yearlyCapFen,
      eligibleCeilingFen,
    });
  };

  const tilts = criticalIllness.tilts ?? [];
  const tiltCategories = new Set<Category>();
  tilts.forEach((tilt, t) => {
    const path = `/criticalIllness/tilts/${t}`;
    for (const category of tilt.categories) {
      if (tiltCategories.has(category)) fail(`${path}/categories`, `${category} is already tilted by an earlier entry`);
      tiltCategories.add(category);
    }
    if (tilt.ratioBonusBp !== undefined && tilt.ratioBp !== undefined) fail(path, 'give ratioBonusBp or ratioBp, not both');
    baseRatiosBp.forEach((ratio, k) => {
      const tilted = tilt.ratioBp ?? ratio + (tilt.ratioBonusBp ?? 0);
      if (tilted > BASIS_POINTS) fail(path, `segment ${k}'s tilted ratio ${tilted} bp is above 100%`);
      checkAllowed(tilted, tilt.allowed, path);
    });
  });

  const assistanceByCategory: Array<readonly [Category, AssistanceRule]> = [];
  const assistanceCategories = new Set<Category>();
  (document.assistance?.rules ?? []).forEach((rule, r) => {
    const path = `/assistance/rules/${r}`;
    const deductibleFen = resolveDeductible(rule.deductible, `${path}/deductible`);
    checkAllowed(rule.ratioBp, rule.allowed, path);
    checkAllowed(rule.yearlyCap.amountFen, rule.yearlyCap.allowed, `${path}/yearlyCap`);
    for (const category of rule.categories) {
      if (assistanceCategories.has(category)) fail(`${path}/categories`, `${category} already has an assistance rule`);
      assistanceCategories.add(category);
      assistanceByCategory.push([
        category,
        Object.freeze({ deductibleFen, ratioBp: rule.ratioBp, yearlyCapFen: rule.yearlyCap.amountFen }),
      ] as const);
    }
  });
  const populationCodes = new Set<string>();
  const populations: Population[] = document.populations.map((population, p) => {
    if (populationCodes.has(population.code)) fail(`/populations/${p}/code`, `"${population.code}" is listed twice`);
    populationCodes.add(population.code);
    const matches = criticalIllness.deductibles
      .map((deductible, d) => ({ deductible, d }))
      .filter(({ deductible }) => deductible.population === population.code);
    const found = matches[0];
    if (found === undefined || matches.length > 1)
      return fail('/criticalIllness/deductibles', `needs exactly one deductible for population ${population.code}`);
    const standardFen = resolveDeductible(found.deductible, `/criticalIllness/deductibles/${found.d}`);
    const base = schedule(standardFen, standardFen, baseRatiosBp, true);
    const byCategory: Array<readonly [Category, CriticalIllnessSchedule]> = [];
    for (const tilt of tilts) {
      const ratios = baseRatiosBp.map((ratio) => tilt.ratioBp ?? ratio + (tilt.ratioBonusBp ?? 0));
      const deductibleFen = tilt.deductibleFactorBp === undefined ? standardFen : applyRatio(standardFen, tilt.deductibleFactorBp);
      const tilted = schedule(deductibleFen, standardFen, ratios, tilt.removesLimit !== true);
      for (const category of tilt.categories) byCategory.push([category, tilted] as const);
    }
    return Object.freeze({
      code: population.code,
      insuredType: population.insuredType,
      criticalIllnessCovered: true,
      criticalIllness: Object.freeze({ base, byCategory: Object.freeze(byCategory) }),
      assistanceByCategory: Object.freeze([...assistanceByCategory]),
    });
  });
  // Everyone insured is in scope (issue 16): an insured type the policy's critical-illness tier
  // does not cover (employees under a residents' scheme) still gets a computed year, with basic
  // insurance as settled, no critical-illness tier, and the assistance its categories entitle to.
  for (const insuredType of insuredTypes) {
    if (populations.some((population) => population.insuredType === insuredType)) continue;
    populations.push(
      Object.freeze({
        code: insuredType,
        insuredType,
        criticalIllnessCovered: false,
        criticalIllness: Object.freeze({ base: paysNothing, byCategory: Object.freeze([]) }),
        assistanceByCategory: Object.freeze([...assistanceByCategory]),
      }),
    );
  }
  criticalIllness.deductibles.forEach((deductible, d) => {
    if (!populationCodes.has(deductible.population))
      fail(`/criticalIllness/deductibles/${d}/population`, `"${deductible.population}" is not a listed population`);
  });

  const subsidyRules: SubsidyRule[] = (document.participationSubsidy?.rules ?? []).map((rule, r) => {
    const path = `/participationSubsidy/rules/${r}`;
    const entitlement = ((): SubsidyEntitlement => {
      switch (rule.kind) {
        case 'FULL':
          return { kind: 'FULL' };
        case 'NONE':
          return { kind: 'NONE' };
        case 'RATIO':
          return rule.ratioBp === undefined
            ? fail(`${path}/ratioBp`, 'is required for kind RATIO')
            : { kind: 'RATIO', ratioBp: rule.ratioBp };
        case 'FIXED':
          return rule.amountFen === undefined
            ? fail(`${path}/amountFen`, 'is required for kind FIXED')
            : { kind: 'FIXED', amountFen: rule.amountFen };
      }
    })();
    if (rule.kind !== 'RATIO' && rule.ratioBp !== undefined) fail(`${path}/ratioBp`, `is only for kind RATIO`);
    if (rule.kind !== 'FIXED' && rule.amountFen !== undefined) fail(`${path}/amountFen`, `is only for kind FIXED`);
    if (rule.allowed !== undefined && rule.kind !== 'RATIO' && rule.kind !== 'FIXED')
      fail(`${path}/allowed`, 'is only for kind RATIO or FIXED');
    const accepted = checkAllowed(rule.kind === 'RATIO' ? (rule.ratioBp ?? 0) : (rule.amountFen ?? 0), rule.allowed, path);
    return Object.freeze({
      categories: Object.freeze([...rule.categories]),
      insuredTypes: Object.freeze([...rule.insuredTypes]),
      entitlement,
      accepted: accepted === null ? null : Object.freeze(accepted),
    });
  });

  const warning = document.warning;
  const routing = (Object.entries(warning.routing) as Array<[Agency, readonly Category[]]>).map(
    ([agency, routed]) => [agency, Object.freeze([...routed])] as const,
  );

  const medicalTypeSet = (types: readonly MedicalType[]): ReadonlySet<MedicalType> => new Set(types);
  // Assistance is computed on what remains after critical illness, on one cumulative amount: with
  // other medical types the insurance paid on one set of costs would be taken off another.
  const assistanceTypes = document.assistance?.medicalTypes.types;
  if (assistanceTypes !== undefined) {
    const ciTypes = new Set(criticalIllness.medicalTypes.types);
    if (assistanceTypes.length !== ciTypes.size || assistanceTypes.some((type) => !ciTypes.has(type))) {
      fail('/assistance/medicalTypes/types', `must be the critical-illness medical types (${[...ciTypes].join(', ')})`);
    }
  }
  return {
    id: document.id,
    seed: document.seed,
    region: document.region,
    divisions: [...document.divisions.codes],
    benefitYear: Object.freeze({ start: benefitYear.start, end: benefitYear.end }),
    populations: Object.freeze(populations),
    criticalIllnessMedicalTypes: medicalTypeSet(criticalIllness.medicalTypes.types),
    eligibleParts: new Set(document.eligibleBase?.adds ?? []),
    chronicDiseases: ((): Policy['chronicDiseases'] => {
      const chronic = criticalIllness.medicalTypes.chronicDiseases;
      if (chronic === undefined) return null;
      if (!criticalIllness.medicalTypes.types.includes('OUTPATIENT_CHRONIC'))
        fail('/criticalIllness/medicalTypes/chronicDiseases', 'needs OUTPATIENT_CHRONIC among the types');
      const lists = chronic.lists.map((list, i) => {
        const cites = (list.source ?? '').trim() !== '' || (list.assumption ?? '').trim() !== '';
        if (!cites)
          fail(
            `/criticalIllness/medicalTypes/chronicDiseases/lists/${i}`,
            'a disease list needs a source (seed clause) or an assumption (with its reason)',
          );
        return Object.freeze({ name: list.name, codePrefixes: list.codePrefixes === null ? null : Object.freeze([...list.codePrefixes]) });
      });
      return Object.freeze({ lists: Object.freeze(lists), withoutCode: chronic.withoutCode });
    })(),
    assistanceMedicalTypes: medicalTypeSet(document.assistance?.medicalTypes.types ?? []),
    subsidyRules: Object.freeze(subsidyRules),
    warning: Object.freeze({
      thresholdFen: warning.thresholdFen,
      basis: warning.basis,
      window: warning.window,
      cadence: warning.cadence,
      immediate: warning.immediate ?? false,
      alwaysReported: Object.freeze([...warning.alwaysReported]),
      routing: Object.freeze(routing),
      uncategorised: Object.freeze([...warning.uncategorised]),
    }),
  };
}

/** The critical-illness schedule of a population the tier does not cover: it pays nothing. */
const paysNothing: CriticalIllnessSchedule = Object.freeze({
  deductibleFen: 0,
  lowersFen: Object.freeze([0]),
  uppersFen: Object.freeze([Infinity]),
  ratiosBp: Object.freeze([0]),
  yearlyCapFen: null,
  eligibleCeilingFen: null,
});

/** Every object holding a figure (a number, or a null standing for "none") names its source or assumption. */
function requireCitations(node: unknown, path: string, fail: (path: string, reason: string) => never): void {
  if (Array.isArray(node)) {
    node.forEach((item, i) => requireCitations(item, `${path}/${i}`, fail));
    return;
  }
  if (node === null || typeof node !== 'object') return;
  const entries = Object.entries(node);
  const holdsFigure = entries.some(([, value]) => typeof value === 'number' || value === null);
  if (
    holdsFigure &&
    !entries.some(([key, value]) => (key === 'source' || key === 'assumption') && typeof value === 'string' && value.trim() !== '')
  ) {
    fail(path === '' ? '/' : path, 'a figure needs a source (seed clause) or an assumption (with its reason)');
  }
  for (const [key, value] of entries) requireCitations(value, `${path}/${key}`, fail);
}
