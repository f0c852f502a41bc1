import { randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import { appendFileSync, chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { kafkaPrincipals, operatorPrincipal, type KafkaSecurity, type PrincipalName } from '../kafka';
import { provisionSecureCluster } from '../kafka/runtime';
import { HubError, describeError, effectiveEnvironment, loadConfig, type Environment } from '../platform';
import { failure, seconds, waitUntilHealthy, type ComponentStatus } from './component';
import { findJava } from './java';
import { kafkaClasspath, kafkaVersion } from './maven';
import { displayPath, stackPaths, type StackPaths } from './paths';
import { isOurProcess, removePidFile, runningPid, spawnDetached, stopProcess, type Spawned } from './processes';
import { probeKafka } from './probes';

/**
 * The secure local Kafka (`hub stack up --secure`): a second single-node KRaft broker beside the
 * plain one, with SASL/SCRAM-SHA-512 and the StandardAuthorizer, whose principals and ACLs are
 * exactly those of services/kafka/acls.ts. It has its own ports (19092, controller 19093), data
 * directory (.hub/kafka-secure) and pid file; the registry, Redis and PostgreSQL are the plain
 * stack's.
 */
export const secureKafkaBrokers: readonly string[] = ['127.0.0.1:19092'];
const readyTimeoutMs = 120_000;

export function secureKafkaFiles(paths: StackPaths) {
  const dir = join(paths.stateDir, 'kafka-secure');
  return {
    dir,
    dataDir: join(dir, 'data'),
    properties: join(dir, 'server.properties'),
    credentials: join(dir, 'credentials.json'),
    envDir: join(dir, 'env'),
    pidFile: join(paths.stateDir, 'kafka-secure.pid'),
    logFile: join(paths.logsDir, 'kafka-secure.log'),
  };
}

export interface SecureStackOptions {
  /** The environment to read HUB_STATE_DIR, HUB_TOPIC_PREFIX and HUB_TOPIC_PARTITIONS from; `process.env` by default. */
  readonly env?: Environment;
  readonly progress?: (line: string) => void;
}

/** The secure broker as `ensureSecureKafka` left it, and how each principal connects to it. */
export interface SecureKafka {
  readonly brokers: readonly string[];
  /** The broker's process, when this checkout started it. */
  readonly pid: number | undefined;
  /** True when this call started the broker; false when it was running already. */
  readonly started: boolean;
  readonly topicPrefix: string;
  /** SASL settings of a principal, for connectKafka's `security`. */
  security(principal: PrincipalName): KafkaSecurity;
  /** The HUB_KAFKA_* variables that make a role connect as `principal` (its password included). */
  environment(principal: PrincipalName): Record<string, string>;
  /** The file (mode 600) holding those variables: `set -a; . FILE; set +a` before starting a role. */
  envFile(principal: PrincipalName): string;
}

function context(options: SecureStackOptions) {
  const raw = options.env ?? process.env;
  const env = effectiveEnvironment(raw);
  const config = loadConfig(env, ['stateDir', 'topicPrefix', 'topicPartitions']);
  const paths = stackPaths(config.stateDir, env);
  return { raw, env, config, paths, files: secureKafkaFiles(paths), progress: options.progress ?? (() => undefined) };
}

/** Identifies our broker's process (its configuration file's path is on its command line). */
const markerOf = (files: ReturnType<typeof secureKafkaFiles>): string => files.properties;

function writeSecret(file: string, text: string): void {
  writeFileSync(file, text, { mode: 0o600 });
  chmodSync(file, 0o600);
}

function saveCredentials(files: ReturnType<typeof secureKafkaFiles>, credentials: Record<string, string>): void {
  writeSecret(files.credentials, `${JSON.stringify(credentials, null, 2)}\n`);
}

function readCredentials(file: string): Record<string, string> | undefined {
  if (!existsSync(file)) return undefined;
  const parsed: unknown = JSON.parse(readFileSync(file, 'utf8'));
  if (typeof parsed !== 'object' || parsed === null)
    throw new HubError('STACK_FAILED', `kafka: ${displayPath(file)} is not a JSON object of passwords`);
  return Object.fromEntries(Object.entries(parsed).filter((entry): entry is [string, string] => typeof entry[1] === 'string'));
}

/** base64url: no character the SCRAM argument syntax (`[name=…,password=…]`) or a JAAS string would need escaped. */
const newPassword = (): string => randomBytes(24).toString('base64url');

const scramSecurity = (username: string, password: string): KafkaSecurity => ({ sasl: { mechanism: 'scram-sha-512', username, password } });

/**
 * The passwords of every declared principal, generated once into credentials.json (mode 600).
 * Principals declared after the storage was formatted are generated too and returned as `added`:
 * they must be created on the running broker.
 */
function ensureCredentials(files: ReturnType<typeof secureKafkaFiles>): { credentials: Record<string, string>; added: string[] } {
  const formatted = existsSync(join(files.dataDir, 'meta.properties'));
  const existing = readCredentials(files.credentials);
  if (existing === undefined && formatted) {
    throw new HubError(
      'STACK_FAILED',
      `kafka: the secure broker's storage in ${displayPath(files.dataDir)} exists but its credentials ` +
        `(${displayPath(files.credentials)}) do not; run 'hub stack down --secure' and remove ${displayPath(files.dir)} to start it afresh`,
    );
  }
  const credentials = { ...existing };
  const added: string[] = [];
  for (const principal of kafkaPrincipals()) {
    if (credentials[principal.name] !== undefined) continue;
    credentials[principal.name] = newPassword();
    added.push(principal.name);
  }
  // Before a format the passwords are written now (the format creates the users); on a formatted
  // broker only once the users exist (saveCredentials), or a failed addition would leave passwords
  // behind that the broker never had.
  if (added.length > 0 && !formatted) saveCredentials(files, credentials);
  return { credentials, added: formatted ? added : [] };
}

const javaArgs = (paths: StackPaths, classpath: string, heap: string): string[] => [
  `-Xms${heap}`,
  `-Xmx${heap}`,
  '-XX:+UseG1GC',
  '-XX:MaxGCPauseMillis=20',
  '-Djava.awt.headless=true',
  `-Dlog4j.configuration=file:${join(paths.deployDir, 'kafka-log4j.properties')}`,
  '-cp',
  classpath,
];

async function javaForKafka(env: Environment) {
  const java = await findJava(env, { min: 11, max: 23 }, [env.HUB_KAFKA_JAVA]);
  if (java === undefined) throw failure('kafka', 'no Java 11 to 23 found for Kafka 3.9; set HUB_KAFKA_JAVA to a java binary');
  return java;
}

/**
 * Runs one of Kafka's tools whose command line carries passwords (`secrets`): its output reaches
 * the log with each of them replaced by ***, and the header line shows `shownArgs`.
 */
async function runWithSecrets(
  bin: string,
  args: readonly string[],
  shownArgs: readonly string[],
  secrets: readonly string[],
  options: { cwd: string; env: NodeJS.ProcessEnv; logFile: string },
): Promise<number> {
  const { code, output } = await new Promise<{ code: number; output: string }>((resolve) => {
    execFile(bin, [...args], { cwd: options.cwd, env: options.env, timeout: 180_000, maxBuffer: 1 << 22 }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : 1, output: `${stdout}${stderr}` });
    });
  });
  const scrubbed = secrets.filter((secret) => secret !== '').reduce((text, secret) => text.replaceAll(secret, '***'), output);
  appendFileSync(options.logFile, `\n==== ${new Date().toISOString()} ${bin} ${shownArgs.join(' ')}\n${scrubbed}`);
  return code;
}

async function startBroker(ctx: ReturnType<typeof context>, credentials: Record<string, string>): Promise<Spawned> {
  const { paths, files, progress } = ctx;
  const java = await javaForKafka(ctx.env);
  const classpath = await kafkaClasspath(paths, ctx.raw, progress);
  mkdirSync(files.dataDir, { recursive: true });
  const admin = credentials[operatorPrincipal] ?? '';
  const template = readFileSync(join(paths.deployDir, 'kafka-secure-server.properties'), 'utf8');
  writeSecret(files.properties, template.replaceAll('@DATA_DIR@', files.dataDir).replaceAll('@ADMIN_PASSWORD@', admin));
  const jvm = javaArgs(paths, classpath, '384m');
  if (!existsSync(join(files.dataDir, 'meta.properties'))) {
    progress(
      `kafka (secure): formatting storage in ${displayPath(files.dataDir)} with ${Object.keys(credentials).length} SCRAM-SHA-512 users`,
    );
    const clusterId = randomBytes(16).toString('base64url').replace(/^-/, 'A');
    const base = ['kafka.tools.StorageTool', 'format', '--cluster-id', clusterId, '--config', files.properties, '--ignore-formatted'];
    const scram = Object.entries(credentials).flatMap(([name, password]) => [
      '--add-scram',
      `SCRAM-SHA-512=[name=${name},password=${password}]`,
    ]);
    const shown = Object.keys(credentials).flatMap((name) => ['--add-scram', `SCRAM-SHA-512=[name=${name},password=***]`]);
    const code = await runWithSecrets(java.bin, [...jvm, ...base, ...scram], [...jvm, ...base, ...shown], Object.values(credentials), {
      cwd: files.dir,
      env: ctx.raw,
      logFile: files.logFile,
    });
    if (code !== 0) throw failure('kafka', `formatting the secure broker's storage failed (exit ${code})`, files.logFile);
  }
  progress(
    `kafka (secure): starting Kafka ${kafkaVersion} (KRaft, SASL/SCRAM-SHA-512, StandardAuthorizer, ` +
      `Java ${java.major}) on ${secureKafkaBrokers.join(',')}, controller 127.0.0.1:19093`,
  );
  return spawnDetached(java.bin, [...jvm, 'kafka.Kafka', files.properties], {
    cwd: files.dir,
    env: ctx.raw,
    logFile: files.logFile,
    pidFile: files.pidFile,
  });
}

/**
 * Creates SCRAM users on the running broker (principals declared after it was formatted), with
 * Kafka's own kafka-configs tool. The password is on the tool's command line for the moment it
 * runs, as with `format --add-scram`; its output is scrubbed of it before it reaches the log.
 */
async function addScramUsers(
  ctx: ReturnType<typeof context>,
  credentials: Record<string, string>,
  names: readonly string[],
): Promise<void> {
  const { files } = ctx;
  const java = await javaForKafka(ctx.env);
  const classpath = await kafkaClasspath(ctx.paths, ctx.raw, ctx.progress);
  const adminPassword = credentials[operatorPrincipal] ?? '';
  const adminConfig = join(files.dir, 'admin-client.properties');
  writeSecret(
    adminConfig,
    [
      'security.protocol=SASL_PLAINTEXT',
      'sasl.mechanism=SCRAM-SHA-512',
      `sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required ` +
        `username="${operatorPrincipal}" password="${adminPassword}";`,
      '',
    ].join('\n'),
  );
  try {
    for (const name of names) {
      const password = credentials[name] ?? '';
      const args = [
        ...javaArgs(ctx.paths, classpath, '128m'),
        'kafka.admin.ConfigCommand',
        '--bootstrap-server',
        secureKafkaBrokers.join(','),
        '--command-config',
        adminConfig,
        '--alter',
        '--entity-type',
        'users',
        '--entity-name',
        name,
        '--add-config',
      ];
      const code = await runWithSecrets(
        java.bin,
        [...args, `SCRAM-SHA-512=[password=${password}]`],
        [...args, 'SCRAM-SHA-512=[password=***]'],
        [password, adminPassword],
        { cwd: files.dir, env: ctx.raw, logFile: files.logFile },
      );
      if (code !== 0) throw failure('kafka', `adding the SCRAM user ${name} to the secure broker failed (exit ${code})`, files.logFile);
      ctx.progress(`kafka (secure): added SCRAM user ${name}`);
    }
  } finally {
    rmSync(adminConfig, { force: true });
  }
}

function environmentOf(username: string, password: string): Record<string, string> {
  return {
    HUB_KAFKA_BROKERS: secureKafkaBrokers.join(','),
    HUB_KAFKA_SASL_MECHANISM: 'scram-sha-512',
    HUB_KAFKA_SASL_USERNAME: username,
    HUB_KAFKA_SASL_PASSWORD: password,
  };
}

/**
 * The secure broker up and answering SCRAM logins, with the hub's topics and exactly the declared
 * ACLs for HUB_TOPIC_PREFIX. Starts it when it is down, reuses it when it runs. Throws HubError
 * STACK_FAILED naming what failed.
 */
export async function ensureSecureKafka(options: SecureStackOptions = {}): Promise<SecureKafka> {
  const ctx = context(options);
  const { files, progress } = ctx;
  const startedAt = Date.now();
  mkdirSync(ctx.paths.logsDir, { recursive: true });
  mkdirSync(files.envDir, { recursive: true, mode: 0o700 });
  const { credentials, added } = ensureCredentials(files);
  const password = (name: string): string => {
    const found = credentials[name];
    if (found === undefined) throw new HubError('USAGE', `no Kafka principal ${name} is declared in services/kafka/acls.ts`);
    return found;
  };
  const adminSecurity = scramSecurity(operatorPrincipal, password(operatorPrincipal));
  const address = secureKafkaBrokers.join(',');

  let pid = runningPid(files.pidFile, markerOf(files));
  let started = false;
  const first = await probeKafka(secureKafkaBrokers, adminSecurity);
  if (first.healthy) {
    progress(`kafka (secure): up at ${address} (already running${pid === undefined ? ', not started by this checkout' : `, pid ${pid}`})`);
  } else {
    let spawned: Spawned | undefined;
    if (pid === undefined && /SASL|authentication/i.test(first.detail)) {
      // The port is the machine's, the credentials this checkout's: another checkout's broker holds it.
      throw failure(
        'kafka',
        `a Kafka at ${address} refuses this checkout's admin credentials (${first.detail}); another ` +
          `checkout's secure broker? Stop it there with 'hub stack down --secure'`,
      );
    }
    if (pid === undefined) {
      spawned = await startBroker(ctx, credentials);
      pid = spawned.pid;
      started = true;
    } else {
      progress(`kafka (secure): waiting for the broker started earlier (pid ${pid})`);
    }
    const waitingFor = pid;
    await waitUntilHealthy({
      component: 'kafka',
      probe: () => probeKafka(secureKafkaBrokers, adminSecurity),
      timeoutMs: readyTimeoutMs,
      logFile: files.logFile,
      ...(spawned === undefined ? { stillRunning: () => isOurProcess(waitingFor, markerOf(files)) } : { spawned }),
    });
    progress(`kafka (secure): ready in ${seconds(startedAt)} s (pid ${pid}, log ${displayPath(files.logFile)})`);
  }
  if (added.length > 0) {
    await addScramUsers(ctx, credentials, added);
    saveCredentials(files, credentials);
  }

  try {
    const { topics, acls } = await provisionSecureCluster(
      secureKafkaBrokers,
      adminSecurity,
      ctx.config.topicPrefix,
      ctx.config.topicPartitions,
    );
    progress(
      `kafka (secure): ${topics} topic(s) created; ACLs: ${acls.total} declared, ${acls.created} created,` +
        ` ${acls.deleted} undeclared deleted`,
    );
  } catch (error) {
    throw failure('kafka', `setting up the secure broker's topics and ACLs failed: ${describeError(error)}`, files.logFile);
  }

  for (const principal of kafkaPrincipals()) {
    const text = Object.entries(environmentOf(principal.name, password(principal.name)))
      .map(([key, value]) => `${key}=${value}\n`)
      .join('');
    writeSecret(
      join(files.envDir, `${principal.name}.env`),
      `# The secure local Kafka as ${principal.name}: set -a; . ${join(files.envDir, `${principal.name}.env`)}; set +a\n${text}`,
    );
  }
  return {
    brokers: secureKafkaBrokers,
    pid,
    started,
    topicPrefix: ctx.config.topicPrefix,
    security: (principal) => scramSecurity(principal, password(principal)),
    environment: (principal) => environmentOf(principal, password(principal)),
    envFile: (principal) => join(files.envDir, `${principal}.env`),
  };
}

/** Stops the secure broker this checkout started (SIGTERM, SIGKILL after 30 s). Its data stays. */
export async function stopSecureKafka(options: SecureStackOptions = {}): Promise<'stopped' | 'not running'> {
  const { files, progress } = context(options);
  const pid = runningPid(files.pidFile, markerOf(files));
  if (pid === undefined) {
    removePidFile(files.pidFile);
    progress('kafka (secure): not running (no process of this checkout)');
    return 'not running';
  }
  const how = await stopProcess(pid, 30_000);
  removePidFile(files.pidFile);
  progress(`kafka (secure): stopped pid ${pid}${how === 'killed' ? ' (killed after 30 s)' : ''}`);
  return 'stopped';
}

/** The secure broker's health, logged in as the operator. */
export async function secureKafkaStatus(options: SecureStackOptions = {}): Promise<ComponentStatus> {
  const { files } = context(options);
  const credentials = readCredentials(files.credentials);
  const adminPassword = credentials?.[operatorPrincipal];
  const address = `${secureKafkaBrokers.join(',')} (SASL/SCRAM-SHA-512)`;
  const pid = runningPid(files.pidFile, markerOf(files));
  const probe =
    adminPassword === undefined
      ? { healthy: false, detail: `no credentials at ${displayPath(files.credentials)}; run hub stack up --secure` }
      : await probeKafka(secureKafkaBrokers, scramSecurity(operatorPrincipal, adminPassword));
  return { component: 'kafka', address, healthy: probe.healthy, detail: probe.detail, local: true, ...(pid === undefined ? {} : { pid }) };
}
