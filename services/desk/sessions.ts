import { createHash, randomBytes } from 'node:crypto';
import type { Queryable } from './db';
import { isRole, type Role } from './roles';

/**
 * Server-side sessions: the cookie holds a random token, PostgreSQL only its SHA-256 (a leaked
 * table opens no session). Each session has its own CSRF token, which every state-changing request
 * must echo in the `x-csrf-token` header. Sessions end at a fixed lifetime and are not renewed.
 */
export interface SessionUser {
  readonly userId: number;
  readonly username: string;
  readonly displayName: string;
  readonly role: Role;
  readonly csrfToken: string;
  readonly expiresAt: Date;
}

const tokenHash = (token: string): string => createHash('sha256').update(token).digest('hex');

export async function openSession(db: Queryable, userId: number, lifetimeMinutes: number): Promise<{ token: string; csrfToken: string }> {
  const token = randomBytes(32).toString('base64url');
  const csrfToken = randomBytes(24).toString('base64url');
  await db.query(
    `insert into sessions (token_hash, user_id, csrf_token, expires_at) values ($1, $2, $3, now() + make_interval(mins => $4))`,
    [tokenHash(token), userId, csrfToken, lifetimeMinutes],
  );
  // Expired sessions are useless; deleting them here keeps the table small without a timer.
  await db.query('delete from sessions where expires_at < now()');
  return { token, csrfToken };
}

/** The user of a live session of an enabled account, or null. */
export async function findSession(db: Queryable, token: string): Promise<SessionUser | null> {
  const { rows } = await db.query<{
    id: number;
    username: string;
    display_name: string;
    role: string;
    csrf_token: string;
    expires_at: Date;
  }>(
    `select u.id, u.username, u.display_name, u.role, s.csrf_token, s.expires_at from sessions s join users u on u.id = s.user_id
     where s.token_hash = $1 and s.expires_at > now() and not u.disabled`,
    [tokenHash(token)],
  );
  const row = rows[0];
  if (row === undefined || !isRole(row.role)) return null;
  return {
    userId: row.id,
    username: row.username,
    displayName: row.display_name,
    role: row.role,
    csrfToken: row.csrf_token,
    expiresAt: row.expires_at,
  };
}

export async function closeSession(db: Queryable, token: string): Promise<void> {
  await db.query('delete from sessions where token_hash = $1', [tokenHash(token)]);
}
