import {
  AvroDeserializer, AvroSerializer, SchemaRegistryClient, SerdeType, SubjectNameStrategyType, type Client,
} from '@confluentinc/schemaregistry';
import { avroOptions, topics, type TopicId, type TopicRecords } from '../../schemas';
import { HubError, describeError } from '../platform';

/**
 * Encodes and decodes one topic's records in the Confluent wire format (magic byte, 4-byte schema
 * id, Avro binary) through the registry. Encoding uses the subject's latest registered version, which
 * `hub schemas register` keeps equal to the committed .avsc; nothing is auto-registered from code.
 */
export interface TopicCodec<T> {
  readonly topic: string;
  encode(record: T): Promise<Buffer>;
  decode(payload: Buffer): Promise<T>;
}

export function createRegistryClient(url: string): Client {
  return new SchemaRegistryClient({ baseURLs: [url], cacheCapacity: 1000, cacheLatestTtlSecs: 300 });
}

/** Subject of a topic's values under TopicNameStrategy, the only strategy non-Confluent registries share. */
export function valueSubject(topicName: string): string {
  return `${topicName}-value`;
}

export function createTopicCodec<K extends TopicId>(client: Client, id: K, topicName: string = topics[id].name): TopicCodec<TopicRecords[K]> {
  const common = { subjectNameStrategyType: SubjectNameStrategyType.TOPIC, ...avroOptions() };
  const serializer = new AvroSerializer(client, SerdeType.VALUE, { ...common, useLatestVersion: true, autoRegisterSchemas: false });
  const deserializer = new AvroDeserializer(client, SerdeType.VALUE, { ...avroOptions(), subjectNameStrategyType: SubjectNameStrategyType.TOPIC });
  return {
    topic: topicName,
    async encode(record) {
      try {
        return await serializer.serialize(topicName, record);
      } catch (error) {
        throw registryError(error, topicName, 'encode');
      }
    },
    async decode(payload) {
      try {
        return (await deserializer.deserialize(topicName, payload)) as TopicRecords[K];
      } catch (error) {
        throw new HubError('DESERIALIZE_FAILED', `cannot decode a record of ${topicName}: ${describeError(error)}`, { cause: error });
      }
    },
  };
}

function registryError(error: unknown, topicName: string, action: string): HubError {
  const message = describeError(error);
  if (/40401|not found/i.test(message)) {
    return new HubError('SCHEMA_NOT_FOUND', `no schema registered for ${valueSubject(topicName)}: run 'hub schemas register'`, { cause: error });
  }
  if (/ECONNREFUSED|ENOTFOUND|timeout|socket hang up/i.test(message)) {
    return new HubError('REGISTRY_UNAVAILABLE', `schema registry unreachable while trying to ${action} ${topicName}: ${message}`, { cause: error });
  }
  return new HubError('PROCESSING_FAILED', `cannot ${action} a record of ${topicName}: ${message}`, { cause: error });
}
