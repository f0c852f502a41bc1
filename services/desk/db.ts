import pg from 'pg';
import { HubError } from '../platform';

/**
 * The desk's PostgreSQL access: one pool, and transactions as a function so a caller cannot forget
 * to roll back. The desk owns its database; `HUB_DESK_DATABASE` names it inside the server that
 * HUB_POSTGRES_URL points at, and the desk creates it when it is missing.
 */
export type DeskPool = pg.Pool;
export type DeskClient = pg.PoolClient;
export type Queryable = Pick<pg.Pool, 'query'>;

/** The URL of `database` on the server of `serverUrl`. */
export function databaseUrl(serverUrl: string, database: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

/** Creates the database when it does not exist (CREATE DATABASE cannot run in a transaction). */
export async function ensureDatabase(serverUrl: string, database: string): Promise<void> {
  if (!/^[a-z0-9_]{1,63}$/.test(database)) {
    throw new HubError('CONFIG_INVALID', `HUB_DESK_DATABASE: "${database}" must be 1-63 of a-z, 0-9, _`, { catastrophic: true });
  }
  const client = new pg.Client({ connectionString: serverUrl, connectionTimeoutMillis: 5_000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    const found = await client.query('select 1 from pg_database where datname = $1', [database]);
    if (found.rowCount === 0) {
      // Two desks starting at once may race here; the loser's duplicate_database error is harmless.
      await client.query(`create database ${client.escapeIdentifier(database)}`).catch((error: unknown) => {
        if ((error as { code?: string }).code !== '42P04') throw error;
      });
    }
  } catch (error) {
    if (error instanceof HubError) throw error;
    throw new HubError('UNAVAILABLE', `PostgreSQL did not answer: ${(error as Error).message}`, { catastrophic: true, cause: error });
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Drops a database (tests and `--rebuild`); the connections to it are ended first. */
export async function dropDatabase(serverUrl: string, database: string): Promise<void> {
  const client = new pg.Client({ connectionString: serverUrl });
  client.on('error', () => undefined);
  await client.connect();
  try {
    await client.query(`drop database if exists ${client.escapeIdentifier(database)} with (force)`);
  } finally {
    await client.end();
  }
}

/**
 * Type parsers of the desk's pool only (pg's are global otherwise): bigint as a number (sums of fen
 * stay far below 2^53) and a date as its ISO 'YYYY-MM-DD' text, never a Date shifted by a time zone.
 */
const deskTypes = {
  getTypeParser: ((oid: number) => {
    if (oid === 20) return (text: string) => Number(text);
    if (oid === 1082) return (text: string) => text;
    return pg.types.getTypeParser(oid, 'text') as (text: string) => unknown;
  }) as typeof pg.types.getTypeParser,
};

export function createPool(url: string, max = 8): DeskPool {
  const pool = new pg.Pool({ connectionString: url, max, connectionTimeoutMillis: 5_000, types: deskTypes });
  // A dropped idle connection must not crash the process; the next query gets a new one.
  pool.on('error', () => undefined);
  return pool;
}

/** Runs `work` in one transaction: committed when it resolves, rolled back when it throws. */
export async function inTransaction<T>(pool: DeskPool, work: (client: DeskClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('begin');
    const result = await work(client);
    await client.query('commit');
    return result;
  } catch (error) {
    await client.query('rollback').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}
