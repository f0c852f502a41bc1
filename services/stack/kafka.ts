import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { failure, isLoopback, seconds, status, waitUntilHealthy, type ComponentStatus, type StackContext } from './component';
import { findJava } from './java';
import { kafkaClasspath, kafkaVersion } from './maven';
import { displayPath, type StackPaths } from './paths';
import { isOurProcess, runLogged, runningPid, spawnDetached, type Spawned } from './processes';
import { probeKafka } from './probes';

/** In the command line of the broker we start; tells our broker from a recycled pid. */
export const kafkaMarker = 'kafka.Kafka';
const readyTimeoutMs = 120_000;

export function kafkaFiles(paths: StackPaths): { pidFile: string; logFile: string; dir: string } {
  return { pidFile: join(paths.stateDir, 'kafka.pid'), logFile: join(paths.logsDir, 'kafka.log'), dir: join(paths.stateDir, 'kafka') };
}

/** True for the one address the local stack serves Kafka on; any other is someone else's to run. */
export function isLocalKafka(brokers: readonly string[]): boolean {
  if (brokers.length !== 1 || brokers[0] === undefined) return false;
  const at = brokers[0].lastIndexOf(':');
  return isLoopback(brokers[0].slice(0, at), brokers[0].slice(at + 1), 9092);
}

/** A KRaft cluster id: 16 random bytes, base64url. Kafka avoids ids starting with '-' (they read as options). */
function clusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

async function startKafka(ctx: StackContext, files: ReturnType<typeof kafkaFiles>): Promise<Spawned> {
  const { paths, progress } = ctx;
  // Kafka 3.9 supports Java 11 to 23; the Debian default (17) is the one it is tested on here.
  const java = await findJava(ctx.env, { min: 11, max: 23 }, [ctx.env.HUB_KAFKA_JAVA]);
  if (java === undefined) throw failure('kafka', 'no Java 11 to 23 found for Kafka 3.9; set HUB_KAFKA_JAVA to a java binary');
  const classpath = await kafkaClasspath(paths, ctx.childEnv, progress);

  const dataDir = join(files.dir, 'data');
  mkdirSync(dataDir, { recursive: true });
  const properties = join(files.dir, 'server.properties');
  const template = readFileSync(join(paths.deployDir, 'kafka-server.properties'), 'utf8');
  writeFileSync(properties, template.replaceAll('@DATA_DIR@', dataDir));

  const jvm = [
    '-Xms512m',
    '-Xmx512m',
    '-XX:+UseG1GC',
    '-XX:MaxGCPauseMillis=20',
    '-XX:InitiatingHeapOccupancyPercent=35',
    '-XX:+ExplicitGCInvokesConcurrent',
    '-Djava.awt.headless=true',
    `-Dlog4j.configuration=file:${join(paths.deployDir, 'kafka-log4j.properties')}`,
    '-cp',
    classpath,
  ];
  if (!existsSync(join(dataDir, 'meta.properties'))) {
    progress(`kafka: formatting storage in ${displayPath(dataDir)}`);
    const code = await runLogged(
      java.bin,
      [...jvm, 'kafka.tools.StorageTool', 'format', '--cluster-id', clusterId(), '--config', properties, '--ignore-formatted'],
      {
        cwd: files.dir,
        env: ctx.childEnv,
        logFile: files.logFile,
      },
    );
    if (code !== 0) throw failure('kafka', `formatting the storage failed (exit ${code})`, files.logFile);
  }
  progress(`kafka: starting Kafka ${kafkaVersion} (KRaft, Java ${java.major}) on 127.0.0.1:9092, controller 127.0.0.1:9093`);
  return spawnDetached(java.bin, [...jvm, kafkaMarker, properties], {
    cwd: files.dir,
    env: ctx.childEnv,
    logFile: files.logFile,
    pidFile: files.pidFile,
  });
}

/** Kafka healthy at the configured brokers, started here if it is the local stack's and is down. */
export async function ensureKafka(ctx: StackContext): Promise<ComponentStatus> {
  const started = Date.now();
  const brokers = ctx.config.kafkaBrokers;
  const address = brokers.join(',');
  const local = isLocalKafka(brokers);
  const files = kafkaFiles(ctx.paths);
  const first = await probeKafka(brokers);
  if (first.healthy) {
    const pid = local ? runningPid(files.pidFile, kafkaMarker) : undefined;
    ctx.progress(`kafka: up at ${address} (already running${pid === undefined ? ', not started by this checkout' : `, pid ${pid}`})`);
    return status({ component: 'kafka', address, healthy: true, detail: first.detail, local }, pid);
  }
  if (!local) {
    throw failure(
      'kafka',
      `not answering at ${address} (${first.detail}); HUB_KAFKA_BROKERS points away from the local stack, so stack up only checks it`,
    );
  }
  let pid = runningPid(files.pidFile, kafkaMarker);
  let spawned: Spawned | undefined;
  if (pid === undefined) {
    spawned = await startKafka(ctx, files);
    pid = spawned.pid;
  } else {
    ctx.progress(`kafka: waiting for the broker started earlier (pid ${pid})`);
  }
  const runningPidNow = pid;
  const probe = await waitUntilHealthy({
    component: 'kafka',
    probe: () => probeKafka(brokers),
    timeoutMs: readyTimeoutMs,
    logFile: files.logFile,
    ...(spawned === undefined ? { stillRunning: () => isOurProcess(runningPidNow, kafkaMarker) } : { spawned }),
  });
  ctx.progress(`kafka: ready in ${seconds(started)} s (pid ${pid}, log ${displayPath(files.logFile)})`);
  return status({ component: 'kafka', address, healthy: true, detail: probe.detail, local }, pid);
}

/**
 * A Java command line for Kafka's own tools (console consumer and producer, consumer groups, …)
 * from the same Maven artifacts as the broker: an independent client for operators and tests.
 */
export async function kafkaToolCommand(
  paths: StackPaths,
  env: NodeJS.ProcessEnv,
  mainClass: string,
  args: readonly string[],
): Promise<{ bin: string; args: string[] }> {
  const java = await findJava(env, { min: 11, max: 23 }, [env.HUB_KAFKA_JAVA]);
  if (java === undefined) throw failure('kafka', "no Java 11 to 23 found for Kafka's tools; set HUB_KAFKA_JAVA to a java binary");
  const classpath = await kafkaClasspath(paths, env, () => undefined);
  return { bin: java.bin, args: ['-Xmx256m', '-Dlog4j.configuration=file:/dev/null', '-cp', classpath, mainClass, ...args] };
}
