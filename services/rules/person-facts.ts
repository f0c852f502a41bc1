import type {
  CivilAffairsStatusChange, HospitalSettlement, RuralRevitalizationStatusChange, StatusAgencyId, TaxContribution,
} from '../../schemas';
import type { Category, Contribution, InsuredType, MedicalType, Settlement, Status } from '../policy';
import { shanghaiDate } from '../platform/dates';

/**
 * A person's facts as the rules service keeps them: one entry per fact identity, whatever order the
 * records came in. Folding is order-independent (a higher source version replaces a lower one, a
 * reversal waits for its original), so any arrival order converges to the same facts.
 */
export type StoredFact = StoredStatus | StoredSettlement | StoredContribution;

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



export function statusFact(agency: StatusAgencyId, record: CivilAffairsStatusChange | RuralRevitalizationStatusChange): [FactField, StoredStatus] {
  return [`s:${agency}/${record.sourceRecordId}`, {
    kind: 'status', eventId: record.eventId, version: record.sourceVersion, category: record.category, action: record.action,
    from: record.validFrom, to: record.validTo,
  }];
}

export function settlementFact(record: HospitalSettlement): [FactField, StoredSettlement] {
  const key = `${record.fixmedins_code}/${record.setl_id}`;
  return [`h:${key}`, {
    kind: 'settlement', eventId: record.eventId, key,
    reversesKey: record.is_reversal && record.orig_setl_id !== null ? `${record.fixmedins_code}/${record.orig_setl_id}` : null,
    fixmedinsCode: record.fixmedins_code, setlId: record.setl_id, admdvs: record.insu_admdvs, insuredType: insuredTypeOf(record.insutype),
    medType: record.med_type, settledAt: shanghaiDate(record.setl_time), setlTime: record.setl_time,
    totalFen: record.medfee_sumamt, fullOwnPayFen: record.fulamt_ownpay_amt, overLimitFen: record.overlmt_selfpay,
    preSelfPayFen: record.preselfpay_amt, policyScopeFen: record.inscp_scp_amt, basicPaidFen: record.hifp_pay,
    settledCriticalIllnessFen: record.hifmi_pay, settledAssistanceFen: record.maf_pay, diseaseCode: record.dise_codg ?? null,
  }];
}

export function contributionFact(record: TaxContribution): [FactField, StoredContribution] {
  const key = record.sourceRecordId;
  return [`c:${key}`, {
    kind: 'contribution', eventId: record.eventId, version: record.sourceVersion, key, admdvs: record.admdvs,
    insuranceYear: record.insuranceYear, insuredType: insuredTypeOf(record.insutype), refund: record.kind === 'REFUND',
    contributionDueFen: record.contributionDueFen, subsidisedFen: record.subsidisedFen, paidAt: shanghaiDate(record.paidAt),
  }];
}

/**
 * Whether `incoming` replaces `current` under the same field: a higher source version does; for
 * settlements, which have no versions, the first one stays (a resend is the same fact). Ties keep
 * the current one, so folding is independent of arrival order.
 */
export function supersedes(incoming: StoredFact, current: StoredFact | undefined): boolean {
  if (current === undefined) return true;
  if (incoming.kind === 'settlement' || current.kind === 'settlement') return false;
  if (incoming.version !== current.version) return incoming.version > current.version;
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
  return statuses.sort((a, b) => a.from.localeCompare(b.from) || a.category.localeCompare(b.category) || String(a.to).localeCompare(String(b.to)));
}

/**
 * Settlements for the engine, for one benefit year. A reversal is passed only once its original is
 * known (a reversal that overtook its original waits for it); both then cancel.
 */
export function engineSettlements(settlements: readonly StoredSettlement[]): Settlement[] {
  const known = new Set(settlements.filter((s) => s.reversesKey === null).map((s) => s.key));
  return settlements
    .filter((s) => s.reversesKey === null || known.has(s.reversesKey))
    .map((s) => ({
      id: s.key, settledAt: s.settledAt, medicalType: medicalTypeOf(s.medType), totalFen: s.totalFen, fullOwnPayFen: s.fullOwnPayFen,
      overLimitFen: s.overLimitFen, preSelfPayFen: s.preSelfPayFen, policyScopeFen: s.policyScopeFen, basicPaidFen: s.basicPaidFen,
      ...(s.reversesKey === null ? {} : { reversesId: s.reversesKey }),
      ...(s.diseaseCode === undefined || s.diseaseCode === null ? {} : { diseaseCode: s.diseaseCode }),
    }));
}

/** Contribution records for the engine. Refunds are not subsidised contributions and are left out. */
export function engineContributions(contributions: readonly StoredContribution[]): Contribution[] {
  return contributions.filter((c) => !c.refund).map((c) => ({
    id: c.key, insuranceYear: c.insuranceYear, insuredType: c.insuredType, contributionDueFen: c.contributionDueFen,
    subsidisedFen: c.subsidisedFen, paidAt: c.paidAt,
  }));
}
