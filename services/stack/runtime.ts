// The heavy face of the local stack: `hub stack`, starting, probing and stopping Kafka, the
// registry, Redis and PostgreSQL, and the secure (SASL/ACL) broker.
export { runStack } from './run-stack';
export { ensureStack, stackStatus, stopStack, formatStatus, type StackOptions, type StackReport, type StopResult } from './stack';
export { registryDatabase, registryEnvironment } from './registry';
export { kafkaVersion, apicurioVersion } from './maven';
export { kafkaToolCommand } from './kafka';
export { connectPg } from './pg-client';
export {
  ensureSecureKafka,
  stopSecureKafka,
  secureKafkaStatus,
  secureKafkaBrokers,
  type SecureKafka,
  type SecureStackOptions,
} from './secure-kafka';
