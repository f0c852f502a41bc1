import { readFileSync } from 'node:fs';
import { topicSpec, topics } from '../../schemas';
import {
  HubError,
  createLifecycle,
  describeError,
  loadConfig,
  type Environment,
  type HealthReport,
  type Logger,
  type RoleMain,
} from '../../services/platform';
import { createLogger, createMetrics } from '../../services/platform/runtime';
import { type AgencyDefinition, type AgencyId, type IntakeRuntime } from '../intake';
import { heapCapped, importFile, openIntake } from '../intake/runtime';
import { createConnectorServer, type ConnectorServer } from './server';
import { registerReceiptsRoute } from '../agency-delivery/runtime';
import { fileKeyStore } from './keys';

/** Each agency's connector has a port of its own, so all four run side by side on one machine. */
export const defaultConnectorPorts: Readonly<Record<AgencyId, number>> = {
  'civil-affairs': 8101,
  'rural-revitalization': 8102,
  hospitals: 8103,
  tax: 8104,
};

export interface RunningConnector {
  /** Base URL, e.g. http://127.0.0.1:8101. */
  readonly url: string;
  readonly port: number;
  readonly server: ConnectorServer;
  readonly runtime: IntakeRuntime;
  /** Stops accepting, lets requests in flight finish, then closes the producer and Redis. */
  close(): Promise<void>;
}

export interface StartConnectorOptions {
  readonly agency: AgencyDefinition;
  readonly env: Environment;
  readonly logger: Logger;
  /** Overrides HUB_CONNECTOR_PORT (tests pass 0 for an ephemeral port). */
  readonly port?: number;
}

const readinessTimeoutMs = 2_000;

async function check(name: string, probe: () => Promise<unknown>, checks: Record<string, string>): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      probe(),
      new Promise((_resolve, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${readinessTimeoutMs} ms`)), readinessTimeoutMs);
      }),
    ]);
    checks[name] = 'ok';
    return true;
  } catch (error) {
    checks[name] = describeError(error);
    return false;
  } finally {
    clearTimeout(timer);
  }
}

function readTls(certFile: string, keyFile: string): { cert: Buffer; key: Buffer } | undefined {
  if (certFile === '' && keyFile === '') return undefined;
  if (certFile === '' || keyFile === '') {
    throw new HubError('CONFIG_INVALID', 'HUB_TLS_CERT_FILE and HUB_TLS_KEY_FILE go together: give both or neither', {
      catastrophic: true,
    });
  }
  try {
    return { cert: readFileSync(certFile), key: readFileSync(keyFile) };
  } catch (error) {
    throw new HubError('CONFIG_INVALID', `cannot read the TLS certificate or key: ${describeError(error)}`, {
      catastrophic: true,
      cause: error,
    });
  }
}

/** Starts one agency's connector against the configured Kafka, registry and Redis. */
export async function startConnector(options: StartConnectorOptions): Promise<RunningConnector> {
  const { agency, env, logger } = options;
  const config = loadConfig(env, [
    'connectorPort',
    'connectorHost',
    'connectorBodyLimitBytes',
    'connectorMaxRecords',
    'connectorFileLimitBytes',
    'tlsCertFile',
    'tlsKeyFile',
    'agencyKeysFile',
  ]);
  const tls = readTls(config.tlsCertFile, config.tlsKeyFile);
  const keys = fileKeyStore(config.agencyKeysFile);
  if ((await keys.list()).every((key) => key.agency !== agency.id || key.revokedAt !== null)) {
    logger.warn(
      { keysFile: config.agencyKeysFile },
      `no live API key for ${agency.id}: every request will get 401 until one is issued with 'hub keys issue ${agency.id}'`,
    );
  }
  const runtime = await openIntake(agency, env, logger);
  const topicName = runtime.kafka.topicName(topics[agency.topic].name);
  const metrics = createMetrics(agency.id);
  const readiness = async (): Promise<HealthReport> => {
    const checks: Record<string, string> = {};
    const kafkaOk = await check(
      'kafka',
      () => runtime.kafka.ensureTopics([topicSpec(agency.topic, runtime.kafka.settings.topicPrefix)]),
      checks,
    );
    const redisOk = await check('redis', () => runtime.redis.ping(), checks);
    return { ok: kafkaOk && redisOk, checks };
  };
  const server = createConnectorServer({
    agency,
    intake: runtime.intake,
    keys,
    logger,
    metrics,
    topicName,
    readiness,
    importFile,
    limits: {
      bodyLimitBytes: config.connectorBodyLimitBytes,
      maxRecords: config.connectorMaxRecords,
      fileLimitBytes: config.connectorFileLimitBytes,
    },
    ...(tls === undefined ? {} : { tls }),
  });
  // Civil affairs and rural revitalization also answer warnings here (POST /v1/receipts).
  await registerReceiptsRoute(server, {
    connector: agency.id,
    env,
    kafka: runtime.kafka,
    producer: runtime.producer,
    redis: runtime.redis,
    logger,
    keys,
  });
  const port = options.port ?? (config.connectorPort === 0 ? defaultConnectorPorts[agency.id] : config.connectorPort);
  try {
    await server.listen({ port, host: config.connectorHost });
  } catch (error) {
    await runtime.close();
    throw new HubError(
      'CONFIG_INVALID',
      `${agency.id} connector cannot listen on ${config.connectorHost}:${port}: ${describeError(error)}`,
      { catastrophic: true, cause: error },
    );
  }
  const address = server.server.address();
  const boundPort = typeof address === 'object' && address !== null ? address.port : port;
  const host = config.connectorHost.includes(':') ? `[${config.connectorHost}]` : config.connectorHost;
  const url = `${tls === undefined ? 'http' : 'https'}://${host}:${boundPort}`;
  logger.info({ url, topic: topicName }, `${agency.id} connector listening`);
  let closing: Promise<void> | undefined;
  return {
    url,
    port: boundPort,
    server,
    runtime,
    close() {
      closing ??= (async () => {
        try {
          await server.close();
        } finally {
          await runtime.close();
        }
      })();
      return closing;
    },
  };
}

/** `hub <agency>`: runs that agency's connector until SIGTERM or SIGINT. */
export function connectorRole(agency: AgencyDefinition): RoleMain {
  return heapCapped(async (args, io) => {
    if (args.length > 0)
      throw new HubError('USAGE', `usage: hub ${agency.id} (configuration comes from the environment: see 'hub config')`);
    const config = loadConfig(io.env, ['logLevel', 'shutdownGraceMs']);
    const logger = createLogger({ level: config.logLevel, role: agency.id });
    const lifecycle = createLifecycle(logger, config.shutdownGraceMs);
    const connector = await startConnector({ agency, env: io.env, logger });
    lifecycle.onShutdown('intake', () => connector.runtime.close());
    lifecycle.onShutdown('http', () => connector.server.close());
    io.stdout.write(
      `${agency.label} connector listening on ${connector.url} (POST /v1/records, POST /v1/files, GET /readyz, GET /metrics)\n`,
    );
    const reason = await lifecycle.stopped;
    await lifecycle.shutdown(reason);
    return 0;
  });
}
