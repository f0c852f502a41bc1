export { runStack } from './run-stack';
export { ensureStack, stackStatus, stopStack, formatStatus, type StackOptions, type StackReport, type StopResult } from './stack';
export { type ComponentName, type ComponentStatus } from './component';
export { registryDatabase, registryEnvironment } from './registry';
export { kafkaVersion, apicurioVersion } from './maven';
export { kafkaToolCommand } from './kafka';
export { stackPaths } from './paths';
export {
  ensureSecureKafka,
  stopSecureKafka,
  secureKafkaStatus,
  secureKafkaBrokers,
  type SecureKafka,
  type SecureStackOptions,
} from './secure-kafka';
