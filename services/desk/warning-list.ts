import type { AgencyCode } from '../../schemas';
import { HubError } from '../platform';
import type { Queryable } from './db';

/**
 * The warning list: filters, sorted by self-pay, in keyset pages. A page never counts or skips
 * rows: it continues after the last (self_pay_fen, warning_id) of the previous page, which the
 * index (period, self_pay_fen desc, warning_id desc) answers without reading the rows before it.
 */
export interface WarningFilter {
  readonly period: string;
  readonly policyId?: string | undefined;
  readonly category?: string | undefined;
  readonly agency?: AgencyCode | undefined;
  readonly reason?: string | undefined;
  readonly deliveryStatus?: string | undefined;
  readonly followUpStatus?: string | undefined;
  readonly personKey?: string | undefined;
}

export interface WarningPageRequest extends WarningFilter {
  readonly order: 'desc' | 'asc';
  readonly limit: number;
  /** Opaque cursor of the previous page's last row. */
  readonly after?: string | undefined;
}

export interface WarningRow {
  readonly warningId: string;
  readonly personKey: string;
  readonly policyId: string;
  readonly period: string;
  readonly windowFrom: string;
  readonly windowTo: string;
  readonly categories: string[];
  readonly reasons: string[];
  readonly selfPayFen: number;
  readonly thresholdFen: number;
  readonly medfeeFen: number;
  readonly basicFen: number;
  readonly criticalIllnessFen: number;
  readonly assistanceFen: number;
  readonly routedTo: string[];
  readonly deliveryStatus: string;
  readonly followUpStatus: string;
  /** Each agency's latest answer (outcome), when it gave one. */
  readonly outcomes: AgencyOutcome[];
  readonly settlements: unknown[];
  readonly warned: boolean;
  readonly supersedes: string | null;
  readonly supersededBy: string | null;
  readonly changes: string[];
  /** CURRENT: the latest word; CORRECTED: replaced by a correction; WITHDRAWN: a withdrawal, or withdrawn by one. */
  readonly state: 'CURRENT' | 'CORRECTED' | 'WITHDRAWN';
}

export interface AgencyOutcome {
  readonly agency: string;
  readonly outcome: string;
  readonly assistanceKind: string | null;
  readonly assistanceFen: number | null;
  readonly certifiedCategory: string | null;
  readonly reason: string | null;
  readonly agencyRecordId: string | null;
}

/** The agencies' answers that are follow-up statuses of their own (filterable beside NONE, STARTED, CLOSED). */
export const followUpOutcomes = ['RECEIVED', 'ASSISTANCE_GIVEN', 'CERTIFIED', 'NO_ACTION'] as const;

export interface WarningPage {
  readonly rows: WarningRow[];
  /** Cursor of the next page, null on the last page. */
  readonly next: string | null;
}

export function encodeCursor(selfPayFen: number, warningId: string): string {
  return Buffer.from(JSON.stringify([selfPayFen, warningId])).toString('base64url');
}

function decodeCursor(cursor: string): [number, string] {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(value) && value.length === 2 && Number.isSafeInteger(value[0]) && typeof value[1] === 'string')
      return [value[0] as number, value[1]];
  } catch {
    /* falls through to the error below */
  }
  throw new HubError('REQUEST_INVALID', 'after: not a cursor this desk issued', { detail: { field: 'after' } });
}

/** Each agency's latest answer of a warning `w` (assistanceFen as a JSON number: fen stay below 2^53). */
export const outcomesSql = (w: string): string => `coalesce((select json_agg(json_build_object('agency', d.agency, 'outcome', d.outcome,
  'assistanceKind', d.assistance_kind, 'assistanceFen', d.assistance_fen, 'certifiedCategory', d.certified_category, 'reason',
    d.outcome_reason,
  'agencyRecordId', d.agency_record_id) order by d.agency) from deliveries d where d.warning_id = ${w}.warning_id and d.outcome is not
    null), '[]') as outcomes`;

/** The latest word on a person-period: not replaced by a correction, not a withdrawal. */
export const currentWarning = 'superseded_by is null and warned';

const columns =
  `warning_id, person_key, policy_id, period, window_from, window_to, categories, reasons, ` +
  `self_pay_fen, threshold_fen, medfee_fen,
  basic_fen, critical_illness_fen, assistance_fen, routed_civil, routed_rural, delivery_status, follow_up_status,
  settlements, warned, supersedes, superseded_by, changes, (select w2.warned from warnings w2 where w2.warning_id =
    warnings.superseded_by) as superseded_by_warned,
  ${outcomesSql('warnings')}`;

interface Row {
  warning_id: string;
  person_key: string;
  policy_id: string;
  period: string;
  window_from: string;
  window_to: string;
  categories: string[];
  reasons: string[];
  self_pay_fen: number;
  threshold_fen: number;
  medfee_fen: number;
  basic_fen: number;
  critical_illness_fen: number;
  assistance_fen: number;
  routed_civil: boolean;
  routed_rural: boolean;
  delivery_status: string;
  follow_up_status: string;
  settlements: unknown[];
  warned: boolean;
  supersedes: string | null;
  superseded_by: string | null;
  changes: string[];
  superseded_by_warned: boolean | null;
  outcomes: AgencyOutcome[];
}

export function toWarningRow(r: Row, agency: string | null = null): WarningRow {
  return {
    warningId: r.warning_id,
    personKey: r.person_key,
    policyId: r.policy_id,
    period: r.period,
    windowFrom: r.window_from,
    windowTo: r.window_to,
    categories: r.categories,
    reasons: r.reasons,
    selfPayFen: r.self_pay_fen,
    thresholdFen: r.threshold_fen,
    medfeeFen: r.medfee_fen,
    basicFen: r.basic_fen,
    criticalIllnessFen: r.critical_illness_fen,
    assistanceFen: r.assistance_fen,
    routedTo: [...(r.routed_civil ? ['CIVIL_AFFAIRS'] : []), ...(r.routed_rural ? ['RURAL_REVITALIZATION'] : [])],
    deliveryStatus: r.delivery_status,
    followUpStatus: r.follow_up_status,
    outcomes: agency === null ? r.outcomes : r.outcomes.filter((o) => o.agency === agency),
    settlements: r.settlements,
    warned: r.warned,
    supersedes: r.supersedes,
    supersededBy: r.superseded_by,
    changes: r.changes,
    state: !r.warned || r.superseded_by_warned === false ? 'WITHDRAWN' : r.superseded_by !== null ? 'CORRECTED' : 'CURRENT',
  };
}

/** The WHERE clause of a filter and its parameters (shared by the list, the export and the overview). */
export function filterClause(filter: WarningFilter, params: unknown[]): string {
  const where: string[] = [];
  const param = (value: unknown): string => {
    params.push(value);
    return `$${params.length}`;
  };
  where.push(`period = ${param(filter.period)}`);
  // Lists, counts and money count only the latest word per person-period (see currentWarning).
  where.push(currentWarning);
  if (filter.policyId !== undefined) where.push(`policy_id = ${param(filter.policyId)}`);
  if (filter.category !== undefined) where.push(`categories @> array[${param(filter.category)}]::text[]`);
  if (filter.agency === 'CIVIL_AFFAIRS') where.push('routed_civil');
  if (filter.agency === 'RURAL_REVITALIZATION') where.push('routed_rural');
  if (filter.reason !== undefined) where.push(`reasons @> array[${param(filter.reason)}]::text[]`);
  if (filter.deliveryStatus !== undefined) where.push(`delivery_status = ${param(filter.deliveryStatus)}`);
  if (filter.followUpStatus !== undefined) {
    // An agency's answer (已接收, 已救助, …) is a follow-up status too; the older NONE/STARTED/CLOSED still filter as before.
    if ((followUpOutcomes as readonly string[]).includes(filter.followUpStatus)) {
      where.push(
        `exists (select 1 from deliveries d where d.warning_id = warnings.warning_id and d.outcome = ${param(filter.followUpStatus)})`,
      );
    } else where.push(`follow_up_status = ${param(filter.followUpStatus)}`);
  }
  if (filter.personKey !== undefined) where.push(`person_key = ${param(filter.personKey)}`);
  return where.join(' and ');
}

export async function warningPage(db: Queryable, request: WarningPageRequest): Promise<WarningPage> {
  const params: unknown[] = [];
  let where = filterClause(request, params);
  if (request.after !== undefined) {
    const [selfPay, id] = decodeCursor(request.after);
    params.push(selfPay, id);
    // A row comparison the btree answers as one range condition on the page index.
    where += ` and (self_pay_fen, warning_id) ${request.order === 'desc' ? '<' : '>'} ($${params.length - 1}, $${params.length})`;
  }
  params.push(request.limit + 1);
  const direction = request.order === 'desc' ? 'desc' : 'asc';
  const { rows } = await db.query<Row>(
    `select ${columns} from warnings where ${where} order by self_pay_fen ${direction}, warning_id ${direction} limit $${params.length}`,
    params,
  );
  // An agency's list shows that agency's answers only (a warning routed to both carries both).
  const page = rows.slice(0, request.limit).map((r) => toWarningRow(r, request.agency ?? null));
  const last = page[page.length - 1];
  return { rows: page, next: rows.length > request.limit && last !== undefined ? encodeCursor(last.selfPayFen, last.warningId) : null };
}

/** One warning, or null; an agency scope hides warnings not routed to that agency. */
export async function findWarning(db: Queryable, warningId: string, agency: AgencyCode | null): Promise<WarningRow | null> {
  const scope = agency === 'CIVIL_AFFAIRS' ? ' and routed_civil' : agency === 'RURAL_REVITALIZATION' ? ' and routed_rural' : '';
  const { rows } = await db.query<Row>(`select ${columns} from warnings where warning_id = $1${scope}`, [warningId]);
  return rows[0] === undefined ? null : toWarningRow(rows[0], agency);
}

/** The periods present, newest first. */
export async function listPeriods(db: Queryable): Promise<string[]> {
  // A loose index scan: one probe per distinct period instead of reading every row.
  const { rows } = await db.query<{ period: string }>(
    `with recursive p as (select max(period) as period from warnings
       union all select (select max(period) from warnings where period < p.period) from p where p.period is not null)
     select period from p where period is not null`,
  );
  return rows.map((r) => r.period);
}
