import { AvroDeserializer, MockClient, SerdeType, SubjectNameStrategyType } from '@confluentinc/schemaregistry';
import { describe, expect, it } from 'vitest';
import { avroOptions, schemaText, topics, type TopicId } from '../../../schemas';
import { createTopicCodec, valueSubject } from '../../../services/registry';
import { sampleRecords } from '../../support/sample-records';

/** The topics the connectors write (their facts and their dead letters). */
const intakeTopics = [
  'civilAffairsStatus',
  'ruralRevitalizationStatus',
  'hospitalSettlements',
  'taxContributions',
  'deadLetters',
] as const satisfies readonly TopicId[];

async function registryWith(ids: readonly TopicId[]): Promise<MockClient> {
  const client = new MockClient({ baseURLs: ['mock://registry'] });
  // Another subject first, so that schema ids differ from version numbers and from 1.
  await client.register('unrelated-value', {
    schemaType: 'AVRO',
    schema: '{"type":"record","name":"X","fields":[{"name":"a","type":"int"}]}',
  });
  for (const id of ids) await client.register(valueSubject(topics[id].name), { schemaType: 'AVRO', schema: schemaText(topics[id].schema) });
  return client;
}

describe('the fast Avro encoder beside AvroSerializer', () => {
  it.each(intakeTopics)('writes the same bytes as AvroSerializer for %s, and AvroDeserializer reads them back', async (id) => {
    const client = await registryWith(intakeTopics);
    const topic = topics[id].name;
    const fast = createTopicCodec(client, id, topic);
    const reference = createTopicCodec(client, id, topic, { encoder: 'serializer' });
    const record = sampleRecords[id];

    const bytes = await fast.encode(record);
    expect(bytes.equals(await reference.encode(record))).toBe(true);

    const latest = await client.getLatestSchemaMetadata(valueSubject(topic));
    expect(bytes[0]).toBe(0);
    expect(bytes.readUInt32BE(1)).toBe(latest.id);
    const deserializer = new AvroDeserializer(client, SerdeType.VALUE, {
      ...avroOptions(),
      subjectNameStrategyType: SubjectNameStrategyType.TOPIC,
    });
    expect(await deserializer.deserialize(topic, bytes)).toEqual(record);
    expect(await fast.decode(bytes)).toEqual(record);
  });

  it('asks the registry once, not per record', async () => {
    const client = await registryWith(['hospitalSettlements']);
    let asked = 0;
    const latest = client.getLatestSchemaMetadata.bind(client);
    client.getLatestSchemaMetadata = (subject, format) => {
      asked += 1;
      return latest(subject, format);
    };
    const codec = createTopicCodec(client, 'hospitalSettlements');
    await Promise.all(Array.from({ length: 500 }, (_, i) => codec.encode({ ...sampleRecords.hospitalSettlements, eventId: `hs-${i}` })));
    expect(asked).toBe(1);
  });

  it('moves to a newly registered version once its check interval has passed', async () => {
    const client = await registryWith(['hospitalSettlements']);
    let clock = 1_000_000;
    const codec = createTopicCodec(client, 'hospitalSettlements', topics.hospitalSettlements.name, {
      latestCheckMs: 10_000,
      now: () => clock,
    });
    const record = sampleRecords.hospitalSettlements;
    const firstId = (await codec.encode(record)).readUInt32BE(1);

    const schema = JSON.parse(schemaText(topics.hospitalSettlements.schema)) as { fields: object[] };
    const next = await client.register(valueSubject(topics.hospitalSettlements.name), {
      schemaType: 'AVRO',
      schema: JSON.stringify({ ...schema, fields: [...schema.fields, { name: 'ward_code', type: ['null', 'string'], default: null }] }),
    });
    expect(next).not.toBe(firstId);
    clock += 5_000;
    expect((await codec.encode(record)).readUInt32BE(1)).toBe(firstId);
    clock += 5_000;
    const moved = await codec.encode(record);
    expect(moved.readUInt32BE(1)).toBe(next);
    // Written with the new version (ward_code null), read back as the record.
    expect(await codec.decode(moved)).toEqual({ ...record, ward_code: null });
  });

  it('refuses a record that does not fit the schema, naming the field but not its value', async () => {
    const client = await registryWith(['hospitalSettlements']);
    const codec = createTopicCodec(client, 'hospitalSettlements');
    const bad = { ...sampleRecords.hospitalSettlements, setl_id: Number('110105194912310021') as unknown as string };
    const error = await codec.encode(bad).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'PROCESSING_FAILED' });
    expect(String((error as Error).message)).toContain('setl_id');
    expect(String((error as Error).message)).not.toContain('1101051949123100');
  });

  it.each([
    ['a missing field', { admdvs: undefined }, 'admdvs'],
    ['null where the schema has no null', { sourceRecordId: null }, 'sourceRecordId'],
    ['a symbol the enum does not have', { category: 'POOR' }, 'category'],
    ['a fraction where the schema wants a whole number', { sourceVersion: 1.5 }, 'sourceVersion'],
    ['a number where the schema wants a string', { validFrom: 20190301 }, 'validFrom'],
    ["a string in a nullable field's place taken by a number", { validTo: 7 }, 'validTo'],
  ])('refuses %s, naming the field', async (_what, change, field) => {
    const client = await registryWith(['civilAffairsStatus']);
    const codec = createTopicCodec(client, 'civilAffairsStatus');
    const good = await codec.encode(sampleRecords.civilAffairsStatus);
    const error = await codec
      .encode({ ...sampleRecords.civilAffairsStatus, ...change } as unknown as typeof sampleRecords.civilAffairsStatus)
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'PROCESSING_FAILED' });
    expect(String((error as Error).message)).toContain(field);
    // Nothing of the refused record is left behind for the next one.
    expect((await codec.encode(sampleRecords.civilAffairsStatus)).equals(good)).toBe(true);
  });

  it('fails as AvroSerializer does when the subject has no schema', async () => {
    const client = await registryWith([]);
    const fast = await createTopicCodec(client, 'hospitalSettlements')
      .encode(sampleRecords.hospitalSettlements)
      .catch((e: unknown) => e);
    const reference = await createTopicCodec(client, 'hospitalSettlements', undefined, { encoder: 'serializer' })
      .encode(sampleRecords.hospitalSettlements)
      .catch((e: unknown) => e);
    expect(fast).toMatchObject({ code: (reference as { code: string }).code, message: (reference as Error).message });
  });
});

describe('the fast Avro decoder beside AvroDeserializer', () => {
  const allTopics = Object.keys(topics) as TopicId[];

  it.each(allTopics)('reads %s exactly as AvroDeserializer does', async (id) => {
    const client = await registryWith(allTopics);
    const topic = topics[id].name;
    const bytes = await createTopicCodec(client, id, topic, { encoder: 'serializer' }).encode(sampleRecords[id]);
    const fast = await createTopicCodec(client, id, topic).decode(bytes);
    const reference = await createTopicCodec(client, id, topic, { decoder: 'deserializer' }).decode(bytes);
    expect(fast).toEqual(reference);
    expect(fast).toEqual(sampleRecords[id]);
  });

  it('reads a record written with an older schema version by that version, as AvroDeserializer does', async () => {
    const client = await registryWith(['hospitalSettlements']);
    const topic = topics.hospitalSettlements.name;
    const old = await createTopicCodec(client, 'hospitalSettlements', topic, { encoder: 'serializer' }).encode(
      sampleRecords.hospitalSettlements,
    );
    const schema = JSON.parse(schemaText(topics.hospitalSettlements.schema)) as { fields: object[] };
    await client.register(valueSubject(topic), {
      schemaType: 'AVRO',
      schema: JSON.stringify({ ...schema, fields: [...schema.fields, { name: 'ward_code', type: ['null', 'string'], default: null }] }),
    });
    const fast = await createTopicCodec(client, 'hospitalSettlements', topic).decode(old);
    expect(fast).toEqual(await createTopicCodec(client, 'hospitalSettlements', topic, { decoder: 'deserializer' }).decode(old));
    expect(fast).not.toHaveProperty('ward_code');
  });

  it('looks a schema id up once, not per record', async () => {
    const client = await registryWith(['hospitalSettlements']);
    const bytes = await createTopicCodec(client, 'hospitalSettlements').encode(sampleRecords.hospitalSettlements);
    let asked = 0;
    const byId = client.getBySubjectAndId.bind(client);
    client.getBySubjectAndId = (subject, id, format) => {
      asked += 1;
      return byId(subject, id, format);
    };
    const codec = createTopicCodec(client, 'hospitalSettlements');
    await Promise.all(Array.from({ length: 500 }, () => codec.decode(bytes)));
    expect(asked).toBe(1);
  });

  it('refuses bytes that are not in the wire format, naming the topic', async () => {
    const client = await registryWith(['hospitalSettlements']);
    await expect(createTopicCodec(client, 'hospitalSettlements').decode(Buffer.from('not avro'))).rejects.toThrow(
      `cannot decode a record of ${topics.hospitalSettlements.name}`,
    );
  });
});
