import type { Queryable } from './db';
import type { Role } from './roles';

/**
 * The audit log: who did what to whom, and why. PostgreSQL refuses UPDATE, DELETE and TRUNCATE on
 * the table (migration 1), so the app can only append, and so can anyone else who connects.
 */
export interface AuditEntry {
  readonly actor: string;
  /** Null only for a failed login naming no enabled account. */
  readonly role: Role | null;
  readonly action: 'VIEW_CLEAR_ID' | 'MARK_PAID' | 'RETRY_DELIVERY' | 'LOGIN' | 'LOGIN_FAILED' | 'EXPORT';
  readonly personKey?: string;
  readonly warningId?: string;
  readonly reason?: string;
  readonly detail?: Readonly<Record<string, unknown>>;
}

export async function appendAudit(db: Queryable, entry: AuditEntry): Promise<void> {
  await db.query(
    'insert into audit_log (actor, role, action, person_key, warning_id, reason, detail) values ($1, $2, $3, $4, $5, $6, $7)',
    [
      entry.actor,
      entry.role,
      entry.action,
      entry.personKey ?? null,
      entry.warningId ?? null,
      entry.reason ?? null,
      JSON.stringify(entry.detail ?? {}),
    ],
  );
}

/** Failed logins of a username within the last `minutes`: the login throttle counts these. */
export async function recentFailedLogins(db: Queryable, username: string, minutes: number): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    `select count(*)::int as n from audit_log where action = 'LOGIN_FAILED' and actor = $1 and at > now() - make_interval(mins => $2)`,
    [username, minutes],
  );
  return rows[0]?.n ?? 0;
}

export interface AuditRow {
  id: number;
  at: string;
  actor: string;
  role: string | null;
  action: string;
  personKey: string | null;
  warningId: string | null;
  reason: string | null;
  detail: unknown;
}

/** Newest first, in keyset pages by id. */
export async function auditPage(db: Queryable, beforeId: number | undefined, limit: number): Promise<AuditRow[]> {
  const { rows } = await db.query<{
    id: number;
    at: string;
    actor: string;
    role: string | null;
    action: string;
    person_key: string | null;
    warning_id: string | null;
    reason: string | null;
    detail: unknown;
  }>(
    `select id, to_char(at at time zone 'Asia/Shanghai', 'YYYY-MM-DD HH24:MI:SS') as at, actor, role, action, person_key, warning_id,
      reason, detail
     from audit_log where ($1::bigint is null or id < $1) order by id desc limit $2`,
    [beforeId ?? null, limit],
  );
  return rows.map((r) => ({
    id: r.id,
    at: r.at,
    actor: r.actor,
    role: r.role,
    action: r.action,
    personKey: r.person_key,
    warningId: r.warning_id,
    reason: r.reason,
    detail: r.detail,
  }));
}
