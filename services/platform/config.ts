import { existsSync, readFileSync } from 'node:fs';
import { HubError } from './errors';

/**
 * Configuration comes from the environment, is validated once at start-up and then frozen.
 * Every key has a documented default except secrets, which have none: a process that needs a
 * secret and lacks it refuses to start, naming the key. `hub config` prints this table.
 *
 * For the local stack, `hub stack up` writes generated secrets to `.hub/local.env`; values from the
 * real environment always win over that file.
 */
interface KeySpec<T> {
  readonly env: string;
  readonly doc: string;
  /** Absent for secrets and other keys that must be given. */
  readonly fallback?: string;
  readonly secret?: boolean;
  parse(raw: string): T;
}

function key<T>(spec: KeySpec<T>): KeySpec<T> {
  return spec;
}

const parseBrokers = (raw: string): readonly string[] => {
  const brokers = raw.split(',').map((b) => b.trim());
  for (const broker of brokers) {
    if (!/^[A-Za-z0-9.-]+:\d{1,5}$/.test(broker)) {
      throw new Error(`"${broker}" is not host:port (expected a comma-separated list such as localhost:9092)`);
    }
  }
  return brokers;
};

const parseUrl =
  (protocols: readonly string[]) =>
  (raw: string): string => {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw new Error(`"${raw}" is not a URL`);
    }
    if (!protocols.includes(url.protocol)) throw new Error(`"${raw}" must use ${protocols.join(' or ')}`);
    return raw.replace(/\/+$/, '');
  };

const parseInteger =
  (min: number, max: number) =>
  (raw: string): number => {
    if (!/^-?\d+$/.test(raw.trim())) throw new Error(`"${raw}" is not a whole number`);
    const value = Number(raw);
    if (value < min || value > max) throw new Error(`${value} is outside ${min}..${max}`);
    return value;
  };

const parseOneOf =
  <T extends string>(values: readonly T[]) =>
  (raw: string): T => {
    const found = values.find((v) => v === raw);
    if (found === undefined) throw new Error(`"${raw}" is not one of ${values.join(', ')}`);
    return found;
  };

/** A 32-byte secret given as 64 hex digits or as base64. */
const parseKey32 = (raw: string): Buffer => {
  const text = raw.trim();
  const bytes = /^[0-9a-fA-F]{64}$/.test(text) ? Buffer.from(text, 'hex') : Buffer.from(text, 'base64');
  if (bytes.length !== 32) throw new Error('must be 32 bytes, as 64 hex digits or base64');
  return bytes;
};

const parseString = (raw: string): string => {
  if (raw.trim() === '') throw new Error('must not be empty');
  return raw.trim();
};

export const configSpec = {
  kafkaBrokers: key({
    env: 'HUB_KAFKA_BROKERS',
    fallback: '127.0.0.1:9092',
    parse: parseBrokers,
    doc: 'Kafka bootstrap brokers, comma-separated host:port',
  }),
  kafkaClientId: key({ env: 'HUB_KAFKA_CLIENT_ID', fallback: 'medsec-hub', parse: parseString, doc: 'Kafka client id prefix' }),
  kafkaSessionTimeoutMs: key({
    env: 'HUB_KAFKA_SESSION_TIMEOUT_MS',
    fallback: '10000',
    parse: parseInteger(6000, 300_000),
    doc: 'how long a consumer that stopped answering keeps its partitions before the group moves them',
  }),
  kafkaSaslMechanism: key({
    env: 'HUB_KAFKA_SASL_MECHANISM',
    fallback: '',
    parse: (raw: string) => parseOneOf(['', 'scram-sha-512', 'scram-sha-256', 'plain'] as const)(raw.trim().toLowerCase()),
    doc:
      'SASL mechanism towards Kafka: scram-sha-512, scram-sha-256 or plain (empty: no SASL); ' +
      'needs HUB_KAFKA_SASL_USERNAME and _PASSWORD',
  }),
  kafkaSaslUsername: key({
    env: 'HUB_KAFKA_SASL_USERNAME',
    fallback: '',
    parse: (raw: string) => raw.trim(),
    doc: 'the Kafka principal this role connects as (with HUB_KAFKA_SASL_MECHANISM)',
  }),
  kafkaSaslPassword: key({
    env: 'HUB_KAFKA_SASL_PASSWORD',
    fallback: '',
    secret: true,
    parse: (raw: string) => raw,
    doc: 'password of HUB_KAFKA_SASL_USERNAME (with HUB_KAFKA_SASL_MECHANISM)',
  }),
  kafkaTls: key({
    env: 'HUB_KAFKA_TLS',
    fallback: 'false',
    parse: (raw: string) => parseOneOf(['true', 'false'] as const)(raw.trim()) === 'true',
    doc: 'connect to Kafka over TLS (the system CAs, plus NODE_EXTRA_CA_CERTS); SASL_SSL with a SASL mechanism',
  }),
  topicPrefix: key({
    env: 'HUB_TOPIC_PREFIX',
    fallback: '',
    parse: (raw: string) => raw.trim(),
    doc: 'prefix for every topic name (lets several hubs or test runs share one cluster)',
  }),
  topicPartitions: key({
    env: 'HUB_TOPIC_PARTITIONS',
    fallback: '6',
    parse: parseInteger(1, 1024),
    doc: 'partitions per topic at creation',
  }),
  topicReplication: key({
    env: 'HUB_TOPIC_REPLICATION',
    fallback: '1',
    parse: parseInteger(1, 16),
    doc: 'replication factor at topic creation',
  }),
  schemaRegistryUrl: key({
    env: 'HUB_SCHEMA_REGISTRY_URL',
    fallback: 'http://127.0.0.1:8081/apis/ccompat/v7',
    parse: parseUrl(['http:', 'https:']),
    doc: 'Confluent-API schema registry base URL (Apicurio serves it under /apis/ccompat/v7)',
  }),
  redisUrl: key({
    env: 'HUB_REDIS_URL',
    fallback: 'redis://127.0.0.1:6379',
    parse: parseUrl(['redis:', 'rediss:']),
    doc: 'Redis for state and BullMQ',
  }),
  postgresUrl: key({
    env: 'HUB_POSTGRES_URL',
    fallback: 'postgres://postgres@127.0.0.1:5432/postgres',
    parse: parseUrl(['postgres:', 'postgresql:']),
    doc: "PostgreSQL (the registry's storage, the warning desk)",
  }),
  personKeySecret: key({
    env: 'HUB_PERSON_KEY_SECRET',
    secret: true,
    parse: parseKey32,
    doc: 'HMAC-SHA256 key deriving the person key from a national ID number (32 bytes, hex or base64)',
  }),
  idEncryptionKey: key({
    env: 'HUB_ID_ENCRYPTION_KEY',
    secret: true,
    parse: parseKey32,
    doc: 'AES-256-GCM key encrypting clear national ID numbers (32 bytes, hex or base64)',
  }),
  logLevel: key({
    env: 'HUB_LOG_LEVEL',
    fallback: 'info',
    parse: parseOneOf(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const),
    doc: 'pino log level',
  }),
  opsPort: key({
    env: 'HUB_OPS_PORT',
    fallback: '0',
    parse: parseInteger(0, 65535),
    doc: "port of the health and metrics endpoint of a long-running role (0: the role's own default)",
  }),
  opsHost: key({
    env: 'HUB_OPS_HOST',
    fallback: '127.0.0.1',
    parse: parseString,
    doc:
      'address the health and metrics endpoint of `hub rules` and `hub warnings` listens on ' +
      '(0.0.0.0 in a container, for probes and scrapes)',
  }),
  shutdownGraceMs: key({
    env: 'HUB_SHUTDOWN_GRACE_MS',
    fallback: '15000',
    parse: parseInteger(100, 600_000),
    doc: 'how long SIGTERM waits for consumers to drain before the process exits',
  }),
  rulesWorkers: key({
    env: 'HUB_RULES_WORKERS',
    fallback: '0',
    parse: parseInteger(0, 64),
    doc: 'worker threads in which `hub rules` folds facts and computes benefits, each batch on the least busy one (0: on the main thread)',
  }),
  rulesWorkerHeapMb: key({
    env: 'HUB_RULES_WORKER_HEAP_MB',
    fallback: '192',
    parse: parseInteger(64, 65_536),
    doc: "V8 old-generation limit of each rules worker thread, in MiB (bounds the service's memory; a batch never needs near this)",
  }),
  agencyKeysFile: key({
    env: 'HUB_AGENCY_KEYS_FILE',
    fallback: '.hub/agency-keys.json',
    parse: parseString,
    doc: 'agency API keys, as SHA-256 hashes only (`hub keys issue|list|revoke` manage it)',
  }),
  connectorPort: key({
    env: 'HUB_CONNECTOR_PORT',
    fallback: '0',
    parse: parseInteger(0, 65535),
    doc:
      "port of a connector's push API (0: the agency's own default, " +
      'civil-affairs 8101, rural-revitalization 8102, hospitals 8103, tax 8104)',
  }),
  connectorHost: key({
    env: 'HUB_CONNECTOR_HOST',
    fallback: '127.0.0.1',
    parse: parseString,
    doc: "address a connector's push API listens on",
  }),
  connectorBodyLimitBytes: key({
    env: 'HUB_CONNECTOR_BODY_LIMIT_BYTES',
    fallback: String(10 * 1024 * 1024),
    parse: parseInteger(1024, 1024 * 1024 * 1024),
    doc: 'largest JSON body a connector accepts on POST /v1/records (larger: 413)',
  }),
  connectorMaxRecords: key({
    env: 'HUB_CONNECTOR_MAX_RECORDS',
    fallback: '10000',
    parse: parseInteger(1, 1_000_000),
    doc: 'most records in one POST /v1/records (more: 413; send several requests)',
  }),
  connectorFileLimitBytes: key({
    env: 'HUB_CONNECTOR_FILE_LIMIT_BYTES',
    fallback: String(256 * 1024 * 1024),
    parse: parseInteger(1024, 16 * 1024 * 1024 * 1024),
    doc: 'largest batch file a connector accepts on POST /v1/files (streamed, not held in memory)',
  }),
  tlsCertFile: key({
    env: 'HUB_TLS_CERT_FILE',
    fallback: '',
    parse: (raw: string) => raw.trim(),
    doc: 'PEM certificate chain: with HUB_TLS_KEY_FILE, a connector serves HTTPS itself (empty: plain HTTP behind a TLS proxy)',
  }),
  tlsKeyFile: key({
    env: 'HUB_TLS_KEY_FILE',
    fallback: '',
    parse: (raw: string) => raw.trim(),
    doc: 'PEM private key of HUB_TLS_CERT_FILE',
  }),
  deskPort: key({
    env: 'HUB_DESK_PORT',
    fallback: '8201',
    parse: parseInteger(0, 65535),
    doc: 'port of the warning desk (page and JSON API); 0: any free port',
  }),
  deskHost: key({ env: 'HUB_DESK_HOST', fallback: '127.0.0.1', parse: parseString, doc: 'address the warning desk listens on' }),
  deskDatabase: key({
    env: 'HUB_DESK_DATABASE',
    fallback: 'hub_desk',
    parse: parseString,
    doc: "the warning desk's database on the HUB_POSTGRES_URL server (created at start-up when missing)",
  }),
  deskSessionMinutes: key({
    env: 'HUB_DESK_SESSION_MINUTES',
    fallback: '30',
    parse: parseInteger(1, 24 * 60),
    doc: 'how long a desk login lasts',
  }),
  deskSecureCookie: key({
    env: 'HUB_DESK_SECURE_COOKIE',
    fallback: 'true',
    parse: parseOneOf(['true', 'false'] as const),
    doc: "mark the desk's session cookie Secure (false only for plain HTTP off localhost, which a bureau should not run)",
  }),
  warningsWorkers: key({
    env: 'HUB_WARNINGS_WORKERS',
    fallback: '2',
    parse: parseInteger(0, 64),
    doc:
      'worker threads that judge the pages of a warning run and encode its records, while the main thread publishes ' +
      '(0: on the main thread)',
  }),
  warningsGraceDays: key({
    env: 'HUB_WARNINGS_GRACE_DAYS',
    fallback: '10',
    parse: parseInteger(0, 27),
    doc:
      'days after a warning period closes before its run, so late settlements of the period count ' +
      '(the run fires at 02:00 Asia/Shanghai on that day)',
  }),
  warningsRegions: key({
    env: 'HUB_WARNINGS_REGIONS',
    fallback: '*',
    parse: parseString,
    doc: '`hub warnings`: the policies (regions) to schedule runs for, comma-separated ids, or * for every policy file',
  }),
  warningsOpsPort: key({
    env: 'HUB_WARNINGS_OPS_PORT',
    fallback: '9402',
    parse: parseInteger(0, 65535),
    doc: 'port of the health and metrics endpoint of `hub warnings`',
  }),
  civilAffairsWebhookUrl: key({
    env: 'HUB_CIVIL_AFFAIRS_WEBHOOK_URL',
    fallback: '',
    parse: (raw: string) => (raw.trim() === '' ? '' : parseUrl(['http:', 'https:'])(raw.trim())),
    doc: 'where warnings routed to civil affairs (民政) are POSTed, signed (empty: that agency collects export files instead)',
  }),
  civilAffairsWebhookSecret: key({
    env: 'HUB_CIVIL_AFFAIRS_WEBHOOK_SECRET',
    fallback: '',
    parse: (raw: string) => raw.trim(),
    doc: 'HMAC-SHA256 key signing the civil-affairs webhook (shared with the agency; required with its URL, at least 32 characters)',
  }),
  ruralRevitalizationWebhookUrl: key({
    env: 'HUB_RURAL_REVITALIZATION_WEBHOOK_URL',
    fallback: '',
    parse: (raw: string) => (raw.trim() === '' ? '' : parseUrl(['http:', 'https:'])(raw.trim())),
    doc: 'where warnings routed to rural revitalization (乡村振兴) are POSTed, signed (empty: export files instead)',
  }),
  ruralRevitalizationWebhookSecret: key({
    env: 'HUB_RURAL_REVITALIZATION_WEBHOOK_SECRET',
    fallback: '',
    parse: (raw: string) => raw.trim(),
    doc: 'HMAC-SHA256 key signing the rural-revitalization webhook (required with its URL, at least 32 characters)',
  }),
  deliveryAttempts: key({
    env: 'HUB_DELIVERY_ATTEMPTS',
    fallback: '10',
    parse: parseInteger(1, 100),
    doc: 'webhook attempts per warning and agency before the delivery is dead (listed by `hub warnings deliveries --dead`)',
  }),
  deliveryBackoffMs: key({
    env: 'HUB_DELIVERY_BACKOFF_MS',
    fallback: '60000',
    parse: parseInteger(10, 86_400_000),
    doc:
      'first retry delay of a failed webhook; each further retry waits twice as long ' +
      '(60 s, 2 min, 4 min, … about 8.5 h before the 10th)',
  }),
  deliveryTimeoutMs: key({
    env: 'HUB_DELIVERY_TIMEOUT_MS',
    fallback: '10000',
    parse: parseInteger(100, 600_000),
    doc: 'how long a webhook POST may take before it counts as failed',
  }),
  deliveryBatchSize: key({
    env: 'HUB_DELIVERY_BATCH_SIZE',
    fallback: '100',
    parse: parseInteger(1, 1000),
    doc: 'most warnings one webhook request carries (`warnings` in its body; 1: one warning per request)',
  }),
  deliveryConcurrency: key({
    env: 'HUB_DELIVERY_CONCURRENCY',
    fallback: '16',
    parse: parseInteger(1, 1000),
    doc: 'webhook POSTs in flight at once per `hub warnings` instance',
  }),
  stateDir: key({
    env: 'HUB_STATE_DIR',
    fallback: '.hub',
    parse: parseString,
    doc: 'where the local stack keeps its data, logs and generated secrets',
  }),
} as const;

type Spec = typeof configSpec;
export type ConfigKey = keyof Spec;
export type HubConfig = { readonly [K in ConfigKey]: ReturnType<Spec[K]['parse']> };

export type Environment = Readonly<Record<string, string | undefined>>;

/** Reads KEY=VALUE lines (comments with #). Missing file: empty. */
export function readEnvFile(path: string): Record<string, string> {
  if (!existsSync(path)) return {};
  const values: Record<string, string> = {};
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const match = /^\s*([A-Z0-9_]+)\s*=\s*(.*?)\s*$/.exec(line);
    if (match?.[1] !== undefined && match[2] !== undefined) values[match[1]] = match[2];
  }
  return values;
}

/** The environment a role sees: the local stack's generated file, overridden by the real environment. */
export function effectiveEnvironment(env: Environment = process.env): Environment {
  const stateDir = env.HUB_STATE_DIR ?? configSpec.stateDir.fallback;
  return { ...readEnvFile(`${stateDir}/local.env`), ...env };
}

/**
 * Validates the keys a role needs (all by default) and returns them frozen. Any problem stops with
 * one line naming the key: `HUB_KAFKA_BROKERS: "x" is not host:port …`.
 */
export function loadConfig<K extends ConfigKey = ConfigKey>(
  env: Environment = effectiveEnvironment(),
  keys: readonly K[] = Object.keys(configSpec) as K[],
): Readonly<Pick<HubConfig, K>> {
  const result: Partial<Record<ConfigKey, unknown>> = {};
  for (const name of keys) {
    const spec: KeySpec<unknown> = configSpec[name];
    const raw = env[spec.env] ?? spec.fallback;
    if (raw === undefined) {
      throw new HubError('CONFIG_INVALID', `${spec.env} is required: ${spec.doc}`, { catastrophic: true, detail: { key: spec.env } });
    }
    try {
      result[name] = spec.parse(raw);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new HubError('CONFIG_INVALID', `${spec.env}: ${reason}`, { catastrophic: true, detail: { key: spec.env } });
    }
  }
  return Object.freeze(result) as Readonly<Pick<HubConfig, K>>;
}

/** The table `hub config` prints: key, default, meaning. */
export function describeConfig(): string {
  return Object.values(configSpec)
    .map((spec: KeySpec<unknown>) => {
      const fallback =
        spec.secret === true
          ? spec.fallback === undefined
            ? '(secret, required)'
            : '(secret)'
          : spec.fallback === ''
            ? '(empty)'
            : (spec.fallback ?? '(required)');
      return `${spec.env.padEnd(31)} ${fallback.padEnd(42)} ${spec.doc}`;
    })
    .join('\n');
}
