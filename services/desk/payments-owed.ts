import { HubError } from '../platform';
import { inTransaction, type DeskPool, type Queryable } from './db';
import { appendAudit } from './audit-log';
import { owedItemsSql } from './overview';
import type { SessionUser } from './sessions';

/** Supplementary payments and subsidy corrections owed, as the payer's work list. */
export interface OwedFilter {
  readonly fund?: 'CRITICAL_ILLNESS' | 'MEDICAL_ASSISTANCE' | 'TAX_BUREAU' | undefined;
  readonly institution?: string | undefined;
  readonly year?: number | undefined;
  readonly state?: 'OWED' | 'PAID' | undefined;
}

export interface OwedItem {
  itemKind: string;
  itemId: string;
  fund: string;
  personKey: string;
  policyId: string;
  year: number;
  institution: string;
  amountFen: number;
  reason: string;
  paid: boolean;
  paidOn: string | null;
  markedBy: string | null;
}

export async function owedItems(db: Queryable, filter: OwedFilter, limit: number): Promise<OwedItem[]> {
  const params: unknown[] = [];
  const where: string[] = ['true'];
  const param = (value: unknown): string => {
    params.push(value);
    return `$${params.length}`;
  };
  if (filter.fund !== undefined) where.push(`fund = ${param(filter.fund)}`);
  if (filter.institution !== undefined) where.push(`institution = ${param(filter.institution)}`);
  if (filter.year !== undefined) where.push(`year = ${param(filter.year)}`);
  if (filter.state === 'OWED') where.push('not paid');
  if (filter.state === 'PAID') where.push('paid');
  params.push(limit);
  const { rows } = await db.query<{
    item_kind: string;
    item_id: string;
    fund: string;
    person_key: string;
    policy_id: string;
    year: number;
    institution: string;
    amount_fen: number;
    reason: string;
    paid: boolean;
    paid_on: string | null;
    marked_by: string | null;
  }>(
    `select * from (${owedItemsSql}) o where ${where.join(' and ')} order by fund, year, institution, item_id limit $${params.length}`,
    params,
  );
  return rows.map((r) => ({
    itemKind: r.item_kind,
    itemId: r.item_id,
    fund: r.fund,
    personKey: r.person_key,
    policyId: r.policy_id,
    year: r.year,
    institution: r.institution,
    amountFen: r.amount_fen,
    reason: r.reason,
    paid: r.paid,
    paidOn: r.paid_on,
    markedBy: r.marked_by,
  }));
}

/** Marks items paid on a date; an item already marked keeps its first mark. Audit-logged. */
export async function markPaid(
  pool: DeskPool,
  user: SessionUser,
  items: readonly { itemKind: string; itemId: string; fund: string }[],
  paidOn: string,
): Promise<number> {
  return inTransaction(pool, async (client) => {
    let marked = 0;
    for (const item of items) {
      const owed = await client.query(`select 1 from (${owedItemsSql}) o where item_kind = $1 and item_id = $2 and fund = $3`, [
        item.itemKind,
        item.itemId,
        item.fund,
      ]);
      if (owed.rowCount === 0)
        throw new HubError('REQUEST_INVALID', `no amount owed for ${item.itemKind} ${item.itemId} by ${item.fund}`, {
          detail: { field: 'items' },
        });
      const result = await client.query(
        `insert into payments_marked (item_kind, item_id, fund, paid_on, marked_by) values ($1, $2, $3, $4, $5) on conflict do nothing`,
        [item.itemKind, item.itemId, item.fund, paidOn, user.username],
      );
      marked += result.rowCount ?? 0;
    }
    await appendAudit(client, { actor: user.username, role: user.role, action: 'MARK_PAID', detail: { items, paidOn } });
    return marked;
  });
}
