import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import avro from 'avsc';

/**
 * Settings of a topic the hub keeps for good: Kafka is the system of record, and the rules state
 * and the desk's read model are folded again from these topics.
 */
const keptForever = { 'retention.ms': '-1', 'cleanup.policy': 'delete' } as const;

/**
 * The hub's topics, their direction, their settings and the Avro schema of each: the one table the
 * rest of the hub derives topic ids and settings from. Kafka is the system of record: inbound topics
 * (one per agency, so an agency's credentials can write only its own) carry facts; outbound topics
 * carry the hub's decisions. Every record is keyed by the person key and registered under the
 * subject `<topic>-value` (TopicNameStrategy) with BACKWARD compatibility.
 */
export const topics = {
  civilAffairsStatus: {
    name: 'civil-affairs.status-changes',
    schema: 'civil-affairs-status-change',
    direction: 'inbound',
    config: keptForever,
  },
  ruralRevitalizationStatus: {
    name: 'rural-revitalization.status-changes',
    schema: 'rural-revitalization-status-change',
    direction: 'inbound',
    config: keptForever,
  },
  hospitalSettlements: { name: 'hospitals.settlements', schema: 'hospital-settlement', direction: 'inbound', config: keptForever },
  taxContributions: { name: 'tax.contributions', schema: 'tax-contribution', direction: 'inbound', config: keptForever },
  benefitAdjustments: { name: 'benefits.adjustments', schema: 'benefit-adjustment', direction: 'outbound', config: keptForever },
  subsidyCorrections: { name: 'benefits.subsidy-corrections', schema: 'subsidy-correction', direction: 'outbound', config: keptForever },
  selfPay: { name: 'benefits.self-pay', schema: 'self-pay', direction: 'outbound', config: keptForever },
  quarterlyWarnings: { name: 'warnings.quarterly', schema: 'quarterly-warning', direction: 'outbound', config: keptForever },
  deliveryReceipts: { name: 'warnings.delivery-receipts', schema: 'delivery-receipt', direction: 'outbound', config: keptForever },
  deadLetters: { name: 'hub.dead-letters', schema: 'dead-letter', direction: 'outbound', config: keptForever },
} as const satisfies Readonly<
  Record<string, { name: string; schema: string; direction: 'inbound' | 'outbound'; config: Readonly<Record<string, string>> }>
>;

export type TopicId = keyof typeof topics;

/** The topics agencies write facts to, one per agency. */
export type InboundTopicId = { [K in TopicId]: (typeof topics)[K]['direction'] extends 'inbound' ? K : never }[TopicId];

/** The inbound topic ids, in the table's order. */
export const inboundTopicIds: readonly InboundTopicId[] = (Object.keys(topics) as TopicId[]).filter(
  (id): id is InboundTopicId => topics[id].direction === 'inbound',
);

/** A topic's full name under a prefix and its settings, as `ensureTopics` takes them. */
export function topicSpec(id: TopicId, prefix: string): { name: string; config: Readonly<Record<string, string>> } {
  return { name: `${prefix}${topics[id].name}`, config: topics[id].config };
}

/**
 * The agencies: each writes one inbound topic through its connector (the id names the connector,
 * its API keys and its `hub` role); those that certify statuses also receive the quarterly warnings,
 * under their warning code.
 */
export const agencyTable = {
  'civil-affairs': { topic: 'civilAffairsStatus', warningCode: 'CIVIL_AFFAIRS' },
  'rural-revitalization': { topic: 'ruralRevitalizationStatus', warningCode: 'RURAL_REVITALIZATION' },
  hospitals: { topic: 'hospitalSettlements', warningCode: null },
  tax: { topic: 'taxContributions', warningCode: null },
} as const satisfies Readonly<Record<string, { topic: InboundTopicId; warningCode: string | null }>>;

export type AgencyId = keyof typeof agencyTable;
/** Compiles only while every inbound topic has its agency. */
const everyInboundTopicHasAnAgency: [Exclude<InboundTopicId, (typeof agencyTable)[AgencyId]['topic']>] extends [never] ? true : false =
  true;
void everyInboundTopicHasAnAgency;
/** The agencies that certify statuses and receive warnings. */
export type StatusAgencyId = { [A in AgencyId]: (typeof agencyTable)[A]['warningCode'] extends null ? never : A }[AgencyId];
/** An agency as the warnings name it. */
export type AgencyCode = NonNullable<(typeof agencyTable)[AgencyId]['warningCode']>;

/** The agency ids, in the table's order. */
export const agencyIds = Object.keys(agencyTable) as AgencyId[];
/** The warning codes, in the table's order. */
export const agencyCodes: readonly AgencyCode[] = agencyIds.flatMap((id) => agencyTable[id].warningCode ?? []);
/** The agency that writes an inbound topic. */
export const agencyOfTopic = Object.fromEntries(agencyIds.map((id) => [agencyTable[id].topic, id])) as Readonly<
  Record<InboundTopicId, AgencyId>
>;

const schemaDir = dirname(fileURLToPath(import.meta.url));

/** The .avsc text of a schema as committed (what `hub schemas register` registers). */
export function schemaText(schema: string, dir: string = schemaDir): string {
  return readFileSync(join(dir, `${schema}.avsc`), 'utf8');
}

/** Days since 1970-01-01 <-> ISO date 'YYYY-MM-DD'. Calendar dates carry no time zone. */
const dayMs = 86_400_000;
export function isoDateToDays(iso: string): number {
  return Math.round(Date.parse(`${iso}T00:00:00Z`) / dayMs);
}
export function daysToIsoDate(days: number): string {
  return new Date(days * dayMs).toISOString().slice(0, 10);
}

/** Avro `{"type":"int","logicalType":"date"}` seen from TypeScript as an ISO date string. */
export class IsoDateType extends avro.types.LogicalType {
  protected override _fromValue(days: number): string {
    return daysToIsoDate(days);
  }
  protected override _toValue(value: unknown): number | undefined {
    return typeof value === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(value) ? isoDateToDays(value) : undefined;
  }
  protected override _resolve(type: avro.Type): ((value: unknown) => unknown) | undefined {
    if (avro.Type.isType(type, 'int', 'logical:date')) return (value) => (typeof value === 'number' ? daysToIsoDate(value) : value);
    return undefined;
  }
}

/**
 * Options every Avro type of the hub is built with, here and in the registry serdes. A fresh object
 * each call: avsc keeps its registry of named types inside the options it is given.
 */
export function avroOptions(): Partial<avro.ForSchemaOptions> {
  return { logicalTypes: { date: IsoDateType } };
}

/** The avsc type of a committed schema, for local validation and tests. */
export function avroType(schema: string, dir?: string): avro.Type {
  return avro.Type.forSchema(JSON.parse(schemaText(schema, dir)) as avro.Schema, avroOptions());
}

// ---- Record types (the TypeScript view of the schemas; test/unit/schemas checks they agree) ----

/** Fields every record carries. Times are epoch milliseconds. */
export interface Envelope {
  eventId: string;
  source: string;
  occurredAt: number;
  recordedAt: number;
}

export interface PersonRef {
  personKey: string;
  idCipher: string;
}

export interface SourceRecordRef {
  sourceRecordId: string;
  sourceVersion: number;
}

export const civilAffairsCategories = ['TEKUN', 'DIBAO', 'DIBAO_EDGE', 'ORPHAN', 'ILLNESS_POVERTY'] as const;
export const ruralRevitalizationCategories = ['RELAPSED_POVERTY', 'MONITORED', 'LIFTED', 'POOR_REGISTERED'] as const;
/** 险种类型 codes the hub handles: 310 职工基本医疗保险, 390 城乡居民基本医疗保险 (hospitals' settlements and tax's contributions). */
export const insuranceTypes = ['310', '390'] as const;
export type CivilAffairsCategory = (typeof civilAffairsCategories)[number];
export type RuralRevitalizationCategory = (typeof ruralRevitalizationCategories)[number];

export interface CivilAffairsStatusChange extends Envelope, SourceRecordRef, PersonRef {
  admdvs: string;
  category: CivilAffairsCategory;
  /** WITHDRAWN: the connector's record that a newer version of the source record names another person. */
  action: 'CERTIFY' | 'REVOKE' | 'WITHDRAWN';
  validFrom: string;
  validTo: string | null;
}

export interface RuralRevitalizationStatusChange extends Envelope, SourceRecordRef, PersonRef {
  admdvs: string;
  category: RuralRevitalizationCategory;
  action: 'CERTIFY' | 'REVOKE' | 'RISK_ELIMINATED' | 'WITHDRAWN';
  validFrom: string;
  validTo: string | null;
}

export interface HospitalSettlement extends Envelope, PersonRef {
  fixmedins_code: string;
  setl_id: string;
  mdtrt_id: string;
  psn_no: string;
  insutype: string;
  insu_admdvs: string;
  med_type: string;
  setl_time: number;
  medfee_sumamt: number;
  fulamt_ownpay_amt: number;
  overlmt_selfpay: number;
  preselfpay_amt: number;
  inscp_scp_amt: number;
  hifp_pay: number;
  hifmi_pay: number;
  maf_pay: number;
  psn_part_amt: number;
  is_reversal: boolean;
  orig_setl_id: string | null;
  /** 病种编码 of a 门诊慢特病 settlement; null when the hospital sent none (the schema's default). */
  dise_codg: string | null;
}

export interface TaxContribution extends Envelope, SourceRecordRef, PersonRef {
  admdvs: string;
  insuranceYear: number;
  insutype: string;
  kind: 'PAYMENT' | 'REFUND' | 'WITHDRAWN';
  contributionDueFen: number;
  paidFen: number;
  subsidisedFen: number;
  paidAt: number;
}

export interface BenefitAdjustment extends Envelope {
  personKey: string;
  policyId: string;
  benefitYear: number;
  setlId: string;
  fixmedinsCode: string;
  settledCriticalIllnessFen: number;
  settledAssistanceFen: number;
  dueCriticalIllnessFen: number;
  dueAssistanceFen: number;
  deltaFen: number;
  kind: 'SUPPLEMENTARY_PAYMENT' | 'OVERPAID_FOR_REVIEW' | 'SETTLED_CORRECTLY';
  categoryApplied: string | null;
  reason: string;
  causedBy: string[];
  supersedes: string | null;
}

export interface SubsidyCorrection extends Envelope {
  personKey: string;
  policyId: string;
  insuranceYear: number;
  category: string;
  contributionRecordId: string;
  contributionEventId: string;
  entitledSubsidyFen: number;
  receivedSubsidyFen: number;
  deltaFen: number;
  kind: 'UNDER_SUBSIDISED' | 'OVER_SUBSIDISED' | 'CORRECT';
  reason: string;
}

export interface SelfPayYearToDate extends Envelope {
  personKey: string;
  policyId: string;
  benefitYear: number;
  settlementCount: number;
  lastSettledAt: number | null;
  medfeeFen: number;
  basicFen: number;
  criticalIllnessFen: number;
  assistanceFen: number;
  selfPayTotalFen: number;
  selfPayInScopeFen: number;
  categories: string[];
}

export interface QuarterlyWarning extends Envelope, PersonRef {
  policyId: string;
  period: string;
  windowFrom: string;
  windowTo: string;
  categories: string[];
  reasons: ('ALWAYS_REPORTED_CATEGORY' | 'SELF_PAY_OVER_THRESHOLD')[];
  basis: 'TOTAL' | 'IN_SCOPE';
  selfPayFen: number;
  thresholdFen: number;
  medfeeFen: number;
  basicFen: number;
  criticalIllnessFen: number;
  assistanceFen: number;
  routedTo: AgencyCode[];
  /** The settlements behind the totals. */
  settlements: WarningSettlement[];
  /** False on a correction that withdraws an earlier warning. */
  warned: boolean;
  supersedes: string | null;
  changes: string[];
}

export interface WarningSettlement {
  fixmedinsCode: string;
  setlId: string;
  settledAt: string;
  medfeeFen: number;
  basicFen: number;
  criticalIllnessFen: number;
  assistanceFen: number;
  selfPayFen: number;
}

export type FollowUpOutcome = 'RECEIVED' | 'ASSISTANCE_GIVEN' | 'CERTIFIED' | 'NO_ACTION';

export interface DeliveryReceipt extends Envelope {
  warningId: string;
  agency: AgencyCode;
  channel: 'WEBHOOK' | 'EXPORT_FILE';
  status: 'DELIVERED' | 'FAILED' | 'ACKNOWLEDGED' | 'FOLLOW_UP_STARTED' | 'FOLLOW_UP_CLOSED';
  attempt: number;
  detail: string | null;
  outcome: FollowUpOutcome | null;
  assistanceKind: string | null;
  assistanceFen: number | null;
  certifiedCategory: string | null;
  reason: string | null;
  agencyRecordId: string | null;
  personKey: string | null;
  period: string | null;
}

export interface DeadLetter extends Envelope {
  origin: string;
  sourceTopic: string | null;
  sourcePartition: number | null;
  sourceOffset: string | null;
  sourceRecordId: string | null;
  errorCode: string;
  errorMessage: string;
  field: string | null;
  rawFormat: 'json' | 'csv-row' | 'xlsx-row' | 'avro';
  raw: Buffer;
}

/** The record type carried by each topic. */
export interface TopicRecords {
  civilAffairsStatus: CivilAffairsStatusChange;
  ruralRevitalizationStatus: RuralRevitalizationStatusChange;
  hospitalSettlements: HospitalSettlement;
  taxContributions: TaxContribution;
  benefitAdjustments: BenefitAdjustment;
  subsidyCorrections: SubsidyCorrection;
  selfPay: SelfPayYearToDate;
  quarterlyWarnings: QuarterlyWarning;
  deliveryReceipts: DeliveryReceipt;
  deadLetters: DeadLetter;
}
