import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describeError } from '../platform';
import { failure, isLoopback, maskUrl, seconds, status, waitUntilHealthy, type ComponentStatus, type StackContext } from './component';
import { runLogged } from './processes';
import { probePostgres, probeRedis, setRedisNoEviction } from './probes';

/**
 * Redis and PostgreSQL belong to the machine, not to the stack: `stack up` starts them only when
 * they are down at their local default address, and `stack down` never stops them.
 */

export function isLocalRedis(url: string): boolean {
  const parsed = new URL(url);
  return isLoopback(parsed.hostname, parsed.port === '' ? 6379 : parsed.port, 6379);
}

export function isLocalPostgres(url: string): boolean {
  const parsed = new URL(url);
  return isLoopback(parsed.hostname, parsed.port === '' ? 5432 : parsed.port, 5432);
}

/** The machine's usual Redis command line; falls back to the state dir where /var/lib/redis is missing. */
function redisArgs(ctx: StackContext): string[] {
  const machine = existsSync('/var/lib/redis') && existsSync('/var/log/redis');
  const dir = machine ? '/var/lib/redis' : join(ctx.paths.stateDir, 'redis');
  const logfile = machine ? '/var/log/redis/ci.log' : join(ctx.paths.logsDir, 'redis.log');
  mkdirSync(dir, { recursive: true });
  return [
    '--daemonize',
    'yes',
    '--bind',
    '127.0.0.1',
    '-::1',
    '--port',
    '6379',
    '--save',
    '',
    '--appendonly',
    'no',
    '--dir',
    dir,
    '--logfile',
    logfile,
  ];
}

export async function ensureRedis(ctx: StackContext): Promise<ComponentStatus> {
  const started = Date.now();
  const url = ctx.config.redisUrl;
  const address = maskUrl(url);
  const local = isLocalRedis(url);
  const logFile = join(ctx.paths.logsDir, 'redis-start.log');
  let probe = await probeRedis(url);
  if (!probe.answered) {
    if (!local)
      throw failure(
        'redis',
        `not answering at ${address} (${probe.detail}); HUB_REDIS_URL points away from the local stack, so stack up only checks it`,
      );
    ctx.progress('redis: not answering; starting redis-server on 127.0.0.1:6379');
    let code: number;
    try {
      code = await runLogged('redis-server', redisArgs(ctx), { cwd: ctx.paths.stateDir, env: ctx.childEnv, logFile });
    } catch (error) {
      throw failure('redis', `could not run redis-server: ${describeError(error)}`, logFile);
    }
    if (code !== 0) throw failure('redis', `redis-server exited with code ${code}`, logFile);
    probe = await waitUntilHealthy({
      component: 'redis',
      probe: async () => {
        const p = await probeRedis(url);
        return { healthy: p.answered, detail: p.detail };
      },
      timeoutMs: 20_000,
      logFile,
    }).then(() => probeRedis(url));
  }
  if (!probe.healthy && probe.answered) {
    if (!local) throw failure('redis', `${probe.detail} at ${address}; set it there (the stack only checks Redis it does not own)`);
    // BullMQ silently loses jobs when Redis evicts keys; the local Redis is ours to configure.
    try {
      await setRedisNoEviction(url);
    } catch (error) {
      throw failure('redis', `could not set maxmemory-policy noeviction: ${describeError(error)}`);
    }
    ctx.progress(`redis: set maxmemory-policy noeviction (${probe.detail.replace(', BullMQ needs noeviction', '')})`);
    probe = await probeRedis(url);
  }
  if (!probe.healthy) throw failure('redis', `${probe.detail} at ${address}`);
  ctx.progress(`redis: up at ${address} (${probe.detail}, ${seconds(started)} s)`);
  return status({ component: 'redis', address, healthy: true, detail: probe.detail, local }, undefined);
}

export async function ensurePostgres(ctx: StackContext): Promise<ComponentStatus> {
  const started = Date.now();
  const url = ctx.config.postgresUrl;
  const address = maskUrl(url);
  const local = isLocalPostgres(url);
  const logFile = join(ctx.paths.logsDir, 'postgres-start.log');
  let probe = await probePostgres(url);
  if (!probe.healthy) {
    if (!local)
      throw failure(
        'postgres',
        `not answering at ${address} (${probe.detail}); HUB_POSTGRES_URL points away from the local stack, so stack up only checks it`,
      );
    const versions = existsSync('/etc/postgresql') ? readdirSync('/etc/postgresql') : [];
    if (versions.length === 0)
      throw failure('postgres', `not answering at ${address} (${probe.detail}), and there is no /etc/postgresql cluster to start`);
    ctx.progress(`postgres: not answering; starting the machine's cluster (pg_ctlcluster ${versions.join(',')} main start)`);
    for (const version of versions) {
      // A non-zero exit also means "already running"; the probe below is the judge.
      await runLogged('pg_ctlcluster', ['--skip-systemctl-redirect', version, 'main', 'start'], {
        cwd: ctx.paths.stateDir,
        env: ctx.childEnv,
        logFile,
      }).catch((error: unknown) => {
        throw failure('postgres', `could not run pg_ctlcluster: ${describeError(error)}`, logFile);
      });
    }
    probe = await waitUntilHealthy({ component: 'postgres', probe: () => probePostgres(url), timeoutMs: 30_000, logFile });
  }
  ctx.progress(`postgres: up at ${address} (${probe.detail}, ${seconds(started)} s)`);
  return status({ component: 'postgres', address, healthy: true, detail: probe.detail, local }, undefined);
}
