// The heavy face of kafka: the kafkajs client and what it connects (producers, consumers, admin,
// readers), the cluster probe and the secure cluster's ACL administration.
export { connectKafka, kafkaSettingsFromConfig, type HubKafka, type KafkaSettings } from './client';
export { partitionOfKey } from './producer';
export { describeKafkaCluster, type ClusterDescription } from './probe';
export { coPartitionedAssigner } from './co-partitioned-assigner';
export { describeAllAcls, provisionSecureCluster } from './acl-admin';
