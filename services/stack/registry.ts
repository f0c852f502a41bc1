import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describeError } from '../platform';
import { failure, isLoopback, seconds, status, waitUntilHealthy, type ComponentStatus, type StackContext } from './component';
import { findJava } from './java';
import { apicurioHome, apicurioVersion } from './maven';
import { displayPath, type StackPaths } from './paths';
import { isOurProcess, runningPid, spawnDetached, type Spawned } from './processes';
import { ensureDatabase, probeRegistry } from './probes';

/** In the command line of the registry we start (the jar's path in the cache). */
export const registryMarker = 'apicurio-registry-';
/** The PostgreSQL database holding the registry's schemas, on the hub's PostgreSQL server. */
export const registryDatabase = 'hub_registry';
const httpPort = 8081;
/** Quarkus's management interface: /health/ready, /health/live, /metrics. */
const managementPort = 8082;
// The first start creates the registry's tables; later starts take about 5 s.
const readyTimeoutMs = 180_000;

export function registryFiles(paths: StackPaths): { pidFile: string; logFile: string; dir: string } {
  return {
    pidFile: join(paths.stateDir, 'registry.pid'),
    logFile: join(paths.logsDir, 'registry.log'),
    dir: join(paths.stateDir, 'registry'),
  };
}

export function isLocalRegistry(url: string): boolean {
  const parsed = new URL(url);
  return (
    isLoopback(parsed.hostname, parsed.port === '' ? 80 : parsed.port, httpPort) &&
    parsed.pathname.replace(/\/+$/, '') === '/apis/ccompat/v7'
  );
}

/**
 * Apicurio Registry 3 configuration, as environment variables (Quarkus maps APICURIO_STORAGE_KIND
 * to apicurio.storage.kind). SQL storage on the hub's PostgreSQL keeps schemas across restarts;
 * the default would be an in-memory H2 database that forgets them.
 */
export function registryEnvironment(postgresUrl: string, registryDir: string): Record<string, string> {
  const pg = new URL(postgresUrl);
  const user = decodeURIComponent(pg.username);
  const password = decodeURIComponent(pg.password);
  return {
    APICURIO_STORAGE_KIND: 'sql',
    APICURIO_STORAGE_SQL_KIND: 'postgresql',
    APICURIO_DATASOURCE_URL: `jdbc:postgresql://${pg.hostname}:${pg.port === '' ? '5432' : pg.port}/${registryDatabase}`,
    APICURIO_DATASOURCE_USERNAME: user === '' ? 'postgres' : user,
    // Quarkus reads an empty value as unset and would fall back to the built-in 'sa'; trust auth ignores it anyway.
    ...(password === '' ? {} : { APICURIO_DATASOURCE_PASSWORD: password }),
    // The built-in pool keeps 20 connections open from the start; a laptop's PostgreSQL has 100 in all.
    APICURIO_DATASOURCE_JDBC_INITIAL_SIZE: '2',
    APICURIO_DATASOURCE_JDBC_MIN_SIZE: '2',
    APICURIO_DATASOURCE_JDBC_MAX_SIZE: '20',
    APICURIO_STORAGE_SNAPSHOT_LOCATION: registryDir,
    QUARKUS_HTTP_HOST: '127.0.0.1',
    QUARKUS_HTTP_PORT: String(httpPort),
    QUARKUS_MANAGEMENT_HOST: '127.0.0.1',
    QUARKUS_MANAGEMENT_PORT: String(managementPort),
  };
}

async function startRegistry(
  ctx: StackContext,
  files: ReturnType<typeof registryFiles>,
  postgres: Promise<ComponentStatus>,
): Promise<Spawned> {
  const { paths, progress } = ctx;
  // Apicurio 3.3 is compiled for Java 21 (class file 65): the Debian default 17 cannot run it.
  const java = await findJava(ctx.env, { min: 21, max: 99 }, [ctx.env.HUB_REGISTRY_JAVA, '/usr/lib/jvm/temurin-25-jdk-amd64/bin/java']);
  if (java === undefined)
    throw failure('registry', 'no Java 21 or newer found for Apicurio Registry 3; set HUB_REGISTRY_JAVA to a java binary');
  const home = await apicurioHome(paths, ctx.childEnv, progress);
  try {
    await postgres;
  } catch {
    throw failure('registry', 'keeps its schemas in PostgreSQL, which did not come up');
  }
  try {
    if ((await ensureDatabase(ctx.config.postgresUrl, registryDatabase)) === 'created')
      progress(`registry: created database ${registryDatabase}`);
  } catch (error) {
    throw failure('registry', `could not create database ${registryDatabase}: ${describeError(error)}`);
  }
  mkdirSync(files.dir, { recursive: true });
  progress(
    `registry: starting Apicurio Registry ${apicurioVersion} (Java ${java.major}) on ` +
      `http://127.0.0.1:${httpPort}, storage postgresql/${registryDatabase}`,
  );
  return spawnDetached(java.bin, ['-Xms256m', '-Xmx512m', '-jar', join(home, 'quarkus-run.jar')], {
    cwd: files.dir,
    env: { ...ctx.childEnv, ...registryEnvironment(ctx.config.postgresUrl, files.dir) },
    logFile: files.logFile,
    pidFile: files.pidFile,
  });
}

/** The schema registry healthy at the configured URL, started here if it is the local stack's and is down. */
export async function ensureRegistry(ctx: StackContext, postgres: Promise<ComponentStatus>): Promise<ComponentStatus> {
  const started = Date.now();
  const url = ctx.config.schemaRegistryUrl;
  const local = isLocalRegistry(url);
  const files = registryFiles(ctx.paths);
  const first = await probeRegistry(url);
  if (first.healthy) {
    const pid = local ? runningPid(files.pidFile, registryMarker) : undefined;
    ctx.progress(`registry: up at ${url} (already running${pid === undefined ? ', not started by this checkout' : `, pid ${pid}`})`);
    return status({ component: 'registry', address: url, healthy: true, detail: first.detail, local }, pid);
  }
  if (!local) {
    throw failure(
      'registry',
      `not answering at ${url} (${first.detail}); HUB_SCHEMA_REGISTRY_URL points away from the local stack, so stack up only checks it`,
    );
  }
  let pid = runningPid(files.pidFile, registryMarker);
  let spawned: Spawned | undefined;
  if (pid === undefined) {
    spawned = await startRegistry(ctx, files, postgres);
    pid = spawned.pid;
  } else {
    ctx.progress(`registry: waiting for the registry started earlier (pid ${pid})`);
  }
  const runningPidNow = pid;
  const probe = await waitUntilHealthy({
    component: 'registry',
    probe: () => probeRegistry(url),
    timeoutMs: readyTimeoutMs,
    logFile: files.logFile,
    ...(spawned === undefined ? { stillRunning: () => isOurProcess(runningPidNow, registryMarker) } : { spawned }),
  });
  ctx.progress(`registry: ready in ${seconds(started)} s (pid ${pid}, log ${displayPath(files.logFile)})`);
  return status({ component: 'registry', address: url, healthy: true, detail: probe.detail, local }, pid);
}
