import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { addUser, checkLogin, setPassword, type DeskPool } from '../desk';
import { HubError, describeError } from '../platform';

/**
 * The demo's desk accounts, one per role. They exist only in the demo's own desk database (made by
 * `hub demo`, never by `hub desk`), with passwords generated on the first run and kept in the demo's
 * state directory (mode 600), so a second run prints the same ones and an open browser stays logged in.
 */
export const demoUsers = [
  { username: 'analyst', role: 'ANALYST', displayName: '演示 医保局分析员' },
  { username: 'supervisor', role: 'SUPERVISOR', displayName: '演示 医保局主管' },
  { username: 'minzheng', role: 'CIVIL_AFFAIRS_VIEWER', displayName: '演示 民政部门查看员' },
  { username: 'xiangcun', role: 'RURAL_VIEWER', displayName: '演示 乡村振兴部门查看员' },
  { username: 'auditor', role: 'AUDITOR', displayName: '演示 审计员' },
] as const;

export interface DemoLogin {
  readonly username: string;
  readonly role: string;
  readonly password: string;
}

const generated = (): string => `Demo${randomBytes(6).toString('hex')}7`;

function readStored(file: string): Record<string, string> {
  if (!existsSync(file)) return {};
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as unknown;
    if (typeof parsed !== 'object' || parsed === null) return {};
    return Object.fromEntries(Object.entries(parsed).filter((entry): entry is [string, string] => typeof entry[1] === 'string'));
  } catch {
    return {};
  }
}

/** Makes sure each demo account exists with its stored password (made, or set again when it differs). */
export async function ensureDemoLogins(pool: DeskPool, file: string): Promise<DemoLogin[]> {
  const stored = readStored(file);
  const logins: DemoLogin[] = [];
  for (const user of demoUsers) {
    const password = stored[user.username] ?? generated();
    if ((await checkLogin(pool, user.username, password)) === null) {
      const updated = await setPassword(pool, user.username, password);
      if (!updated) await addUser(pool, { username: user.username, displayName: user.displayName, role: user.role, password });
    }
    logins.push({ username: user.username, role: user.role, password });
  }
  try {
    writeFileSync(file, `${JSON.stringify(Object.fromEntries(logins.map((l) => [l.username, l.password])), null, 2)}\n`, { mode: 0o600 });
    chmodSync(file, 0o600);
  } catch (error) {
    throw new HubError('PROCESSING_FAILED', `cannot keep the demo logins in ${file}: ${describeError(error)}`, { cause: error });
  }
  return logins;
}
