import { randomBytes } from 'node:crypto';
import { HubError, type CliIo } from '../platform';
import { roles } from './roles';
import { addUser, disableUser, listUsers } from './users';

const usage = `usage: hub desk users add USERNAME --role ROLE [--name 显示名] [--password-stdin]
       hub desk users list
       hub desk users disable USERNAME
roles: ${Object.entries(roles)
  .map(([role, r]) => `${role} (${r.label})`)
  .join(', ')}`;

async function readStdin(io: CliIo): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of io.stdin) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks).toString('utf8').split('\n')[0]?.trim() ?? '';
}

/**
 * `hub desk users …`. A new account's password is read from stdin (`--password-stdin`) or generated
 * and shown once; the desk stores only its scrypt hash. No account or password exists by default.
 */
export async function runUsers(args: readonly string[], io: CliIo): Promise<number> {
  const [action, ...rest] = args;
  const { openDeskDatabase } = await import('./run-desk');
  if (action === 'add') {
    const username = rest[0];
    let role: string | undefined;
    let name: string | undefined;
    let fromStdin = false;
    for (let i = 1; i < rest.length; i += 1) {
      if (rest[i] === '--role') {
        role = rest[i + 1];
        i += 1;
      } else if (rest[i] === '--name') {
        name = rest[i + 1];
        i += 1;
      } else if (rest[i] === '--password-stdin') fromStdin = true;
      else throw new HubError('USAGE', `unexpected argument '${rest[i] ?? ''}'\n${usage}`);
    }
    if (username === undefined || role === undefined) throw new HubError('USAGE', usage);
    const password = fromStdin ? await readStdin(io) : `${randomBytes(12).toString('base64url')}7a`;
    const pool = await openDeskDatabase(io.env);
    try {
      const user = await addUser(pool, { username, displayName: name ?? username, role, password });
      io.stdout.write(`added ${user.username} (${user.role})\n`);
      if (!fromStdin) io.stdout.write(`password (shown once; pass it on privately): ${password}\n`);
    } finally {
      await pool.end();
    }
    return 0;
  }
  if (action === 'list' && rest.length === 0) {
    const pool = await openDeskDatabase(io.env);
    try {
      for (const u of await listUsers(pool)) {
        io.stdout.write(
          `${u.username.padEnd(20)} ${u.role.padEnd(22)} ${u.disabled ? 'disabled' : 'active  '} ${u.createdAt} ${u.displayName}\n`,
        );
      }
    } finally {
      await pool.end();
    }
    return 0;
  }
  if (action === 'disable' && rest.length === 1 && rest[0] !== undefined) {
    const pool = await openDeskDatabase(io.env);
    try {
      if (!(await disableUser(pool, rest[0]))) throw new HubError('INPUT_INVALID', `no user ${rest[0]}`);
      io.stdout.write(`disabled ${rest[0]}; their sessions are closed\n`);
    } finally {
      await pool.end();
    }
    return 0;
  }
  throw new HubError('USAGE', usage);
}
