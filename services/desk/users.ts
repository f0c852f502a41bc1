import { HubError } from '../platform';
import type { Queryable } from './db';
import { hashPassword, passwordProblem, verifyPassword } from './passwords';
import { isRole, type Role } from './roles';

/** Desk accounts. There is no built-in account and no default password: `hub desk users add` makes each one. */
export interface DeskUser {
  readonly id: number;
  readonly username: string;
  readonly displayName: string;
  readonly role: Role;
  readonly disabled: boolean;
  readonly createdAt: string;
}

export async function addUser(
  db: Queryable,
  user: { username: string; displayName: string; role: string; password: string },
): Promise<DeskUser> {
  if (!/^[a-z][a-z0-9_.-]{2,31}$/.test(user.username))
    throw new HubError('INPUT_INVALID', 'username: 3-32 of a-z, 0-9, _ . -, starting with a letter');
  if (!isRole(user.role))
    throw new HubError('INPUT_INVALID', `role: one of ANALYST, SUPERVISOR, CIVIL_AFFAIRS_VIEWER, RURAL_VIEWER, AUDITOR`);
  const problem = passwordProblem(user.password);
  if (problem !== null) throw new HubError('INPUT_INVALID', `password: ${problem}`);
  const hash = await hashPassword(user.password);
  const result = await db.query<{ id: number }>(
    'insert into users (username, display_name, role, password_hash) values ($1, $2, $3, $4) on conflict ' +
      '(username) do nothing returning id',
    [user.username, user.displayName, user.role, hash],
  );
  const id = result.rows[0]?.id;
  if (id === undefined) throw new HubError('INPUT_INVALID', `user ${user.username} exists already`);
  return { id, username: user.username, displayName: user.displayName, role: user.role, disabled: false, createdAt: '' };
}

export async function listUsers(db: Queryable): Promise<DeskUser[]> {
  const { rows } = await db.query<{ id: number; username: string; display_name: string; role: string; disabled: boolean; created: string }>(
    `select id, username, display_name, role, disabled, to_char(created_at at time zone 'Asia/Shanghai', ` +
      `'YYYY-MM-DD') as created from users order by username`,
  );
  return rows
    .filter((r) => isRole(r.role))
    .map((r) => ({
      id: r.id,
      username: r.username,
      displayName: r.display_name,
      role: r.role as Role,
      disabled: r.disabled,
      createdAt: r.created,
    }));
}

/** Disables an account and ends its sessions at once. */
export async function disableUser(db: Queryable, username: string): Promise<boolean> {
  const result = await db.query<{ id: number }>('update users set disabled = true where username = $1 returning id', [username]);
  const id = result.rows[0]?.id;
  if (id === undefined) return false;
  await db.query('delete from sessions where user_id = $1', [id]);
  return true;
}

/** The account a username and password name, when enabled; null otherwise (without saying which part was wrong). */
export async function checkLogin(db: Queryable, username: string, password: string): Promise<DeskUser | null> {
  const { rows } = await db.query<{
    id: number;
    username: string;
    display_name: string;
    role: string;
    disabled: boolean;
    password_hash: string;
  }>('select id, username, display_name, role, disabled, password_hash from users where username = $1', [username]);
  const row = rows[0];
  // Hash even for an unknown user, so the answer's timing does not tell which usernames exist.
  const ok = await verifyPassword(
    password,
    row?.password_hash ?? 'scrypt$32768$8$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=',
  );
  if (row === undefined || !ok || row.disabled || !isRole(row.role)) return null;
  return { id: row.id, username: row.username, displayName: row.display_name, role: row.role, disabled: row.disabled, createdAt: '' };
}

/**
 * Sets an existing account's password (and enables it); false when no account has that username.
 * Sessions opened with the old password are ended.
 */
export async function setPassword(db: Queryable, username: string, password: string): Promise<boolean> {
  const problem = passwordProblem(password);
  if (problem !== null) throw new HubError('INPUT_INVALID', `password: ${problem}`);
  const result = await db.query<{ id: number }>('update users set password_hash = $1, disabled = false where username = $2 returning id', [
    await hashPassword(password),
    username,
  ]);
  const id = result.rows[0]?.id;
  if (id === undefined) return false;
  await db.query('delete from sessions where user_id = $1', [id]);
  return true;
}
