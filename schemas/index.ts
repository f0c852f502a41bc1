import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import avro from 'avsc';

/**
 * The hub's topics and the Avro schema of each. Kafka is the system of record: inbound topics
 * (one per agency, so an agency's credentials can write only its own) carry facts; outbound topics
 * carry the hub's decisions. Every record is keyed by the person key and registered under the
 * subject `<topic>-value` (TopicNameStrategy) with BACKWARD compatibility.
 */
export const topics = {
  civilAffairsStatus: { name: 'civil-affairs.status-changes', schema: 'civil-affairs-status-change', direction: 'inbound' },
  ruralRevitalizationStatus: { name: 'rural-revitalization.status-changes', schema: 'rural-revitalization-status-change', direction: 'inbound' },
  hospitalSettlements: { name: 'hospitals.settlements', schema: 'hospital-settlement', direction: 'inbound' },
  taxContributions: { name: 'tax.contributions', schema: 'tax-contribution', direction: 'inbound' },
  benefitAdjustments: { name: 'benefits.adjustments', schema: 'benefit-adjustment', direction: 'outbound' },
  subsidyCorrections: { name: 'benefits.subsidy-corrections', schema: 'subsidy-correction', direction: 'outbound' },
  selfPay: { name: 'benefits.self-pay', schema: 'self-pay', direction: 'outbound' },
  quarterlyWarnings: { name: 'warnings.quarterly', schema: 'quarterly-warning', direction: 'outbound' },
  deliveryReceipts: { name: 'warnings.delivery-receipts', schema: 'delivery-receipt', direction: 'outbound' },
  deadLetters: { name: 'hub.dead-letters', schema: 'dead-letter', direction: 'outbound' },
} as const;

export type TopicId = keyof typeof topics;

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

export type AgencyCode = 'CIVIL_AFFAIRS' | 'RURAL_REVITALIZATION';

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
