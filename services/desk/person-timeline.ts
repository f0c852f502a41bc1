import type { AgencyCode } from '../../schemas';
import type { Queryable } from './db';
import { outcomesSql, toWarningRow, type WarningRow } from './warning-list';

/**
 * Everything the desk knows of one person, in date order per kind: statuses with their intervals
 * and source agency, settlements with what each fund paid, supplementary payments, subsidy
 * corrections, self-pay per year, warnings with their deliveries and follow-ups. An agency viewer
 * sees a person only through a warning routed to that agency, and only those warnings.
 */
export interface PersonTimeline {
  readonly personKey: string;
  readonly statuses: {
    agency: string;
    category: string;
    action: string;
    validFrom: string;
    validTo: string | null;
    admdvs: string;
    sourceRecordId: string;
    decidedAt: string;
  }[];
  readonly settlements: {
    setlId: string;
    fixmedinsCode: string;
    medType: string;
    settledOn: string;
    medfeeFen: number;
    basicFen: number;
    criticalIllnessFen: number;
    assistanceFen: number;
    selfPayFen: number;
    isReversal: boolean;
    origSetlId: string | null;
  }[];
  readonly adjustments: {
    setlId: string;
    benefitYear: number;
    fixmedinsCode: string;
    kind: string;
    deltaFen: number;
    owedCriticalIllnessFen: number;
    owedAssistanceFen: number;
    categoryApplied: string | null;
    reason: string;
  }[];
  readonly subsidyCorrections: {
    contributionRecordId: string;
    insuranceYear: number;
    category: string;
    entitledFen: number;
    receivedFen: number;
    deltaFen: number;
    kind: string;
    reason: string;
  }[];
  readonly selfPay: {
    benefitYear: number;
    policyId: string;
    settlementCount: number;
    medfeeFen: number;
    selfPayTotalFen: number;
    selfPayInScopeFen: number;
  }[];
  readonly warnings: (WarningRow & {
    deliveries: {
      agency: string;
      status: string;
      attempt: number;
      detail: string | null;
      at: string;
      outcome: string | null;
      assistanceKind: string | null;
      assistanceFen: number | null;
      certifiedCategory: string | null;
      reason: string | null;
      agencyRecordId: string | null;
    }[];
  })[];
}

export async function personTimeline(db: Queryable, personKey: string, agency: AgencyCode | null): Promise<PersonTimeline | null> {
  const scope = agency === 'CIVIL_AFFAIRS' ? ' and routed_civil' : agency === 'RURAL_REVITALIZATION' ? ' and routed_rural' : '';
  const [warnings, statuses, settlements, adjustments, subsidies, selfPay] = await Promise.all([
    // Every record of the person's warnings, corrected and withdrawn ones too: the timeline is the history.
    db.query(
      `select w.*, coalesce((select json_agg(json_build_object('agency', r.agency, 'status', r.status, 'attempt', r.attempt, 'detail',
        r.detail,
                 'outcome', r.outcome, 'assistanceKind', r.assistance_kind, 'assistanceFen', r.assistance_fen, 'certifiedCategory',
                   r.certified_category,
                 'reason', r.reason, 'agencyRecordId', r.agency_record_id,
                 'at', to_char(r.occurred_at at time zone 'Asia/Shanghai', 'YYYY-MM-DD HH24:MI')) order by r.occurred_at, r.event_id)
                 from receipts r where r.warning_id = w.warning_id${agency === null ? '' : ' and r.agency = $2'}), '[]') as receipts,
                 (select s.warned from warnings s where s.warning_id = w.superseded_by) as superseded_by_warned, ${outcomesSql('w')}
              from warnings w where person_key = $1${scope} order by period, recorded_at, warning_id`,
      agency === null ? [personKey] : [personKey, agency],
    ),
    db.query(
      `select agency, category, action, valid_from, valid_to, admdvs, source_record_id,
                to_char(occurred_at at time zone 'Asia/Shanghai', 'YYYY-MM-DD') as decided_at
              from status_changes where person_key = $1 order by valid_from, source_version, event_id`,
      [personKey],
    ),
    db.query(
      `select setl_id, fixmedins_code, med_type, to_char(setl_time at time zone 'Asia/Shanghai', 'YYYY-MM-DD') as settled_on,
        medfee_fen, basic_fen,
                critical_illness_fen, assistance_fen, self_pay_fen, is_reversal, orig_setl_id
              from settlements where person_key = $1 order by setl_time, setl_id`,
      [personKey],
    ),
    db.query(`select * from adjustments where person_key = $1 order by benefit_year, setl_id`, [personKey]),
    db.query(`select * from subsidy_corrections where person_key = $1 order by insurance_year, contribution_record_id`, [personKey]),
    db.query(`select * from self_pay where person_key = $1 order by benefit_year`, [personKey]),
  ]);
  if (agency !== null && warnings.rows.length === 0) return null;
  const found =
    warnings.rows.length +
    statuses.rows.length +
    settlements.rows.length +
    adjustments.rows.length +
    subsidies.rows.length +
    selfPay.rows.length;
  if (found === 0) return null;
  /* eslint-disable @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-member-access,
     @typescript-eslint/no-unsafe-argument --
     the rows' shapes are fixed by the SELECTs just above; each is mapped field by field to a typed result. */
  return {
    personKey,
    statuses: statuses.rows.map((r) => ({
      agency: r.agency,
      category: r.category,
      action: r.action,
      validFrom: r.valid_from,
      validTo: r.valid_to,
      admdvs: r.admdvs,
      sourceRecordId: r.source_record_id,
      decidedAt: r.decided_at,
    })),
    settlements: settlements.rows.map((r) => ({
      setlId: r.setl_id,
      fixmedinsCode: r.fixmedins_code,
      medType: r.med_type,
      settledOn: r.settled_on,
      medfeeFen: r.medfee_fen,
      basicFen: r.basic_fen,
      criticalIllnessFen: r.critical_illness_fen,
      assistanceFen: r.assistance_fen,
      selfPayFen: r.self_pay_fen,
      isReversal: r.is_reversal,
      origSetlId: r.orig_setl_id,
    })),
    adjustments: adjustments.rows.map((r) => ({
      setlId: r.setl_id,
      benefitYear: r.benefit_year,
      fixmedinsCode: r.fixmedins_code,
      kind: r.kind,
      deltaFen: r.delta_fen,
      owedCriticalIllnessFen: Math.max(0, r.due_critical_illness_fen - r.settled_critical_illness_fen),
      owedAssistanceFen: Math.max(0, r.due_assistance_fen - r.settled_assistance_fen),
      categoryApplied: r.category_applied,
      reason: r.reason,
    })),
    subsidyCorrections: subsidies.rows.map((r) => ({
      contributionRecordId: r.contribution_record_id,
      insuranceYear: r.insurance_year,
      category: r.category,
      entitledFen: r.entitled_subsidy_fen,
      receivedFen: r.received_subsidy_fen,
      deltaFen: r.delta_fen,
      kind: r.kind,
      reason: r.reason,
    })),
    selfPay: selfPay.rows.map((r) => ({
      benefitYear: r.benefit_year,
      policyId: r.policy_id,
      settlementCount: r.settlement_count,
      medfeeFen: r.medfee_fen,
      selfPayTotalFen: r.self_pay_total_fen,
      selfPayInScopeFen: r.self_pay_in_scope_fen,
    })),
    warnings: warnings.rows.map((r) => ({ ...toWarningRow(r, agency), deliveries: r.receipts })),
  };
  /* eslint-enable @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-member-access,
     @typescript-eslint/no-unsafe-argument */
}

/** The sealed ID of a person as the desk holds it (from a warning, else a status change). */
export async function sealedIdOf(db: Queryable, personKey: string, agency: AgencyCode | null): Promise<string | null> {
  const scope = agency === 'CIVIL_AFFAIRS' ? ' and routed_civil' : agency === 'RURAL_REVITALIZATION' ? ' and routed_rural' : '';
  const { rows } = await db.query<{ id_cipher: string }>(`select id_cipher from warnings where person_key = $1${scope} limit 1`, [
    personKey,
  ]);
  return rows[0]?.id_cipher ?? null;
}
