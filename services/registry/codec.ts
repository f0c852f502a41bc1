import type { Client, SchemaMetadata } from '@confluentinc/schemaregistry';
import avro from 'avsc';
import { avroOptions, topics, type TopicId, type TopicRecords } from '../../schemas';
import { HubError, describeError } from '../platform';
import { isLeanClient, type RegistryClient } from './lean-client';

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

export interface TopicCodecOptions {
  /**
   * 'fast' (default): the direct encoder below whenever the latest schema is a plain Avro schema;
   * 'serializer': always @confluentinc/schemaregistry's AvroSerializer (tests compare the two).
   */
  readonly encoder?: 'fast' | 'serializer';
  /**
   * 'fast' (default): the direct decoder below for plain Avro writer schemas; 'deserializer':
   * always @confluentinc/schemaregistry's AvroDeserializer (tests compare the two).
   */
  readonly decoder?: 'fast' | 'deserializer';
  /** How often the fast encoder asks the registry client for the subject's latest version (default 10 s). */
  readonly latestCheckMs?: number;
  readonly now?: () => number;
}

/** Subject of a topic's values under TopicNameStrategy, the only strategy non-Confluent registries share. */
export function valueSubject(topicName: string): string {
  return `${topicName}-value`;
}

/** The subject's latest version as the fast encoder uses it: the id to write and the type to write with. */
interface WriterSchema {
  readonly metadata: SchemaMetadata;
  readonly id: number;
  readonly type: avro.Type;
}

/**
 * Why a fast path beside AvroSerializer: the serializer does, for every record, an async mutex round
 * trip for the latest version, a deterministic JSON stringify of the whole schema text to find its
 * cached avsc type (the cache key is recomputed per call), a rule-engine pass and a Buffer.concat. On
 * a file import that was about a third of the CPU. The bytes are the same: the serializer writes
 * `0x00`, the id as 4 bytes big-endian, then `type.toBuffer(record)` (PrefixSchemaIdSerializer), and
 * the avsc type here is built from the same registered schema text with the same options.
 *
 * The registry stays the authority: the schema and id come from the subject's latest version, looked
 * up through the same client (whose cache refreshes it every `latestTtlSecs`); this encoder re-asks
 * the client every `latestCheckMs` and again after any encoding failure, and rebuilds its type when
 * the answer changes. Whatever the fast path does not implement — data-contract rules, schema
 * references, a schema without a numeric id — goes through AvroSerializer unchanged.
 */
function fastEncoder<T>(
  client: RegistryClient,
  topicName: string,
  serialize: (record: T) => Promise<Buffer>,
  options: TopicCodecOptions,
): (record: T) => Promise<Buffer> {
  const subject = valueSubject(topicName);
  const checkMs = options.latestCheckMs ?? 10_000;
  const now = options.now ?? Date.now;
  const types = new Map<number, avro.Type>();
  let writer: WriterSchema | null | undefined;
  let checkedAt = 0;
  let pending: Promise<WriterSchema | null> | undefined;
  // One growing scratch buffer: avsc writes into it, and each record gets an exact-size copy.
  let scratch = Buffer.allocUnsafeSlow(16 * 1024);

  /** The writer schema, or null when the latest version needs AvroSerializer's full treatment. */
  const resolve = async (): Promise<WriterSchema | null> => {
    const metadata = await client.getLatestSchemaMetadata(subject);
    if (writer !== undefined && writer !== null && writer.metadata === metadata) return writer;
    const plain =
      (metadata.schemaType ?? 'AVRO') === 'AVRO' &&
      typeof metadata.id === 'number' &&
      (metadata.references ?? []).length === 0 &&
      (metadata.ruleSet?.domainRules ?? []).length === 0 &&
      (metadata.ruleSet?.migrationRules ?? []).length === 0 &&
      (metadata.ruleSet?.encodingRules ?? []).length === 0;
    if (!plain || metadata.id === undefined) return null;
    let type = types.get(metadata.id);
    if (type === undefined) {
      type = avro.Type.forSchema(JSON.parse(metadata.schema) as avro.Schema, avroOptions());
      types.set(metadata.id, type);
    }
    return { metadata, id: metadata.id, type };
  };

  const current = async (): Promise<WriterSchema | null> => {
    if (writer !== undefined && now() - checkedAt < checkMs) return writer;
    pending ??= resolve()
      .then((found) => {
        writer = found;
        checkedAt = now();
        return found;
      })
      .finally(() => {
        pending = undefined;
      });
    return pending;
  };

  /** Where a record does not fit the schema: the field's path and type, never its value. */
  const misfit = (schema: WriterSchema, record: T): string => {
    let problem: string | undefined;
    schema.type.isValid(record, {
      errorHook: (path, _value, type) => {
        problem ??= `invalid value at ${path.join('.') || '(record)'}, expected ${type.typeName}`;
      },
    });
    return problem ?? 'the record does not match the schema';
  };

  const write = (schema: WriterSchema, record: T): Buffer => {
    for (;;) {
      scratch[0] = 0;
      scratch.writeUInt32BE(schema.id, 1);
      // As AvroSerializer does, a record that does not fit the schema is refused, not half-written:
      // avsc's writers check every value they write and throw, and only a whole record leaves the
      // scratch buffer. Their message quotes the value; the path is found only then (checking every
      // record before writing it cost as much as a tenth of the writing).
      let end: number;
      try {
        end = schema.type.encode(record, scratch, 5);
      } catch {
        throw new Error(misfit(schema, record));
      }
      if (end > 0) {
        const out = Buffer.allocUnsafe(end);
        scratch.copy(out, 0, 0, end);
        return out;
      }
      // encode() answers how many bytes were missing (as a negative number): grow and write again.
      scratch = Buffer.allocUnsafeSlow(Math.max(scratch.length * 2, scratch.length - end + 5));
    }
  };

  return async (record) => {
    const schema = await current();
    if (schema === null) return serialize(record);
    try {
      return write(schema, record);
    } catch (error) {
      // The subject may have moved on under us: look again before the next record.
      checkedAt = 0;
      throw error;
    }
  };
}

/**
 * Why a fast path beside AvroDeserializer: for every record it serialises the writer schema again to
 * find its cached avsc type, which on the rules service was a fifth of the CPU and much of its
 * garbage. The result is the same: the writer schema is looked up by the id in the record (ids are
 * immutable in a registry, so a type is built once per id) and the body is read with it, without a
 * reader schema, as AvroDeserializer does. Writer schemas with references or rules, and anything not
 * in the wire format, go through AvroDeserializer unchanged.
 */
function fastDecoder<T>(
  client: RegistryClient,
  topicName: string,
  deserialize: (payload: Buffer) => Promise<T>,
): (payload: Buffer) => Promise<T> {
  const subject = valueSubject(topicName);
  const types = new Map<number, Promise<avro.Type | null>>();
  const writerType = (id: number): Promise<avro.Type | null> => {
    let type = types.get(id);
    if (type === undefined) {
      type = client.getBySubjectAndId(subject, id).then((info) => {
        const plain =
          (info.schemaType ?? 'AVRO') === 'AVRO' &&
          (info.references ?? []).length === 0 &&
          (info.ruleSet?.domainRules ?? []).length === 0 &&
          (info.ruleSet?.migrationRules ?? []).length === 0 &&
          (info.ruleSet?.encodingRules ?? []).length === 0;
        return plain ? avro.Type.forSchema(JSON.parse(info.schema) as avro.Schema, avroOptions()) : null;
      });
      // A failed lookup is not remembered: the next record asks again.
      type.catch(() => {
        types.delete(id);
      });
      types.set(id, type);
    }
    return type;
  };
  return async (payload) => {
    if (payload.length < 5 || payload[0] !== 0) return deserialize(payload);
    const type = await writerType(payload.readUInt32BE(1));
    if (type === null) return deserialize(payload);
    return type.fromBuffer(payload.subarray(5)) as T;
  };
}

/**
 * @confluentinc/schemaregistry's serializer and deserializer for a topic, made when first needed: the
 * fast paths rarely need them, and a lean client's thread then loads the library only if they do.
 */
function confluentSerdes(client: RegistryClient, topicName: string) {
  const load = async () => {
    const { AvroDeserializer, AvroSerializer, SerdeType, SubjectNameStrategyType } = await import('@confluentinc/schemaregistry');
    const full: Client = isLeanClient(client) ? await client.fullClient() : client;
    const strategy = { subjectNameStrategyType: SubjectNameStrategyType.TOPIC, ...avroOptions() };
    return {
      serializer: new AvroSerializer(full, SerdeType.VALUE, { ...strategy, useLatestVersion: true, autoRegisterSchemas: false }),
      deserializer: new AvroDeserializer(full, SerdeType.VALUE, strategy),
    };
  };
  let loaded: ReturnType<typeof load> | undefined;
  const serdes = (): ReturnType<typeof load> => {
    loaded ??= load();
    loaded.catch(() => {
      loaded = undefined;
    });
    return loaded;
  };
  return {
    serialize: async (record: unknown): Promise<Buffer> => (await serdes()).serializer.serialize(topicName, record),
    deserialize: async (payload: Buffer): Promise<unknown> => (await serdes()).deserializer.deserialize(topicName, payload),
  };
}

export function createTopicCodec<K extends TopicId>(
  client: RegistryClient,
  id: K,
  topicName: string = topics[id].name,
  options: TopicCodecOptions = {},
): TopicCodec<TopicRecords[K]> {
  const confluent = confluentSerdes(client, topicName);
  const serialize = (record: TopicRecords[K]): Promise<Buffer> => confluent.serialize(record);
  const deserialize = async (payload: Buffer): Promise<TopicRecords[K]> => (await confluent.deserialize(payload)) as TopicRecords[K];
  const encode = options.encoder === 'serializer' ? serialize : fastEncoder<TopicRecords[K]>(client, topicName, serialize, options);
  const decode = options.decoder === 'deserializer' ? deserialize : fastDecoder<TopicRecords[K]>(client, topicName, deserialize);
  return {
    topic: topicName,
    async encode(record) {
      try {
        return await encode(record);
      } catch (error) {
        throw registryError(error, topicName, 'encode');
      }
    },
    async decode(payload) {
      try {
        return await decode(payload);
      } catch (error) {
        throw new HubError('DESERIALIZE_FAILED', `cannot decode a record of ${topicName}: ${describeError(error)}`, { cause: error });
      }
    },
  };
}

function registryError(error: unknown, topicName: string, action: string): HubError {
  const message = describeError(error);
  if (/40401|not found/i.test(message)) {
    return new HubError('SCHEMA_NOT_FOUND', `no schema registered for ${valueSubject(topicName)}: run 'hub schemas register'`, {
      cause: error,
    });
  }
  if (/ECONNREFUSED|ENOTFOUND|timeout|socket hang up/i.test(message)) {
    return new HubError('REGISTRY_UNAVAILABLE', `schema registry unreachable while trying to ${action} ${topicName}: ${message}`, {
      cause: error,
    });
  }
  return new HubError('PROCESSING_FAILED', `cannot ${action} a record of ${topicName}: ${message}`, { cause: error });
}
