export {
  connectKafka,
  type HubKafka, type HubProducer, type HubConsumer, type KafkaSettings, type OutboundRecord, type InboundRecord,
  type ConsumerOptions, type BatchContext, type TopicSpec, type PartitionLag,
} from './client';
export { createDeadLetterWriter, deadLetterId, type DeadLetterInput, type DeadLetterWriter } from './dead-letter';
