import { Kafka, logLevel } from 'kafkajs';
import { kafkaClientSecurity, type KafkaSecurity } from './security';

/** What the cluster said about itself. */
export interface ClusterDescription {
  readonly brokers: number;
  readonly clusterId: string;
}

/**
 * Asks the brokers for the cluster's metadata (describeCluster), once and quickly, with kafkajs's
 * own logging off (`security` for a listener that asks for SASL): a health check reports what it
 * found, it does not retry. Rejects when no broker answers.
 */
export async function describeKafkaCluster(brokers: readonly string[], security?: KafkaSecurity): Promise<ClusterDescription> {
  const kafka = new Kafka({
    ...kafkaClientSecurity(security),
    clientId: 'hub-stack-probe',
    brokers: [...brokers],
    logLevel: logLevel.NOTHING,
    connectionTimeout: 1_500,
    requestTimeout: 3_000,
    retry: { retries: 0 },
  });
  const admin = kafka.admin();
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    return { brokers: cluster.brokers.length, clusterId: cluster.clusterId };
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}
