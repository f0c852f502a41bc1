export { connectKafka, kafkaSettingsFromConfig, type HubKafka, type KafkaSettings } from './client';
export type { OutboundRecord, InboundRecord, OutboundBatch } from './records';
export { partitionOfKey, type HubProducer, type TransactionalPublisher } from './producer';
export type { HubConsumer, ConsumerOptions, BatchContext, ConsumerStatus } from './consumer';
export type { TransactionalConsumerOptions, TransactionalBatch } from './transactional-consumer';
export type { KafkaAdmin, TopicSpec, PartitionLag } from './admin';
export type { TopicReader } from './reader';
export { describeKafkaCluster, type ClusterDescription } from './probe';
export {
  boundRaw,
  createDeadLetterWriter,
  deadLetterId,
  maxDeadLetterRawBytes,
  type DeadLetterInput,
  type DeadLetterWriter,
} from './dead-letter';
export { coPartitionedAssigner } from './co-partitioned-assigner';
export { kafkaClientSecurity, kafkaSecurityFromConfig, kafkaSecurityKeys, type KafkaSecurity } from './security';
export {
  aclBindings,
  aclBindingKey,
  clusterResourceName,
  connectorPrincipals,
  hubTopicNames,
  kafkaPrincipals,
  operatorPrincipal,
  readerGroupPrefix,
  servicePrincipals,
  type AclBinding,
  type AclOperation,
  type AclRule,
  type KafkaPrincipal,
  type PrincipalName,
} from './acls';
export { describeAllAcls, provisionSecureCluster } from './acl-admin';
