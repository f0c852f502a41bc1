import { randomBytes } from 'node:crypto';
import { KafkaContainer, type StartedKafkaContainer } from '@testcontainers/kafka';
import { PostgreSqlContainer, type StartedPostgreSqlContainer } from '@testcontainers/postgresql';
import { RedisContainer, type StartedRedisContainer } from '@testcontainers/redis';
import { GenericContainer, Network, Wait, getContainerRuntimeClient, type StartedNetwork, type StartedTestContainer } from 'testcontainers';

/**
 * The integration tests' services in Docker containers (HUB_TESTCONTAINERS=1), instead of the local
 * stack: Kafka in KRaft mode (Confluent's image of the Kafka release the local stack runs), Confluent
 * Schema Registry, Redis and PostgreSQL, on a network of their own. What the tests need to reach
 * them is returned as HUB_* variables, which the global setup puts in the environment the test
 * workers inherit (process.env wins over .hub/local.env, see effectiveEnvironment).
 *
 * Kafka's settings follow deploy/local/kafka-server.properties where the tests depend on them: one
 * broker, so the offsets and transaction-state topics have one replica (transactions fail otherwise),
 * and no initial rebalance delay.
 */

/** Images, pinned: cp-kafka 7.9 is Apache Kafka 3.9, the local stack's release. */
export const containerImages = {
  kafka: 'confluentinc/cp-kafka:7.9.2',
  schemaRegistry: 'confluentinc/cp-schema-registry:7.9.2',
  redis: 'redis:7.4',
  postgres: 'postgres:16',
} as const;

export interface ContainerStack {
  /** HUB_KAFKA_BROKERS, HUB_SCHEMA_REGISTRY_URL, HUB_REDIS_URL, HUB_POSTGRES_URL, and generated secrets when absent. */
  readonly env: Readonly<Record<string, string>>;
  stop(): Promise<void>;
}

/**
 * Fails with one clear sentence when no Docker engine answers, before any image is pulled: the path
 * is opt-in, so its absence must not look like a test failure of the hub.
 */
async function requireDocker(): Promise<void> {
  try {
    await getContainerRuntimeClient();
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(
      `HUB_TESTCONTAINERS=1 needs a Docker engine (or DOCKER_HOST pointing at one), and none answered: ${reason}. ` +
        'Unset HUB_TESTCONTAINERS to run the integration tests against the local stack (npx hub stack up).',
    );
  }
}

/** Starts the four services; `stop` removes them and their network. */
export async function startContainerStack(
  progress: (line: string) => void,
  given: Readonly<Record<string, string | undefined>> = process.env,
): Promise<ContainerStack> {
  await requireDocker();
  const started: (StartedTestContainer | StartedKafkaContainer | StartedRedisContainer | StartedPostgreSqlContainer)[] = [];
  let network: StartedNetwork | undefined;
  const stop = async (): Promise<void> => {
    for (const container of started.reverse()) await container.stop().catch(() => undefined);
    await network?.stop().catch(() => undefined);
  };
  try {
    network = await new Network().start();
    progress(`testcontainers: starting ${containerImages.kafka}, ${containerImages.redis}, ${containerImages.postgres}`);
    const [kafka, redis, postgres] = await Promise.all([
      new KafkaContainer(containerImages.kafka)
        .withKraft()
        .withNetwork(network)
        .withNetworkAliases('kafka')
        .withEnvironment({
          KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: '1',
          KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: '1',
          KAFKA_DEFAULT_REPLICATION_FACTOR: '1',
          KAFKA_MIN_INSYNC_REPLICAS: '1',
          KAFKA_OFFSETS_TOPIC_NUM_PARTITIONS: '6',
          KAFKA_TRANSACTION_STATE_LOG_NUM_PARTITIONS: '6',
          KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '0',
          KAFKA_AUTO_CREATE_TOPICS_ENABLE: 'false',
        })
        .start(),
      new RedisContainer(containerImages.redis).start(),
      new PostgreSqlContainer(containerImages.postgres).withDatabase('postgres').withUsername('postgres').withPassword('postgres').start(),
    ]);
    started.push(kafka, redis, postgres);
    progress(`testcontainers: starting ${containerImages.schemaRegistry}`);
    const registry = await new GenericContainer(containerImages.schemaRegistry)
      .withNetwork(network)
      .withEnvironment({
        SCHEMA_REGISTRY_HOST_NAME: 'schema-registry',
        SCHEMA_REGISTRY_LISTENERS: 'http://0.0.0.0:8081',
        SCHEMA_REGISTRY_KAFKASTORE_BOOTSTRAP_SERVERS: 'PLAINTEXT://kafka:9092',
        SCHEMA_REGISTRY_KAFKASTORE_TOPIC_REPLICATION_FACTOR: '1',
      })
      .withExposedPorts(8081)
      .withWaitStrategy(Wait.forHttp('/subjects', 8081).forStatusCode(200))
      .withStartupTimeout(120_000)
      .start();
    started.push(registry);
    const secret = (key: string): string => given[key] ?? randomBytes(32).toString('hex');
    const env = {
      HUB_KAFKA_BROKERS: `${kafka.getHost()}:${kafka.getMappedPort(9093)}`,
      HUB_SCHEMA_REGISTRY_URL: `http://${registry.getHost()}:${registry.getMappedPort(8081)}`,
      HUB_REDIS_URL: redis.getConnectionUrl(),
      HUB_POSTGRES_URL: postgres.getConnectionUri(),
      HUB_PERSON_KEY_SECRET: secret('HUB_PERSON_KEY_SECRET'),
      HUB_ID_ENCRYPTION_KEY: secret('HUB_ID_ENCRYPTION_KEY'),
    };
    progress(`testcontainers: Kafka ${env.HUB_KAFKA_BROKERS}, registry ${env.HUB_SCHEMA_REGISTRY_URL}, Redis and PostgreSQL up`);
    return { env, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
