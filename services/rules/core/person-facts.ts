import type {
  CivilAffairsStatusChange,
  HospitalSettlement,
  RuralRevitalizationStatusChange,
  StatusAgencyId,
  TaxContribution,
} from '../../../schemas';
import type { Category, Contribution, InsuredType, MedicalType, Settlement, Status } from '../../policy';
import { shanghaiDate } from '../../platform';

/**
 * A person's facts as the rules service keeps them: one entry per fact identity, whatever order the
 * records came in. Folding is order-independent (a higher source version replaces a lower one, a
 * reversal waits for its original), so any arrival order converges to the same facts.
 */
export type StoredFact = StoredStatus | StoredSettlement | StoredContribution | StoredWithdrawal;

/**
 * What is left of a status or contribution record under a person once a newer version of it named
 * another person (the connector's WITHDRAWN record): its version, so that an older version arriving
 * later does not bring it back, and nothing for the engine.
 */
export interface StoredWithdrawal {
  readonly kind: 'withdrawal';
  readonly eventId: string;
  readonly version: number;
}

export interface StoredStatus {
  readonly kind: 'status';
  readonly eventId: string;
  readonly version: number;
  readonly category: Category;
  readonly action: 'CERTIFY' | 'REVOKE' | 'RISK_ELIMINATED';
  readonly from: string;
  readonly to: string | null;
}

export interface StoredSettlement {
  readonly kind: 'settlement';
  readonly eventId: string;
  readonly key: string;
  readonly reversesKey: string | null;
  readonly fixmedinsCode: string;
  readonly setlId: string;
  readonly admdvs: string;
  readonly insuredType: InsuredType;
  readonly medType: string;
  readonly settledAt: string;
  readonly setlTime: number;
  readonly totalFen: number;
  readonly fullOwnPayFen: number;
  readonly overLimitFen: number;
  readonly preSelfPayFen: number;
  readonly policyScopeFen: number;
  readonly basicPaidFen: number;
  readonly settledCriticalIllnessFen: number;
  readonly settledAssistanceFen: number;
  /** 病种编码 (dise_codg) of a 门诊慢特病 settlement; null or absent when none was sent. */
  readonly diseaseCode?: string | null;
}

export interface StoredContribution {
  readonly kind: 'contribution';
  readonly eventId: string;
  readonly version: number;
  readonly key: string;
  readonly admdvs: string;
  readonly insuranceYear: number;
  readonly insuredType: InsuredType;
  readonly refund: boolean;
  readonly contributionDueFen: number;
  readonly subsidisedFen: number;
  readonly paidAt: string;
}

/** The field of a fact in the person's hash: one per fact identity. */
export type FactField = `s:${string}` | `h:${string}` | `c:${string}`;

/** 险种类型 310 is the employee scheme (职工医保); 390 the resident scheme (城乡居民医保). */
export function insuredTypeOf(insutype: string): InsuredType {
  return insutype === '310' ? 'EMPLOYEE' : 'RESIDENT';
}

/**
 * 医疗类别 of the national dictionary, grouped as the policies count them: 2x are inpatient stays,
 * 14 and 15 outpatient chronic and special diseases (门诊慢特病), everything else general outpatient.
 */
export function medicalTypeOf(medType: string): MedicalType {
  if (/^2\d*$/.test(medType) && medType !== '2') return 'INPATIENT';
  if (medType === '14' || medType === '15' || medType.startsWith('14')) return 'OUTPATIENT_CHRONIC';
  return 'OUTPATIENT_GENERAL';
}

export function statusFact(
  agency: StatusAgencyId,
  record: CivilAffairsStatusChange | RuralRevitalizationStatusChange,
): [FactField, StoredStatus | StoredWithdrawal] {
  const field: FactField = `s:${agency}/${record.sourceRecordId}`;
  if (record.action === 'WITHDRAWN') return [field, { kind: 'withdrawal', eventId: record.eventId, version: record.sourceVersion }];
  return [
    field,
    {
      kind: 'status',
      eventId: record.eventId,
      version: record.sourceVersion,
      category: record.category,
      action: record.action,
      from: record.validFrom,
      to: record.validTo,
    },
  ];
}

export function settlementFact(record: HospitalSettlement): [FactField, StoredSettlement] {
  const key = `${record.fixmedins_code}/${record.setl_id}`;
  return [
    `h:${key}`,
    {
      kind: 'settlement',
      eventId: record.eventId,
      key,
      reversesKey: record.is_reversal && record.orig_setl_id !== null ? `${record.fixmedins_code}/${record.orig_setl_id}` : null,
      fixmedinsCode: record.fixmedins_code,
      setlId: record.setl_id,
      admdvs: record.insu_admdvs,
      insuredType: insuredTypeOf(record.insutype),
      medType: record.med_type,
      settledAt: shanghaiDate(record.setl_time),
      setlTime: record.setl_time,
      totalFen: record.medfee_sumamt,
      fullOwnPayFen: record.fulamt_ownpay_amt,
      overLimitFen: record.overlmt_selfpay,
      preSelfPayFen: record.preselfpay_amt,
      policyScopeFen: record.inscp_scp_amt,
      basicPaidFen: record.hifp_pay,
      settledCriticalIllnessFen: record.hifmi_pay,
      settledAssistanceFen: record.maf_pay,
      diseaseCode: record.dise_codg ?? null,
    },
  ];
}

export function contributionFact(record: TaxContribution): [FactField, StoredContribution | StoredWithdrawal] {
  const key = record.sourceRecordId;
  if (record.kind === 'WITHDRAWN') return [`c:${key}`, { kind: 'withdrawal', eventId: record.eventId, version: record.sourceVersion }];
  return [
    `c:${key}`,
    {
      kind: 'contribution',
      eventId: record.eventId,
      version: record.sourceVersion,
      key,
      admdvs: record.admdvs,
      insuranceYear: record.insuranceYear,
      insuredType: insuredTypeOf(record.insutype),
      refund: record.kind === 'REFUND',
      contributionDueFen: record.contributionDueFen,
      subsidisedFen: record.subsidisedFen,
      paidAt: shanghaiDate(record.paidAt),
    },
  ];
}

/**
 * Whether `incoming` replaces `current` under the same field: a higher source version does; for
 * settlements, which have no versions, the first one stays (a resend is the same fact). At the same
 * version a withdrawal wins (that version names another person), otherwise the smaller event id:
 * folding is independent of arrival order.
 */
export function supersedes(incoming: StoredFact, current: StoredFact | undefined): boolean {
  if (current === undefined) return true;
  if (incoming.kind === 'settlement' || current.kind === 'settlement') return false;
  if (incoming.version !== current.version) return incoming.version > current.version;
  if ((incoming.kind === 'withdrawal') !== (current.kind === 'withdrawal')) return incoming.kind === 'withdrawal';
  return incoming.eventId < current.eventId;
}

/**
 * The statuses the engine sees. A certification holds over [validFrom, validTo). A revocation or
 * risk elimination (风险消除) holds until its end date and also ends, at that date, every other
 * interval of the same category that began before it; a later re-certification is untouched.
 */
export function engineStatuses(facts: Iterable<StoredFact>): Status[] {
  const records = [...facts].filter((fact): fact is StoredStatus => fact.kind === 'status');
  const endings = records.filter((s) => s.action !== 'CERTIFY' && s.to !== null);
  const statuses: Status[] = [];
  for (const record of records) {
    let to = record.to;
    for (const ending of endings) {
      if (ending === record || ending.category !== record.category || ending.to === null) continue;
      if (record.from < ending.to && (to === null || to > ending.to)) to = ending.to;
    }
    if (to === null || to > record.from) statuses.push({ category: record.category, from: record.from, to });
  }
  return statuses.sort(
    (a, b) => a.from.localeCompare(b.from) || a.category.localeCompare(b.category) || String(a.to).localeCompare(String(b.to)),
  );
}

/** A settlement the rules service keeps but does not hand the engine, and why. */
export interface RefusedSettlement {
  readonly settlement: StoredSettlement;
  readonly code: 'INPUT_INVALID' | 'REVERSAL_MISMATCH' | 'REVERSAL_DUPLICATE';
  /** The offending field, by the national interface's name (hifmi_pay, orig_setl_id, …). */
  readonly field: string;
  readonly reason: string;
}

/** What the engine does not see of a settlement, which a reversal must repeat too. */
const repeatedBeyondEngine = [
  ['medType', 'med_type'],
  ['insuredType', 'insutype'],
  ['settledCriticalIllnessFen', 'hifmi_pay'],
  ['settledAssistanceFen', 'maf_pay'],
] as const;

/**
 * A person's settlements as the rules service hands them on: a reversal waits (neither handed on
 * nor refused) until the settlement it names is known, since out of order is normal; one that names
 * a reversal, or does not repeat what the engine does not see of its original (the medical-type
 * code, the insured type, what the critical-illness and assistance funds paid), is refused. The
 * engine screens the rest (screenFacts): amounts, dates, a second reversal.
 */
export function screenSettlements(settlements: readonly StoredSettlement[]): {
  settlements: StoredSettlement[];
  refused: RefusedSettlement[];
} {
  const byKey = new Map(settlements.map((s) => [s.key, s]));
  const kept: StoredSettlement[] = [];
  const refused: RefusedSettlement[] = [];
  for (const settlement of settlements) {
    if (settlement.reversesKey === null) {
      kept.push(settlement);
      continue;
    }
    const original = byKey.get(settlement.reversesKey);
    if (original === undefined) continue; // waits for its original
    if (original.reversesKey !== null) {
      refused.push({
        settlement,
        code: 'INPUT_INVALID',
        field: 'orig_setl_id',
        reason: `${original.key} is itself a reversal, not a settlement`,
      });
      continue;
    }
    const differing = repeatedBeyondEngine.find(([field]) => settlement[field] !== original[field]);
    if (differing !== undefined) {
      const [field, wireName] = differing;
      refused.push({
        settlement,
        code: 'REVERSAL_MISMATCH',
        field: wireName,
        reason: `a reversal repeats the ${wireName} of ${original.key} (${original[field]}), got ${settlement[field]}`,
      });
      continue;
    }
    kept.push(settlement);
  }
  return { settlements: kept, refused };
}

/** The national interface's name of an engine settlement field, for refusals the engine words. */
export const wireNameOf: Readonly<Record<string, string>> = {
  id: 'setl_id',
  settledAt: 'setl_time',
  medicalType: 'med_type',
  totalFen: 'medfee_sumamt',
  fullOwnPayFen: 'fulamt_ownpay_amt',
  overLimitFen: 'overlmt_selfpay',
  preSelfPayFen: 'preselfpay_amt',
  policyScopeFen: 'inscp_scp_amt',
  basicPaidFen: 'hifp_pay',
  reversesId: 'orig_setl_id',
};

/**
 * Settlements for the engine, for one benefit year: those `screenSettlements` hands on (a reversal
 * only once its original is known; both then cancel). The engine's own screen (screenFacts) then
 * leaves out what it cannot compute with.
 */
export function engineSettlements(settlements: readonly StoredSettlement[]): Settlement[] {
  return screenSettlements(settlements).settlements.map((s) => ({
    id: s.key,
    settledAt: s.settledAt,
    medicalType: medicalTypeOf(s.medType),
    totalFen: s.totalFen,
    fullOwnPayFen: s.fullOwnPayFen,
    overLimitFen: s.overLimitFen,
    preSelfPayFen: s.preSelfPayFen,
    policyScopeFen: s.policyScopeFen,
    basicPaidFen: s.basicPaidFen,
    ...(s.reversesKey === null ? {} : { reversesId: s.reversesKey }),
    ...(s.diseaseCode === undefined || s.diseaseCode === null ? {} : { diseaseCode: s.diseaseCode }),
  }));
}

/** Contribution records for the engine. Refunds are not subsidised contributions and are left out. */
export function engineContributions(contributions: readonly StoredContribution[]): Contribution[] {
  return contributions
    .filter((c) => !c.refund)
    .map((c) => ({
      id: c.key,
      insuranceYear: c.insuranceYear,
      insuredType: c.insuredType,
      contributionDueFen: c.contributionDueFen,
      subsidisedFen: c.subsidisedFen,
      paidAt: c.paidAt,
    }));
}
