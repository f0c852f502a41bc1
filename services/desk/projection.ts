import type {
  BenefitAdjustment,
  CivilAffairsStatusChange,
  DeliveryReceipt,
  HospitalSettlement,
  QuarterlyWarning,
  RuralRevitalizationStatusChange,
  SelfPayYearToDate,
  SubsidyCorrection,
  TopicRecords,
} from '../../schemas';
import type { Queryable } from './db';

/** The topics the desk's read model is made of. */
export const deskTopicIds = [
  'quarterlyWarnings',
  'deliveryReceipts',
  'benefitAdjustments',
  'subsidyCorrections',
  'selfPay',
  'civilAffairsStatus',
  'ruralRevitalizationStatus',
  'hospitalSettlements',
] as const;
export type DeskTopicId = (typeof deskTopicIds)[number];

/** One decoded record of one of the desk's topics. */
export type DeskRecord = { [K in DeskTopicId]: { readonly topic: K; readonly record: TopicRecords[K] } }[DeskTopicId];

const ts = (ms: number): Date => new Date(ms);

/**
 * The warnings a record touches. A warning and its receipts come on different topics, applied by
 * concurrent transactions: each derives the warning's delivery summary from what the other wrote,
 * and a correction and the warning it supersedes each derive the latter's superseded_by from the
 * other, so the consumer serialises them with a lock per warning (see lockWarnings).
 */
export function touchedWarnings(item: DeskRecord): string[] {
  if (item.topic === 'quarterlyWarnings')
    return item.record.supersedes === null ? [item.record.eventId] : [item.record.eventId, item.record.supersedes];
  if (item.topic === 'deliveryReceipts') return [item.record.warningId];
  return [];
}

/**
 * Applies one record to the read model. Every statement is an idempotent upsert whose outcome does
 * not depend on arrival order across topics (the latest by recordedAt wins; delivery state is
 * recomputed from the whole receipt history), so reading the topics again gives the same rows.
 */
export async function applyRecord(db: Queryable, item: DeskRecord): Promise<void> {
  switch (item.topic) {
    case 'quarterlyWarnings':
      return applyWarning(db, item.record);
    case 'deliveryReceipts':
      return applyReceipt(db, item.record);
    case 'benefitAdjustments':
      return applyAdjustment(db, item.record);
    case 'subsidyCorrections':
      return applySubsidyCorrection(db, item.record);
    case 'selfPay':
      return applySelfPay(db, item.record);
    case 'civilAffairsStatus':
      return applyStatus(db, 'CIVIL_AFFAIRS', item.record);
    case 'ruralRevitalizationStatus':
      return applyStatus(db, 'RURAL_REVITALIZATION', item.record);
    case 'hospitalSettlements':
      return applySettlement(db, item.record);
  }
}

async function applyWarning(db: Queryable, w: QuarterlyWarning): Promise<void> {
  await db.query(
    `insert into warnings (warning_id, person_key, id_cipher, policy_id, period, window_from, window_to, categories, category, reasons,
      basis,
       self_pay_fen, threshold_fen, medfee_fen, basic_fen, critical_illness_fen, assistance_fen, routed_civil, routed_rural,
         occurred_at, recorded_at,
       settlements, warned, supersedes, changes)
     values ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$21,$22,$23,$24,$25)
     on conflict (warning_id) do update set id_cipher = excluded.id_cipher, policy_id = excluded.policy_id, period = excluded.period,
       window_from = excluded.window_from, window_to = excluded.window_to, categories = excluded.categories, category = excluded.category,
       reasons = excluded.reasons, basis = excluded.basis, self_pay_fen = excluded.self_pay_fen, threshold_fen = excluded.threshold_fen,
       medfee_fen = excluded.medfee_fen, basic_fen = excluded.basic_fen, critical_illness_fen = excluded.critical_illness_fen,
       assistance_fen = excluded.assistance_fen, routed_civil = excluded.routed_civil, routed_rural = excluded.routed_rural,
       occurred_at = excluded.occurred_at, recorded_at = excluded.recorded_at, settlements = excluded.settlements, warned = excluded.warned,
       supersedes = excluded.supersedes, changes = excluded.changes
     where excluded.recorded_at >= warnings.recorded_at`,
    [
      w.eventId,
      w.personKey,
      w.idCipher,
      w.policyId,
      w.period,
      w.windowFrom,
      w.windowTo,
      w.categories,
      w.categories[0] ?? 'NONE',
      w.reasons,
      w.basis,
      w.selfPayFen,
      w.thresholdFen,
      w.medfeeFen,
      w.basicFen,
      w.criticalIllnessFen,
      w.assistanceFen,
      w.routedTo.includes('CIVIL_AFFAIRS'),
      w.routedTo.includes('RURAL_REVITALIZATION'),
      ts(w.occurredAt),
      ts(w.recordedAt),
      JSON.stringify(w.settlements),
      w.warned,
      w.supersedes,
      w.changes,
    ],
  );
  // superseded_by is derived from whichever records name a warning, never written from one side
  // only: applied to this record and to the one it supersedes, in either order the rows agree.
  await db.query(
    `update warnings t set superseded_by = (select s.warning_id from warnings s where s.supersedes = t.warning_id
       order by s.recorded_at desc, s.warning_id desc limit 1)
     where t.warning_id = any($1::text[])`,
    [w.supersedes === null ? [w.eventId] : [w.eventId, w.supersedes]],
  );
  await refreshWarningDelivery(db, w.eventId);
}

async function applyReceipt(db: Queryable, r: DeliveryReceipt): Promise<void> {
  await db.query(
    `insert into receipts (event_id, warning_id, agency, channel, status, attempt, detail, occurred_at, outcome, assistance_kind,
      assistance_fen,
       certified_category, reason, agency_record_id) values ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14)
     on conflict (event_id) do nothing`,
    [
      r.eventId,
      r.warningId,
      r.agency,
      r.channel,
      r.status,
      r.attempt,
      r.detail,
      ts(r.occurredAt),
      r.outcome,
      r.assistanceKind,
      r.assistanceFen,
      r.certifiedCategory,
      r.reason,
      r.agencyRecordId,
    ],
  );
  // The delivery state is derived from the whole history, so receipts arriving out of order agree.
  await db.query(
    `insert into deliveries (warning_id, agency, channel, delivery_status, follow_up_status, attempt, detail, updated_at,
       outcome, assistance_kind, assistance_fen, certified_category, outcome_reason, agency_record_id)
     select $1, $2, d.channel, d.status, coalesce(f.follow_up, 'NONE'), d.attempt, d.detail, d.occurred_at,
       o.outcome, o.assistance_kind, o.assistance_fen, o.certified_category, o.reason, o.agency_record_id
     from (select channel, status, attempt, detail, occurred_at from receipts
           where warning_id = $1 and agency = $2 and status in ('DELIVERED', 'FAILED', 'ACKNOWLEDGED')
           -- Latest first: a dead delivery retried by hand starts again at attempt 1, and its
           -- DELIVERED must beat the FAILED of attempt 5 that came before it.
           order by occurred_at desc, attempt desc, case status when 'FAILED' then 0 when 'DELIVERED' then 1 else 2 end desc, event_id
             desc limit 1) d
     left join (select case when bool_or(status = 'FOLLOW_UP_CLOSED') then 'CLOSED' when bool_or(status = 'FOLLOW_UP_STARTED') then
       'STARTED' end as follow_up
                from receipts where warning_id = $1 and agency = $2) f on true
     -- The agency's latest answer is its word on the warning (a NO_ACTION later certified is certified).
     left join (select outcome, assistance_kind, assistance_fen, certified_category, reason, agency_record_id from receipts
                where warning_id = $1 and agency = $2 and outcome is not null order by occurred_at desc, event_id desc limit 1) o on true
     on conflict (warning_id, agency) do update set channel = excluded.channel, delivery_status = excluded.delivery_status,
       follow_up_status = excluded.follow_up_status, attempt = excluded.attempt, detail = excluded.detail, updated_at = excluded.updated_at,
       outcome = excluded.outcome, assistance_kind = excluded.assistance_kind, assistance_fen = excluded.assistance_fen,
       certified_category = excluded.certified_category, outcome_reason = excluded.outcome_reason, agency_record_id =
         excluded.agency_record_id`,
    [r.warningId, r.agency],
  );
  await refreshWarningDelivery(db, r.warningId);
}

/** A warning's summary of its agencies' deliveries: FAILED beats PENDING beats DELIVERED beats ACKNOWLEDGED. */
async function refreshWarningDelivery(db: Queryable, warningId: string): Promise<void> {
  await db.query(
    `update warnings w set
       delivery_status = case
         when exists (select 1 from deliveries d where d.warning_id = w.warning_id and d.delivery_status = 'FAILED') then 'FAILED'
         when (select count(*) from deliveries d where d.warning_id = w.warning_id) < (w.routed_civil::int + w.routed_rural::int) then
           'PENDING'
         when exists (select 1 from deliveries d where d.warning_id = w.warning_id and d.delivery_status = 'DELIVERED') then 'DELIVERED'
         when exists (select 1 from deliveries d where d.warning_id = w.warning_id) then 'ACKNOWLEDGED'
         else 'PENDING' end,
       follow_up_status = coalesce((select case
           when bool_and(d.follow_up_status = 'CLOSED') and count(*) = (w.routed_civil::int + w.routed_rural::int) then 'CLOSED'
           when bool_or(d.follow_up_status <> 'NONE') then 'STARTED' end
         from deliveries d where d.warning_id = w.warning_id), 'NONE')
     where w.warning_id = $1`,
    [warningId],
  );
}

async function applyAdjustment(db: Queryable, a: BenefitAdjustment): Promise<void> {
  // One row per settlement: a recomputation supersedes the earlier answer (latest recordedAt wins).
  await db.query(
    `insert into adjustments (setl_id, event_id, person_key, policy_id, benefit_year, fixmedins_code, settled_critical_illness_fen,
      settled_assistance_fen,
       due_critical_illness_fen, due_assistance_fen, delta_fen, kind, category_applied, reason, recorded_at)
     values ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15)
     on conflict (setl_id) do update set event_id = excluded.event_id, person_key = excluded.person_key, policy_id = excluded.policy_id,
       benefit_year = excluded.benefit_year, fixmedins_code = excluded.fixmedins_code,
       settled_critical_illness_fen = excluded.settled_critical_illness_fen, settled_assistance_fen = excluded.settled_assistance_fen,
       due_critical_illness_fen = excluded.due_critical_illness_fen, due_assistance_fen = excluded.due_assistance_fen,
       delta_fen = excluded.delta_fen, kind = excluded.kind, category_applied = excluded.category_applied, reason = excluded.reason,
       recorded_at = excluded.recorded_at
     where (excluded.recorded_at, excluded.event_id) >= (adjustments.recorded_at, adjustments.event_id)`,
    [
      a.setlId,
      a.eventId,
      a.personKey,
      a.policyId,
      a.benefitYear,
      a.fixmedinsCode,
      a.settledCriticalIllnessFen,
      a.settledAssistanceFen,
      a.dueCriticalIllnessFen,
      a.dueAssistanceFen,
      a.deltaFen,
      a.kind,
      a.categoryApplied,
      a.reason,
      ts(a.recordedAt),
    ],
  );
}

async function applySubsidyCorrection(db: Queryable, s: SubsidyCorrection): Promise<void> {
  await db.query(
    `insert into subsidy_corrections (contribution_record_id, event_id, person_key, policy_id, insurance_year, category,
      entitled_subsidy_fen,
       received_subsidy_fen, delta_fen, kind, reason, recorded_at)
     values ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12)
     on conflict (contribution_record_id) do update set event_id = excluded.event_id, person_key = excluded.person_key, policy_id =
       excluded.policy_id,
       insurance_year = excluded.insurance_year, category = excluded.category, entitled_subsidy_fen = excluded.entitled_subsidy_fen,
       received_subsidy_fen = excluded.received_subsidy_fen, delta_fen = excluded.delta_fen, kind = excluded.kind, reason = excluded.reason,
       recorded_at = excluded.recorded_at
     where (excluded.recorded_at, excluded.event_id) >= (subsidy_corrections.recorded_at, subsidy_corrections.event_id)`,
    [
      s.contributionRecordId,
      s.eventId,
      s.personKey,
      s.policyId,
      s.insuranceYear,
      s.category,
      s.entitledSubsidyFen,
      s.receivedSubsidyFen,
      s.deltaFen,
      s.kind,
      s.reason,
      ts(s.recordedAt),
    ],
  );
}

async function applySelfPay(db: Queryable, s: SelfPayYearToDate): Promise<void> {
  await db.query(
    `insert into self_pay (person_key, benefit_year, policy_id, settlement_count, medfee_fen, self_pay_total_fen,
      self_pay_in_scope_fen, recorded_at)
     values ($1,$2,$3,$4,$5,$6,$7,$8)
     on conflict (person_key, benefit_year) do update set policy_id = excluded.policy_id, settlement_count = excluded.settlement_count,
       medfee_fen = excluded.medfee_fen, self_pay_total_fen = excluded.self_pay_total_fen, self_pay_in_scope_fen =
         excluded.self_pay_in_scope_fen,
       recorded_at = excluded.recorded_at
     where excluded.recorded_at >= self_pay.recorded_at`,
    [s.personKey, s.benefitYear, s.policyId, s.settlementCount, s.medfeeFen, s.selfPayTotalFen, s.selfPayInScopeFen, ts(s.recordedAt)],
  );
}

async function applyStatus(db: Queryable, agency: string, s: CivilAffairsStatusChange | RuralRevitalizationStatusChange): Promise<void> {
  await db.query(
    `insert into status_changes (event_id, person_key, agency, admdvs, category, action, valid_from, valid_to, source_record_id,
      source_version, occurred_at)
     values ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11) on conflict (event_id) do nothing`,
    [
      s.eventId,
      s.personKey,
      agency,
      s.admdvs,
      s.category,
      s.action,
      s.validFrom,
      s.validTo,
      s.sourceRecordId,
      s.sourceVersion,
      ts(s.occurredAt),
    ],
  );
}

async function applySettlement(db: Queryable, s: HospitalSettlement): Promise<void> {
  // A resent settlement carries the same setl_id; the hospital's figures do not change on a resend.
  await db.query(
    `insert into settlements (setl_id, person_key, fixmedins_code, insu_admdvs, med_type, setl_time, medfee_fen, basic_fen,
      critical_illness_fen,
       assistance_fen, self_pay_fen, is_reversal, orig_setl_id)
     values ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13) on conflict (setl_id) do nothing`,
    [
      s.setl_id,
      s.personKey,
      s.fixmedins_code,
      s.insu_admdvs,
      s.med_type,
      ts(s.setl_time),
      s.medfee_sumamt,
      s.hifp_pay,
      s.hifmi_pay,
      s.maf_pay,
      s.psn_part_amt,
      s.is_reversal,
      s.orig_setl_id,
    ],
  );
}
