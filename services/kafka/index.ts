export {
  connectKafka,
  type HubKafka, type HubProducer, type HubConsumer, type KafkaSettings, type OutboundRecord, type InboundRecord,
  type ConsumerOptions, type BatchContext, type TopicSpec, type PartitionLag, type OutboundBatch, type TransactionalConsumerOptions,
  type TransactionalBatch, type ConsumerStatus, type TransactionalPublisher,
} from './client';
export { boundRaw, createDeadLetterWriter, deadLetterId, maxDeadLetterRawBytes, type DeadLetterInput, type DeadLetterWriter } from './dead-letter';
export { coPartitionedAssigner } from './co-partitioned-assigner';
export { kafkaClientSecurity, kafkaSecurityFromConfig, kafkaSecurityKeys, type KafkaSecurity } from './security';
export { aclBindings, aclBindingKey, clusterResourceName, connectorPrincipals, hubTopicNames, kafkaPrincipals, operatorPrincipal, readerGroupPrefix, servicePrincipals, type AclBinding, type AclOperation, type AclRule, type KafkaPrincipal, type PrincipalName } from './acls';
