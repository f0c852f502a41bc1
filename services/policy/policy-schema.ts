import { agencies, categories, eligibleParts, insuredTypes, medicalTypes, warningWindows } from './engine';

/**
 * JSON Schema (draft-07, checked by ajv) of a policy file. It fixes the shape and the types of
 * every key; what a schema cannot see (bounds in order, one deductible per population, a source
 * or assumption beside every figure) is checked when the policy is compiled.
 */
const cited = {
  source: { type: 'string', minLength: 1, description: 'the seed clause the figures come from, e.g. "003 二(三)"' },
  assumption: { type: 'string', minLength: 1, description: 'why a figure the seed does not give was chosen' },
} as const;

const fen = { type: 'integer', minimum: 0 } as const;
const basisPoints = { type: 'integer', minimum: 0, maximum: 10_000 } as const;
const isoDate = { type: 'string', pattern: '^\\d{4}-\\d{2}-\\d{2}$' } as const;
const categoryList = { type: 'array', items: { enum: categories }, minItems: 1, uniqueItems: true } as const;
const medicalTypeList = {
  type: 'object',
  additionalProperties: false,
  required: ['types'],
  properties: { types: { type: 'array', items: { enum: medicalTypes }, minItems: 1, uniqueItems: true }, ...cited },
} as const;
/**
 * Critical illness's medical types may also say which 门诊慢特病 count: named lists (a class such as
 * Ⅰ类门诊慢特病, or a disease list) of 病种编码 prefixes, `null` where the list's codes are not known.
 */
const criticalIllnessMedicalTypes = {
  ...medicalTypeList,
  properties: {
    ...medicalTypeList.properties,
    chronicDiseases: {
      type: 'object',
      additionalProperties: false,
      required: ['lists', 'withoutCode'],
      properties: {
        lists: {
          type: 'array',
          minItems: 1,
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['name', 'codePrefixes'],
            properties: {
              name: { type: 'string', minLength: 1, description: 'the class or list as the documents name it, e.g. Ⅰ类门诊慢特病' },
              codePrefixes: {
                anyOf: [{ type: 'array', items: { type: 'string', pattern: '^[A-Za-z0-9.]{1,20}$' }, uniqueItems: true }, { type: 'null' }],
                description: 'the 病种编码 prefixes on the list; null: the list is not known, so every code counts',
              },
              ...cited,
            },
          },
        },
        withoutCode: { enum: ['COUNT', 'EXCLUDE'] },
        ...cited,
      },
    },
  },
} as const;
const allowed = {
  type: 'object',
  additionalProperties: false,
  description: 'the range the seed allows for the figure beside it (不低于 = min), in its unit',
  properties: { min: { type: 'integer', minimum: 0 }, max: { type: 'integer', minimum: 0 }, ...cited },
} as const;
const deductible = {
  type: 'object',
  additionalProperties: false,
  properties: { amountFen: fen, ratioBp: basisPoints, parameter: { type: 'string', minLength: 1 }, ...cited },
} as const;

const criticalIllnessSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['medicalTypes', 'deductibles', 'segments'],
  properties: {
    medicalTypes: criticalIllnessMedicalTypes,
    deductibles: {
      type: 'array',
      minItems: 1,
      items: { ...deductible, required: ['population'], properties: { ...deductible.properties, population: { type: 'string' } } },
    },
    segments: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['upToFen', 'ratioBp'],
        properties: { upToFen: { type: ['integer', 'null'], minimum: 1 }, ratioBp: basisPoints, allowed, ...cited },
      },
    },
    limit: {
      type: 'object',
      additionalProperties: false,
      properties: {
        yearlyCapFen: fen,
        eligibleCeilingFen: fen,
        eligibleCeilingMultiple: { type: 'integer', minimum: 1 },
        allowed,
        ...cited,
      },
    },
    tilts: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['categories'],
        properties: {
          categories: categoryList,
          deductibleFactorBp: basisPoints,
          ratioBonusBp: basisPoints,
          ratioBp: basisPoints,
          removesLimit: { type: 'boolean' },
          allowed,
          ...cited,
        },
      },
    },
  },
} as const;
const assistanceSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['medicalTypes', 'rules'],
  properties: {
    medicalTypes: medicalTypeList,
    rules: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['categories', 'ratioBp', 'deductible', 'yearlyCap'],
        properties: {
          categories: categoryList,
          ratioBp: basisPoints,
          allowed,
          deductible,
          yearlyCap: {
            type: 'object',
            additionalProperties: false,
            required: ['amountFen'],
            properties: { amountFen: { type: ['integer', 'null'], minimum: 0 }, allowed, ...cited },
          },
          ...cited,
        },
      },
    },
  },
} as const;

const { medicalTypes: _everyVersion, ...versionedCriticalIllness } = criticalIllnessSchema.properties;

export const policySchema = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  type: 'object',
  additionalProperties: false,
  required: ['id', 'seed', 'region', 'divisions', 'document', 'benefitYear', 'populations', 'criticalIllness', 'warning'],
  properties: {
    id: { type: 'string', pattern: '^[a-z0-9]+(-[a-z0-9]+)*$' },
    seed: { type: 'string', pattern: '^\\d{3}$' },
    region: { type: 'string', minLength: 1 },
    divisions: {
      type: 'object',
      additionalProperties: false,
      required: ['codes'],
      properties: { codes: { type: 'array', minItems: 1, uniqueItems: true, items: { type: 'string', pattern: '^\\d{2,6}$' } }, ...cited },
    },
    document: { type: 'string', minLength: 1 },
    decisions: { type: 'array', items: { type: 'string', minLength: 1 } },
    benefitYear: {
      type: 'object',
      additionalProperties: false,
      required: ['start', 'end'],
      properties: { start: isoDate, end: isoDate, ...cited },
    },
    parameters: {
      type: 'object',
      propertyNames: { pattern: '^[a-zA-Z][a-zA-Z0-9]*$' },
      additionalProperties: {
        type: 'object',
        additionalProperties: false,
        required: ['amountFen'],
        properties: { amountFen: fen, ...cited },
      },
    },
    populations: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['code', 'insuredType'],
        properties: { code: { type: 'string', pattern: '^[A-Z][A-Z_]*$' }, insuredType: { enum: insuredTypes }, ...cited },
      },
    },
    eligibleBase: {
      type: 'object',
      additionalProperties: false,
      required: ['adds'],
      properties: { adds: { type: 'array', items: { enum: eligibleParts }, uniqueItems: true }, ...cited },
    },
    criticalIllness: criticalIllnessSchema,
    assistance: assistanceSchema,
    versions: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['from'],
        properties: {
          from: isoDate,
          // A later version gives some critical-illness keys (never the medical types) and/or the assistance rules.
          criticalIllness: { type: 'object', additionalProperties: false, properties: versionedCriticalIllness },
          assistance: assistanceSchema,
          ...cited,
        },
      },
    },
    participationSubsidy: {
      type: 'object',
      additionalProperties: false,
      required: ['rules'],
      properties: {
        rules: {
          type: 'array',
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['categories', 'insuredTypes', 'kind'],
            properties: {
              categories: categoryList,
              insuredTypes: { type: 'array', items: { enum: insuredTypes }, minItems: 1, uniqueItems: true },
              kind: { enum: ['FULL', 'RATIO', 'FIXED', 'NONE'] },
              ratioBp: basisPoints,
              amountFen: fen,
              allowed,
              ...cited,
            },
          },
        },
      },
    },
    warning: {
      type: 'object',
      additionalProperties: false,
      required: ['thresholdFen', 'basis', 'window', 'cadence', 'alwaysReported', 'routing', 'uncategorised'],
      properties: {
        thresholdFen: fen,
        basis: { enum: ['TOTAL', 'IN_SCOPE'] },
        window: { enum: warningWindows },
        cadence: { enum: ['QUARTERLY', 'MONTHLY'] },
        immediate: {
          type: 'boolean',
          description: "warn a person at once when the self-pay crosses the threshold mid-period (default false: at the period's run)",
        },
        alwaysReported: { type: 'array', items: { enum: categories }, uniqueItems: true },
        routing: {
          type: 'object',
          additionalProperties: false,
          properties: Object.fromEntries(agencies.map((agency) => [agency, categoryList])),
        },
        uncategorised: { type: 'array', items: { enum: agencies }, uniqueItems: true },
        ...cited,
      },
    },
  },
} as const;
