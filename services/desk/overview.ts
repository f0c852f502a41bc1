import type { AgencyCode } from '../../schemas';
import type { Queryable } from './db';
import { currentWarning, filterClause } from './warning-list';

/**
 * The period overview: warnings counted by region, category, agency, reason and delivery status;
 * the trend over periods; self-pay and the money owed. An agency viewer's counts cover only the
 * warnings routed to that agency, and they see no money owed (the payers' lists are the bureau's).
 */
export interface Overview {
  readonly period: string;
  readonly total: number;
  readonly selfPayFen: number;
  readonly byRegion: { key: string; count: number }[];
  readonly byCategory: { key: string; count: number }[];
  readonly byAgency: { key: string; count: number }[];
  readonly byReason: { key: string; count: number }[];
  readonly byDelivery: { key: string; count: number }[];
  readonly trend: { period: string; count: number; selfPayFen: number }[];
  readonly owed: { fund: string; owedFen: number; paidFen: number; items: number }[] | null;
}

type Counted = { key: string; count: number };

export async function periodOverview(db: Queryable, period: string, agency: AgencyCode | null): Promise<Overview> {
  const params: unknown[] = [];
  const where = filterClause({ period, agency: agency ?? undefined }, params);
  const routed = agency === 'CIVIL_AFFAIRS' ? ' and routed_civil' : agency === 'RURAL_REVITALIZATION' ? ' and routed_rural' : '';
  const scope = `where ${currentWarning}${routed}`;
  const [totals, region, category, agencies, reason, delivery, trend, owed] = await Promise.all([
    db.query<{ total: number; self_pay: number }>(
      `select count(*)::int as total, coalesce(sum(self_pay_fen), 0)::bigint as self_pay from warnings where ${where}`,
      params,
    ),
    db.query<Counted>(`select policy_id as key, count(*)::int as count from warnings where ${where} group by 1 order by 2 desc`, params),
    db.query<Counted>(
      `select c as key, count(*)::int as count from warnings, unnest(categories) c where ${where} group by 1 order by 2 desc`,
      params,
    ),
    db.query<Counted>(
      `select key, count::int from (select 'CIVIL_AFFAIRS' as key, count(*) filter (where routed_civil) as count from warnings where
        ${where}
                 union all select 'RURAL_REVITALIZATION', count(*) filter (where routed_rural) from warnings where ${where}) a`,
      params,
    ),
    db.query<Counted>(
      `select r as key, count(*)::int as count from warnings, unnest(reasons) r where ${where} group by 1 order by 2 desc`,
      params,
    ),
    db.query<Counted>(
      `select delivery_status as key, count(*)::int as count from warnings where ${where} group by 1 order by 2 desc`,
      params,
    ),
    db.query<{ period: string; count: number; self_pay: number }>(
      `select period, count(*)::int as count, sum(self_pay_fen)::bigint as self_pay from warnings ${scope} group by 1 order by 1`,
    ),
    agency !== null
      ? null
      : db.query<{ fund: string; owed: number; paid: number; items: number }>(
          `select fund, coalesce(sum(amount_fen) filter (where not paid), 0)::bigint as owed, ` +
            `coalesce(sum(amount_fen) filter (where paid), 0)::bigint as paid, count(*)::int as items
       from (${owedItemsSql}) o group by fund order by fund`,
        ),
  ]);
  return {
    period,
    total: totals.rows[0]?.total ?? 0,
    selfPayFen: totals.rows[0]?.self_pay ?? 0,
    byRegion: region.rows,
    byCategory: category.rows,
    byAgency: agencies.rows,
    byReason: reason.rows,
    byDelivery: delivery.rows,
    trend: trend.rows.map((r) => ({ period: r.period, count: r.count, selfPayFen: r.self_pay })),
    owed: owed === null ? null : owed.rows.map((r) => ({ fund: r.fund, owedFen: r.owed, paidFen: r.paid, items: r.items })),
  };
}

/**
 * Every amount owed, one row per payer and item: a supplementary payment splits into what the
 * critical-illness insurer and what the medical-assistance fund owe; an under-subsidised
 * contribution is owed by the tax bureau. `paid` comes from the desk's own marks.
 */
export const owedItemsSql = `
  select o.*, (p.item_id is not null) as paid, p.paid_on, p.marked_by from (
    select 'ADJUSTMENT' as item_kind, setl_id as item_id, 'CRITICAL_ILLNESS' as fund, person_key, policy_id, benefit_year as year,
           fixmedins_code as institution, due_critical_illness_fen - settled_critical_illness_fen as amount_fen, reason
      from adjustments where kind = 'SUPPLEMENTARY_PAYMENT' and due_critical_illness_fen > settled_critical_illness_fen
    union all
    select 'ADJUSTMENT', setl_id, 'MEDICAL_ASSISTANCE', person_key, policy_id, benefit_year, fixmedins_code,
           due_assistance_fen - settled_assistance_fen, reason
      from adjustments where kind = 'SUPPLEMENTARY_PAYMENT' and due_assistance_fen > settled_assistance_fen
    union all
    select 'SUBSIDY', contribution_record_id, 'TAX_BUREAU', person_key, policy_id, insurance_year, '', delta_fen, reason
      from subsidy_corrections where kind = 'UNDER_SUBSIDISED' and delta_fen > 0
  ) o left join payments_marked p on p.item_kind = o.item_kind and p.item_id = o.item_id and p.fund = o.fund`;
