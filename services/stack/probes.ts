import { Redis } from 'ioredis';
import { type KafkaSecurity } from '../kafka';
import { describeKafkaCluster } from '../kafka/runtime';
import { describeError } from '../platform';
import { connectPg } from './pg-client';

/** What a health check found: whether the service answers as the hub needs, and a short note. */
export interface Probe {
  readonly healthy: boolean;
  readonly detail: string;
}

/** Kafka answers a metadata request (describeCluster) with at least one broker; `security` for a listener that asks for SASL. */
export async function probeKafka(brokers: readonly string[], security?: KafkaSecurity): Promise<Probe> {
  try {
    const cluster = await describeKafkaCluster(brokers, security);
    if (cluster.brokers === 0) return { healthy: false, detail: 'no broker in the cluster metadata' };
    return { healthy: true, detail: `${cluster.brokers} broker(s), cluster ${cluster.clusterId}` };
  } catch (error) {
    return { healthy: false, detail: describeError(error) };
  }
}

/** The registry lists subjects through the Confluent API (`GET {url}/subjects`). */
export async function probeRegistry(url: string): Promise<Probe> {
  // GET /schemas/types costs the registry nothing; GET /subjects lists every subject, which took
  // over 3 s on a registry holding a thousand test subjects under load, and a healthy registry was
  // taken for a dead one (and a second started on its port).
  try {
    const response = await fetch(`${url}/schemas/types`, { signal: AbortSignal.timeout(3_000) });
    if (!response.ok) return { healthy: false, detail: `GET /schemas/types answered ${response.status}` };
    const types: unknown = await response.json();
    if (!Array.isArray(types) || !types.includes('AVRO')) return { healthy: false, detail: 'GET /schemas/types does not list AVRO' };
    return { healthy: true, detail: `schema types ${types.join(', ')}` };
  } catch (error) {
    return { healthy: false, detail: describeError(error) };
  }
}

export interface RedisProbe extends Probe {
  /** Redis answered PING (it may still be unhealthy for its eviction policy). */
  readonly answered: boolean;
}

function redisClient(url: string): Redis {
  const redis = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 2_000,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  // ioredis emits connection errors as events as well; the awaited calls below carry them.
  redis.on('error', () => undefined);
  return redis;
}

/**
 * Redis answers PING and keeps `maxmemory-policy noeviction`: BullMQ loses jobs under any policy
 * that evicts keys.
 */
export async function probeRedis(url: string): Promise<RedisProbe> {
  const redis = redisClient(url);
  try {
    await redis.connect();
    const pong: string = await redis.ping();
    if (pong !== 'PONG') return { healthy: false, answered: false, detail: `PING answered ${pong}` };
    let policy: string | undefined;
    try {
      const answer = await redis.config('GET', 'maxmemory-policy');
      policy = Array.isArray(answer) && typeof answer[1] === 'string' ? answer[1] : undefined;
    } catch {
      // Managed Redis services often disable CONFIG; the policy is then theirs to guarantee.
      return { healthy: true, answered: true, detail: 'maxmemory-policy unreadable (CONFIG disabled)' };
    }
    if (policy !== 'noeviction')
      return { healthy: false, answered: true, detail: `maxmemory-policy is ${policy ?? 'unknown'}, BullMQ needs noeviction` };
    return { healthy: true, answered: true, detail: 'maxmemory-policy noeviction' };
  } catch (error) {
    return { healthy: false, answered: false, detail: describeError(error) };
  } finally {
    redis.disconnect();
  }
}

/** Sets `maxmemory-policy noeviction` (at runtime; a restarted Redis reads its own config again). */
export async function setRedisNoEviction(url: string): Promise<void> {
  const redis = redisClient(url);
  try {
    await redis.connect();
    await redis.config('SET', 'maxmemory-policy', 'noeviction');
  } finally {
    redis.disconnect();
  }
}

/** PostgreSQL accepts a connection and answers a query. */
export async function probePostgres(url: string): Promise<Probe> {
  let client;
  try {
    client = await connectPg(url, 2_000);
    const result = await client.query<{ server_version: string }>('SHOW server_version');
    return { healthy: true, detail: `PostgreSQL ${result.rows[0]?.server_version ?? '?'}` };
  } catch (error) {
    return { healthy: false, detail: describeError(error) };
  } finally {
    await client?.end().catch(() => undefined);
  }
}

/** Creates `database` on the server of `url` unless it exists (the registry's storage). */
export async function ensureDatabase(url: string, database: string): Promise<'created' | 'exists'> {
  const client = await connectPg(url, 5_000);
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (found.rowCount !== null && found.rowCount > 0) return 'exists';
    try {
      // CREATE DATABASE takes no parameters; the name is ours and quoted as an identifier.
      await client.query(`CREATE DATABASE ${client.escapeIdentifier(database)}`);
    } catch (error) {
      // 42P04 duplicate_database: another `stack up` created it between our check and now.
      if ((error as { code?: unknown }).code === '42P04') return 'exists';
      throw error;
    }
    return 'created';
  } finally {
    await client.end().catch(() => undefined);
  }
}
