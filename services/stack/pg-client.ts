import { createRequire } from 'node:module';

/**
 * The slice of the `pg` package the stack uses. The project has no @types/pg, and a global
 * `declare module 'pg'` would collide with it the day it is added; this typed view stays local.
 */
export interface PgClient {
  connect(): Promise<void>;
  query<Row = Record<string, unknown>>(text: string, values?: readonly unknown[]): Promise<{ rows: Row[]; rowCount: number | null }>;
  end(): Promise<void>;
  on(event: 'error', listener: (error: Error) => void): void;
  escapeIdentifier(name: string): string;
}

interface PgModule {
  Client: new (config: { connectionString: string; connectionTimeoutMillis?: number }) => PgClient;
}

const pg = createRequire(import.meta.url)('pg') as PgModule;

/** A connected client, or the connection error; errors after connecting do not crash the process. */
export async function connectPg(url: string, timeoutMs: number): Promise<PgClient> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: timeoutMs });
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (error) {
    await client.end().catch(() => undefined);
    throw error;
  }
  return client;
}
