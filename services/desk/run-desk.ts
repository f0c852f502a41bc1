import { kafkaSecurityKeys } from '../kafka';
import { connectKafka, kafkaSettingsFromConfig } from '../kafka/runtime';
import { HubError, createLifecycle, loadConfig, type Environment, type Logger, type RoleMain } from '../platform';
import { createLogger, createMetrics } from '../platform/runtime';
import { createRegistryClient } from '../registry/runtime';
import { createPool, databaseUrl, ensureDatabase, type DeskPool } from './db';
import { bullMqRetrier, type DeliveryRetrier } from './delivery-retrier';
import { migrate } from './migrations';
import { createReadModelConsumer, type ReadModelConsumer } from './read-model-consumer';
import { buildDeskServer } from './server';
import { runUsers } from './users-command';

const configKeys = [
  'kafkaBrokers',
  'kafkaClientId',
  'kafkaSessionTimeoutMs',
  'topicPrefix',
  'topicPartitions',
  'topicReplication',
  'schemaRegistryUrl',
  'postgresUrl',
  'redisUrl',
  'idEncryptionKey',
  'logLevel',
  'shutdownGraceMs',
  'deskPort',
  'deskHost',
  'deskDatabase',
  'deskSessionMinutes',
  'deskSecureCookie',
  ...kafkaSecurityKeys,
] as const;

/** A running desk: its HTTP address, its database and its consumer. */
export interface RunningDesk {
  readonly url: string;
  readonly pool: DeskPool;
  readonly consumer: ReadModelConsumer;
  /** Records applied to the read model since start (records skipped as already applied do not count). */
  applied(): number;
  stop(): Promise<void>;
}

/** Opens the desk's database, applying the migrations (the users command and the desk share this). */
export async function openDeskDatabase(env: Environment): Promise<DeskPool> {
  const config = loadConfig(env, ['postgresUrl', 'deskDatabase']);
  await ensureDatabase(config.postgresUrl, config.deskDatabase);
  const pool = createPool(databaseUrl(config.postgresUrl, config.deskDatabase));
  try {
    await migrate(pool);
  } catch (error) {
    await pool.end();
    throw error;
  }
  return pool;
}

/** Starts the desk in this process: migrations, the read-model consumer and the HTTP server. */
export async function startDesk(env: Environment, logger: Logger, options: { retrier?: DeliveryRetrier } = {}): Promise<RunningDesk> {
  const config = loadConfig(env, configKeys);
  const pool = await openDeskDatabase(env);
  const kafka = connectKafka(kafkaSettingsFromConfig(config, 'desk'), logger);
  const metrics = createMetrics('desk');
  let consumer: ReadModelConsumer | undefined;
  let applied = 0;
  // The retry button's way to the warnings service's delivery queue (the same Redis and prefix).
  const retrier = options.retrier ?? bullMqRetrier(config.redisUrl, config.topicPrefix);
  try {
    consumer = await createReadModelConsumer({
      kafka,
      registry: createRegistryClient(config.schemaRegistryUrl),
      pool,
      topicPrefix: config.topicPrefix,
      logger,
      onApplied: (topic, count) => {
        applied += count;
        metrics.records.inc({ topic, outcome: 'ok' }, count);
      },
      onUndecodable: (topic) => {
        metrics.records.inc({ topic, outcome: 'undecodable' });
      },
    });
    await consumer.start();
    const app = await buildDeskServer({
      pool,
      logger,
      idEncryptionKey: config.idEncryptionKey,
      sessionMinutes: config.deskSessionMinutes,
      secureCookie: config.deskSecureCookie === 'true',
      retrier,
    });
    app.get('/healthz', () => ({ ok: true }));
    app.get('/readyz', async (_request, reply) => {
      const db = await pool.query('select 1').then(
        () => 'ok',
        (e: unknown) => String(e),
      );
      return reply.code(db === 'ok' ? 200 : 503).send({ ok: db === 'ok', checks: { postgres: db } });
    });
    app.get('/metrics', async (_request, reply) => reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()));
    const address = await app.listen({ port: config.deskPort, host: config.deskHost });
    const running = consumer;
    return {
      url: address,
      pool,
      consumer: running,
      applied: () => applied,
      async stop() {
        await app.close();
        await running.stop();
        await retrier.close();
        await kafka.close();
        await pool.end();
      },
    };
  } catch (error) {
    await consumer?.stop().catch(() => undefined);
    await retrier.close().catch(() => undefined);
    await kafka.close().catch(() => undefined);
    await pool.end();
    throw error;
  }
}

/**
 * `hub desk`: the warning desk (预警台), page and JSON API on HUB_DESK_PORT, with its read model kept
 * current from the topics. `hub desk users add|list|disable` manages its accounts.
 */
export const runDesk: RoleMain = async (args, io) => {
  if (args[0] === 'users') return runUsers(args.slice(1), io);
  if (args.length > 0) throw new HubError('USAGE', `unexpected argument '${args[0] ?? ''}'\nusage: hub desk [users add|list|disable]`);
  const config = loadConfig(io.env, configKeys);
  const logger = createLogger({ level: config.logLevel, role: 'desk' });
  const lifecycle = createLifecycle(logger, config.shutdownGraceMs);
  const desk = await startDesk(io.env, logger);
  lifecycle.onShutdown('desk', () => desk.stop());
  io.stdout.write(`预警台 warning desk at ${desk.url}\n`);
  logger.info({ url: desk.url, group: desk.consumer.groupId }, 'desk running');
  await lifecycle.stopped;
  await lifecycle.shutdown('stopped');
  return 0;
};
