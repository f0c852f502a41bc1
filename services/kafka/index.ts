// The light face of kafka: the wrapper's types, dead letters, security settings and the ACL plan.
// Everything that loads kafkajs (the client, producers, consumers, admin) is in ./runtime.
export type { HubKafka, KafkaSettings } from './client';
export type { OutboundRecord, InboundRecord, OutboundBatch } from './records';
export type { HubProducer, TransactionalPublisher } from './producer';
export type { HubConsumer, ConsumerOptions, BatchContext, ConsumerStatus } from './consumer';
export type { TransactionalConsumerOptions, TransactionalBatch } from './transactional-consumer';
export type { KafkaAdmin, TopicSpec, PartitionLag } from './admin';
export type { TopicReader } from './reader';
export type { ClusterDescription } from './probe';
export {
  boundRaw,
  createDeadLetterWriter,
  deadLetterId,
  maxDeadLetterRawBytes,
  type DeadLetterInput,
  type DeadLetterWriter,
} from './dead-letter';
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
