import { inTransaction, type DeskPool, type Queryable } from './db';
import { appendAudit } from './audit-log';
import type { SessionUser } from './sessions';

/** After this many failed attempts the warnings service gives a delivery up: the desk calls it dead. */
export const deadAfterAttempts = 5;

export interface FailedDelivery {
  warningId: string; personKey: string; period: string; agency: string; channel: string; attempt: number; detail: string | null; failedAt: string; dead: boolean;
  retryRequestedAt: string | null;
}

/**
 * How a retry reaches the warnings service. The warnings service is being built beside the desk;
 * until it offers a delivery API, the default seam records the request in `delivery_retries`
 * (state REQUESTED), where that service can pick it up. Swap in an HTTP or Kafka requester here.
 */
export interface DeliveryRetrier {
  requestRetry(request: { warningId: string; agency: string; requestedBy: string }): Promise<void>;
}

export async function failedDeliveries(db: Queryable, agency: 'CIVIL_AFFAIRS' | 'RURAL_REVITALIZATION' | null, limit: number): Promise<FailedDelivery[]> {
  const { rows } = await db.query<{ warning_id: string; person_key: string; period: string; agency: string; channel: string; attempt: number; detail: string | null; failed_at: string; retry_at: string | null }>(
    `select d.warning_id, w.person_key, w.period, d.agency, d.channel, d.attempt, d.detail,
            to_char(d.updated_at at time zone 'Asia/Shanghai', 'YYYY-MM-DD HH24:MI') as failed_at,
            (select to_char(max(r.requested_at) at time zone 'Asia/Shanghai', 'YYYY-MM-DD HH24:MI') from delivery_retries r
              where r.warning_id = d.warning_id and r.agency = d.agency and r.requested_at > d.updated_at) as retry_at
     from deliveries d join warnings w on w.warning_id = d.warning_id
     where d.delivery_status = 'FAILED' and ($1::text is null or d.agency = $1)
     order by d.updated_at desc, d.warning_id limit $2`, [agency, limit]);
  return rows.map((r) => ({
    warningId: r.warning_id, personKey: r.person_key, period: r.period, agency: r.agency, channel: r.channel, attempt: r.attempt, detail: r.detail,
    failedAt: r.failed_at, dead: r.attempt >= deadAfterAttempts, retryRequestedAt: r.retry_at,
  }));
}

/** The default seam: a row the warnings service reads (see DeliveryRetrier). */
export function tableRetrier(db: Queryable): DeliveryRetrier {
  return {
    async requestRetry(request) {
      await db.query('insert into delivery_retries (warning_id, agency, requested_by) values ($1, $2, $3)', [request.warningId, request.agency, request.requestedBy]);
    },
  };
}

/** Requests a retry of a failed delivery; false when the delivery is not failed. Audit-logged. */
export async function retryDelivery(pool: DeskPool, user: SessionUser, warningId: string, agency: string, retrier?: DeliveryRetrier): Promise<boolean> {
  return inTransaction(pool, async (client) => {
    const failed = await client.query(`select 1 from deliveries where warning_id = $1 and agency = $2 and delivery_status = 'FAILED'`, [warningId, agency]);
    if (failed.rowCount === 0) return false;
    await (retrier ?? tableRetrier(client)).requestRetry({ warningId, agency, requestedBy: user.username });
    await appendAudit(client, { actor: user.username, role: user.role, action: 'RETRY_DELIVERY', warningId, detail: { agency } });
    return true;
  });
}
