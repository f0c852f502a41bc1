import { inTransaction, type DeskPool, type Queryable } from './db';
import { appendAudit } from './audit-log';
import type { SessionUser } from './sessions';
import type { RetryOutcome } from '../../connectors/agency-delivery/runtime';
import type { AgencyCode } from '../../schemas';
import type { DeliveryRetrier } from './delivery-retrier';

/** After this many failed attempts the warnings service gives a delivery up: the desk calls it dead. */
export const deadAfterAttempts = 5;

export interface FailedDelivery {
  warningId: string;
  personKey: string;
  period: string;
  agency: string;
  channel: string;
  attempt: number;
  detail: string | null;
  failedAt: string;
  dead: boolean;
  retryRequestedAt: string | null;
  /** What the last retry from the desk did: QUEUED (posted again), NOT_DEAD (still retrying on its own), NOT_FOUND (no such job). */
  retryOutcome: string | null;
}

export async function failedDeliveries(db: Queryable, agency: AgencyCode | null, limit: number): Promise<FailedDelivery[]> {
  const { rows } = await db.query<{
    warning_id: string;
    person_key: string;
    period: string;
    agency: string;
    channel: string;
    attempt: number;
    detail: string | null;
    failed_at: string;
    retry_at: string | null;
    retry_outcome: string | null;
  }>(
    `select d.warning_id, w.person_key, w.period, d.agency, d.channel, d.attempt, d.detail,
            to_char(d.updated_at at time zone 'Asia/Shanghai', 'YYYY-MM-DD HH24:MI') as failed_at,
            to_char(lr.requested_at at time zone 'Asia/Shanghai', 'YYYY-MM-DD HH24:MI') as retry_at, lr.outcome as retry_outcome
     from deliveries d join warnings w on w.warning_id = d.warning_id
     left join lateral (select r.requested_at, coalesce(r.outcome, r.state) as outcome from delivery_retries r
       where r.warning_id = d.warning_id and r.agency = d.agency and r.requested_at > d.updated_at order by r.requested_at desc, r.id
         desc limit 1) lr on true
     where d.delivery_status = 'FAILED' and ($1::text is null or d.agency = $1)
     order by d.updated_at desc, d.warning_id limit $2`,
    [agency, limit],
  );
  return rows.map((r) => ({
    warningId: r.warning_id,
    personKey: r.person_key,
    period: r.period,
    agency: r.agency,
    channel: r.channel,
    attempt: r.attempt,
    detail: r.detail,
    failedAt: r.failed_at,
    dead: r.attempt >= deadAfterAttempts,
    retryRequestedAt: r.retry_at,
    retryOutcome: r.retry_outcome,
  }));
}

/** How many of the latest warnings each agency answered, by outcome (已接收, 已救助, 已认定, 无需处理). */
export async function answerCounts(
  db: Queryable,
  agency: AgencyCode | null,
): Promise<{ agency: string; outcome: string; count: number }[]> {
  const { rows } = await db.query<{ agency: string; outcome: string; count: number }>(
    `select d.agency, d.outcome, count(*)::int as count from deliveries d join warnings w on w.warning_id = d.warning_id
     where d.outcome is not null and w.superseded_by is null and w.warned and ($1::text is null or d.agency = $1)
     group by 1, 2 order by 1, 2`,
    [agency],
  );
  return rows;
}

/**
 * Retries a failed delivery through the retrier; its outcome is stored beside the request and
 * audit-logged. Null when the delivery is not failed.
 */
export async function retryDelivery(
  pool: DeskPool,
  user: SessionUser,
  warningId: string,
  agency: AgencyCode,
  retrier: DeliveryRetrier,
): Promise<RetryOutcome | null> {
  return inTransaction(pool, async (client) => {
    const failed = await client.query(`select 1 from deliveries where warning_id = $1 and agency = $2 and delivery_status = 'FAILED'`, [
      warningId,
      agency,
    ]);
    if (failed.rowCount === 0) return null;
    const outcome = await retrier.requestRetry({ warningId, agency, requestedBy: user.username });
    await client.query(
      'insert into delivery_retries (warning_id, agency, requested_by, state, outcome, decided_at) values ($1, $2, $3, $4, $4, now())',
      [warningId, agency, user.username, outcome],
    );
    await appendAudit(client, { actor: user.username, role: user.role, action: 'RETRY_DELIVERY', warningId, detail: { agency, outcome } });
    return outcome;
  });
}
